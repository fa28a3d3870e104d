"""Near copies: a synthetic patch whose nearest train patch is closer than the held-out train
patches usually are (a conformal threshold calibrated on them), with a Wilson interval of the
share flagged, and the closest candidate-train pairs for the figure."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from idc_synth.quality.neighbours import nearest_neighbours


def wilson_interval(successes: int, trials: int, level: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (statsmodels' `proportion_confint`)."""
    if trials == 0:
        return math.nan, math.nan
    low, high = proportion_confint(successes, trials, alpha=1 - level, method="wilson")
    # at 0 or n successes the bound is exactly 0 or 1 (statsmodels leaves float fuzz, ~1e-17)
    return 0.0 if successes == 0 else float(low), 1.0 if successes == trials else float(high)


@dataclass(frozen=True)
class CopyThreshold:
    """A near-copy distance and the share of fresh samples it flags (conformal: for a sample
    exchangeable with the m calibration patches, P(distance <= the k-th smallest) = k/(m+1))."""

    distance: float
    expected: float
    k: int
    m: int


def copy_threshold(calibration_distances: np.ndarray, percentile: float) -> CopyThreshold:
    """The k-th smallest held-out-train distance to train, k = max(1, floor(q/100 (m+1)))."""
    distances = np.sort(np.asarray(calibration_distances, dtype=float))
    m = len(distances)
    if m == 0:
        return CopyThreshold(math.nan, math.nan, 0, 0)
    k = min(m, max(1, math.floor(percentile / 100 * (m + 1))))
    return CopyThreshold(float(distances[k - 1]), k / (m + 1), k, m)


@dataclass
class NearCopies:
    distances: np.ndarray  # each candidate's nearest-train distance
    train_index: np.ndarray  # which train patch that is (index into the train features)
    threshold: CopyThreshold
    flagged: np.ndarray  # bool: distance at or below the threshold

    @property
    def share(self) -> float:
        return float(self.flagged.mean()) if len(self.flagged) else math.nan

    def interval(self, level: float) -> tuple[float, float]:
        return wilson_interval(int(self.flagged.sum()), len(self.flagged), level)


def flag_copies(
    distances: np.ndarray, train_index: np.ndarray, threshold: CopyThreshold
) -> NearCopies:
    """Flag the patches at most ``threshold.distance`` from their nearest train patch."""
    distances = np.asarray(distances, dtype=float)
    return NearCopies(
        distances, np.asarray(train_index), threshold, distances <= threshold.distance
    )


def near_copies(candidates: np.ndarray, train: np.ndarray, threshold: CopyThreshold) -> NearCopies:
    """Flag candidates at most ``threshold.distance`` from their nearest train patch."""
    return flag_copies(*nearest_neighbours(candidates, train), threshold)


def closest_pairs(
    candidates: np.ndarray,
    train: np.ndarray,
    distances: np.ndarray,
    candidate_rows: np.ndarray,
    train_rows: np.ndarray,
    n_pairs: int,
) -> dict[str, np.ndarray]:
    """The ``n_pairs`` candidate-train pairs with the smallest distances, as uint8 images."""
    order = np.argsort(distances, kind="stable")[:n_pairs]
    cand_rows = np.asarray(candidate_rows, dtype=np.int64)[order]
    train_rows = np.asarray(train_rows, dtype=np.int64)[order]
    return {
        "synthetic": np.asarray(candidates[cand_rows]).reshape(-1, 50, 50, 3),
        "train": np.asarray(train[train_rows]).reshape(-1, 50, 50, 3),
        "distances": np.asarray(distances, dtype=float)[order],
        "synthetic_index": cand_rows,
        "train_row": train_rows,
    }
