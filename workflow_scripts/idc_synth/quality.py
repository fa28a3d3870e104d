"""How good and how new are synthetic patches: FID, KID, precision/recall and near copies.

Every set is compared with the generators' training set, real train, per class:
- each generator's synthetic patches;
- ``holdout``: train patches of the same patients held out at pack time (never seen by a
  generator or a classifier): what a perfect generator of the train distribution would match,
  the floor of every metric;
- ``real_val``: the val patients' patches: the cross-patient shift, a ceiling a useful generator
  should beat.

Within a feature space and class every row is computed at one ``n`` (the smallest set, capped by
``max_patches``; seeded subsamples, the same train subsample in every row), because FID's bias
depends strongly on n. ``fid_inf`` is FID extrapolated to infinitely many patches (Chong &
Forsyth 2020: FID on several subset sizes, a straight line in 1/N, its intercept).

Feature spaces:
- ``classifier``: the penultimate embedding of the baseline IDC classifier, always available;
- ``inception``: clean-fid's Inception-V3 (its ``clean`` resize to 299 px), only when its
  weights are on disk, never downloaded;
- ``pixels``: L2 on 10x10 block means of the RGB patch in [0, 1], for near copies; its rows
  also carry the spectral fidelity of the set (idc_synth.spectrum), from every patch of the set
  against every train patch of the class: ``spectral_distance`` (RMS log10 difference of the
  azimuthally averaged power spectra) and ``spike_ratio`` (the periodic grid spike), whose
  reading needs no matched n (a mean spectrum has no small-n bias worth the name).

The interval columns (``<metric>_low/_high`` and the paired differences from the floor and the
shift, ``<metric>_vs_floor_*``, ``<metric>_vs_shift_*``) come from a patient-level bootstrap
over every set at once (idc_synth.quality_intervals), added when the rows are gathered; each
job writes the features its rows used for it.

Precision and recall follow Kynkaanniemi et al. 2019 (k-NN balls around each set), density and
coverage Naeem et al. 2020 (real's k-NN balls only), all with the same k and matched-n sets.
A point on a ball's boundary is inside it, so duplicates (zero radii) and identical sets score
1, not 0 (density (k+1)/k: each real ball holds its own copy and k neighbours). Near copies
(classifier and pixel space, all patches) are calibrated on the held-out train patches: the
threshold is their k-th smallest distance to train with k = floor(q/100 (m + 1)), so a fresh
sample exchangeable with them is flagged with probability k/(m + 1) (``near_copy_expected``,
about q %), whatever the patient structure.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from statsmodels.stats.proportion import proportion_confint
from torch import nn

from idc_synth import quality_keys as keys
from idc_synth.layout import PATCH_SIZE
from idc_synth.models import to_model_input
from idc_synth.spectrum import SpectralFeatures, spectral_distance, spectral_features, spike_ratio

log = logging.getLogger(__name__)

INCEPTION_FILE = "inception-2015-12-05.pt"
CLEANFID_CACHE = Path("/tmp") / INCEPTION_FILE  # the only place clean-fid 0.1.35 looks
SPACES = ("classifier", "inception", "pixels")
DISTRIBUTION_SPACES = ("classifier", "inception")  # FID & co.; pixels only for near copies
COPY_SPACES = ("classifier", "pixels")  # near copies among all patches
TRAIN = "train"
HOLDOUT = "holdout"
REAL_VAL = "real_val"
MIN_PATCHES = 10  # a set with fewer patches of a class gets a skipped row, not a tiny n
PIXEL_BLOCK = 5  # 50 px -> 10 x 10 block means
FID_INF_POINTS = 5  # subset sizes from n/2 to n for the 1/N fit
FID_INF_DRAWS = 2  # FID draws averaged per subset size
MANIFOLD_METRICS = ("precision", "recall", "density", "coverage")  # k-NN ball metrics
DISTANCE_BUDGET_BYTES = 1 << 28  # largest block of pairwise distances held at once (256 MiB)
ROW_COLUMNS = (
    "feature_space",
    "generator",
    "label",
    "n",
    "fid",
    "fid_inf",
    "kid",
    "kid_std",
    "kid_subset",
    "precision",
    "recall",
    "density",
    "coverage",
    "n_copy_checked",
    "near_copy_share",
    "near_copy_low",
    "near_copy_high",
    "near_copy_expected",
    "spectral_distance",
    "spike_ratio",
    "status",
    "note",
)

FeatureFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (images, rows) -> features


@dataclass(frozen=True)
class QualitySettings:
    inception_weights: str | None = None
    max_patches: int | None = 2048
    kid_subset_size: int = 1000
    kid_subsets: int = 100
    pr_k: int = 3
    near_copy_percentile: float = 1.0
    closest_pairs: int = 16
    sample_seed: int = 0
    bootstrap_samples: int = 200
    bootstrap_max_patches: int | None = 1000
    confidence_level: float = 0.95


# ---------------------------------------------------------------------------------------------
# Feature extraction, batched, from uint8 (N, 50, 50, 3) arrays


def inception_weights_file(path: str | Path | None) -> Path:
    """The Inception file a config value names: a folder holding it, the file, or (None)
    clean-fid's cache path."""
    if path is None or str(path) == "":
        return CLEANFID_CACHE
    path = Path(path)
    return path if path.suffix == ".pt" else path / INCEPTION_FILE


def load_inception(weights: Path, device: torch.device | str) -> nn.Module | None:
    """clean-fid's Inception wrapper on ``device`` from a local file, or None when it is absent.

    Never downloads: ``InceptionV3W(..., download=False)`` only reads ``<folder>/{INCEPTION_FILE}``.
    """
    weights = Path(weights)
    if not weights.is_file():
        return None
    if weights.name != INCEPTION_FILE:
        raise ValueError(
            f"{weights}: clean-fid reads Inception weights only from a file named "
            f"{INCEPTION_FILE}; rename it or point quality.inception_weights at its folder"
        )
    from cleanfid.inception_torchscript import InceptionV3W

    return InceptionV3W(str(weights.parent), download=False).to(device).eval()


def clean_resize(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, 299, 299) in [0, 255], clean-fid's ``clean`` resize
    (PIL bicubic per channel in float, no quantisation), exactly as its folder loader does."""
    from cleanfid.resize import build_resizer

    resize = build_resizer("clean")
    resized = np.stack([resize(np.asarray(image)) for image in images])
    return torch.from_numpy(resized).permute(0, 3, 1, 2).contiguous()


def _batches(images: np.ndarray, rows: np.ndarray | None, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive uint8 batches of ``images[rows]``; from a memory map only these rows are read."""
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    for start in range(0, len(rows), batch_size):
        yield np.ascontiguousarray(images[rows[start : start + batch_size]])


def _stack(feats: list[torch.Tensor]) -> np.ndarray:
    return torch.cat(feats).double().numpy() if feats else np.empty((0, 0))


@torch.no_grad()
def inception_features(
    extractor: nn.Module,
    images: np.ndarray,
    rows: np.ndarray | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 32,
) -> np.ndarray:
    """(N, D) float64 features of an Inception-like extractor taking clean-resized [0, 255]."""
    return _stack(
        [
            extractor(clean_resize(batch).to(device)).cpu()
            for batch in _batches(images, rows, batch_size)
        ]
    )


@torch.no_grad()
def classifier_features(
    model: nn.Module,
    images: np.ndarray,
    rows: np.ndarray | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 512,
) -> np.ndarray:
    """(N, D) float64 penultimate embeddings (``model.features``) of uint8 patches."""
    model.eval()
    return _stack(
        [
            model.features(to_model_input(torch.from_numpy(batch).to(device))).cpu()
            for batch in _batches(images, rows, batch_size)
        ]
    )


def pixel_features(
    images: np.ndarray, rows: np.ndarray | None = None, block: int = PIXEL_BLOCK
) -> np.ndarray:
    """(N, 3 (50 / block)^2) float32: RGB in [0, 1] averaged over block x block px, a
    pixel-level space that ignores single-pixel noise (5 px: the copy space, 300 values)."""
    side = PATCH_SIZE // block
    blocks = [
        batch.reshape(len(batch), side, block, side, block, 3).mean(axis=(2, 4)) / 255.0
        for batch in _batches(images, rows, 4096)
    ]
    if not blocks:
        return np.empty((0, 3 * side * side), np.float32)
    return np.concatenate(blocks).reshape(-1, 3 * side * side).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Matched n: one size and one seeded subsample per set, space and class


def matched_size(counts: Mapping[str, int], cap: int | None) -> int:
    """The n every row of a feature space and class uses: the smallest set with enough patches
    (train, held-out train, val and every generator), capped at ``cap``; 0 when none has."""
    if counts.get(TRAIN, 0) < MIN_PATCHES:
        return 0
    n = min(count for count in counts.values() if count >= MIN_PATCHES)
    return n if cap is None else min(n, cap)


def subsample(rows: np.ndarray, n: int, seed: int, name: str, label: int) -> np.ndarray:
    """``n`` of ``rows`` (sorted), drawn from (seed, set name, class): the same train subsample
    in every job, and a different but fixed one per candidate set."""
    rows = np.asarray(rows)
    if n >= len(rows):
        return rows
    rng = np.random.default_rng([seed, zlib.crc32(name.encode()), label])
    return np.sort(rng.choice(rows, size=n, replace=False))


def label_counts(labels: np.ndarray) -> dict[int, int]:
    labels = np.asarray(labels)
    return {label: int((labels == label).sum()) for label in (0, 1)}


def synthetic_label_counts(manifest_path: Path, draw: int) -> dict[int, int]:
    """Patches per class of one draw of a generator, from its manifest alone (no pixels read)."""
    table = pd.read_parquet(manifest_path, columns=["draw", "label"])
    return label_counts(table.loc[table["draw"] == draw, "label"].to_numpy())


def class_sizes(
    counts: Mapping[str, Mapping[int, int]], settings: QualitySettings
) -> dict[str, dict[int, int]]:
    """{space: {label: n}} from each set's per-class counts; Inception is capped at
    ``max_patches`` (slow on a CPU), the classifier space uses every patch it can match."""
    sizes = {}
    for space, cap in (("classifier", None), ("inception", settings.max_patches)):
        sizes[space] = {
            label: matched_size({name: c[label] for name, c in counts.items()}, cap)
            for label in (0, 1)
        }
    return sizes


# ---------------------------------------------------------------------------------------------
# FID, FID_inf and KID


def fid(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (clean-fid)."""
    from cleanfid.fid import fid_from_feats

    if min(len(feats1), len(feats2)) < 2:
        return math.nan
    try:
        with warnings.catch_warnings():  # scipy 1.17 deprecates the `disp` clean-fid passes
            warnings.simplefilter("ignore", DeprecationWarning)
            return float(fid_from_feats(feats1, feats2))
    except ValueError as error:  # a large imaginary part of sqrtm: too few patches for D
        log.warning("FID undefined (%s): n = %d, %d", error, len(feats1), len(feats2))
        return math.nan


def fid_infinity(feats1: np.ndarray, feats2: np.ndarray, seed: int) -> float:
    """FID extrapolated to n -> infinity (Chong & Forsyth 2020): FID of seeded subsets of
    ``FID_INF_POINTS`` sizes from n/2 to n (``FID_INF_DRAWS`` draws each), a least-squares line
    in 1/N, its intercept. NaN when the sets are too small for three sizes."""
    n = min(len(feats1), len(feats2))
    sizes = np.unique(np.linspace(n // 2, n, FID_INF_POINTS).astype(int))
    if len(sizes) < 3 or sizes[0] < 2:
        return math.nan
    rng = np.random.default_rng(seed)
    values = []
    for size in sizes:
        draws = [
            fid(
                feats1[rng.choice(len(feats1), size, replace=False)],
                feats2[rng.choice(len(feats2), size, replace=False)],
            )
            for _ in range(FID_INF_DRAWS)
        ]
        values.append(np.mean(draws))
    values = np.asarray(values)
    if not np.isfinite(values).all():
        return math.nan
    _, intercept = np.polyfit(1.0 / sizes, values, 1)
    return float(intercept)


@contextlib.contextmanager
def _numpy_global_seed(seed: int) -> Iterator[None]:
    """clean-fid's KID draws from numpy's global RNG: seed it here, restore it after."""
    state = np.random.get_state()  # noqa: NPY002  (clean-fid uses the legacy global RNG)
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def kid_subset(n: int, subset_size: int) -> int:
    """Subsets of at most half the set, so they differ and kid_std measures something."""
    return min(subset_size, n // 2)


def kid(
    feats1: np.ndarray, feats2: np.ndarray, subset_size: int, n_subsets: int, seed: int
) -> tuple[float, float, int]:
    """KID (unbiased cubic-kernel MMD^2, clean-fid's ``kernel_distance``) mean and std over
    random subsets of ``subset_size`` patches per set, and that size."""
    from cleanfid.fid import kernel_distance

    size = min(len(feats1), len(feats2), subset_size)
    if size < 2:
        return math.nan, math.nan, size
    with _numpy_global_seed(seed):
        values = [
            kernel_distance(feats1, feats2, num_subsets=1, max_subset_size=size)
            for _ in range(n_subsets)
        ]
    return float(np.mean(values)), float(np.std(values, ddof=1) if n_subsets > 1 else 0.0), size


# ---------------------------------------------------------------------------------------------
# Nearest neighbours (batched torch.cdist, memory-bounded), k-NN ball metrics, memorisation


def _blocks(n_queries: int, n_reference: int) -> Iterator[slice]:
    rows = max(1, DISTANCE_BUDGET_BYTES // (4 * max(1, n_reference)))
    for start in range(0, n_queries, rows):
        yield slice(start, start + rows)


def _tensor(feats: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(feats), dtype=torch.float32)


def nearest_neighbours(queries: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each query's Euclidean distance to its nearest reference point, and that point's index."""
    q, r = _tensor(queries), _tensor(reference)
    distances, indices = [], []
    for block in _blocks(len(q), len(r)):
        d, i = torch.cdist(q[block], r).min(dim=1)
        distances.append(d)
        indices.append(i)
    if not distances:
        return np.empty(0), np.empty(0, np.int64)
    return torch.cat(distances).double().numpy(), torch.cat(indices).numpy()


def knn_radii(feats: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point of the same set."""
    radii = [
        torch.cdist(feats[block], feats).topk(k + 1, dim=1, largest=False).values[:, k]
        for block in _blocks(len(feats), len(feats))
    ]
    return torch.cat(radii)


def manifold_metrics(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """k-NN ball metrics of ``fake`` against ``real``: improved precision (fake inside real's
    balls) and recall (real inside fake's balls), Kynkaanniemi et al. 2019; density (real balls
    holding a fake point, per fake point, over k: about 1 for a sample of the real distribution)
    and coverage (real balls holding any fake point), Naeem et al. 2020."""
    if min(len(real), len(fake)) <= k:
        return dict.fromkeys(MANIFOLD_METRICS, math.nan)
    x, y = _tensor(real), _tensor(fake)
    real_radii, fake_radii = knn_radii(x, k), knn_radii(y, k)
    balls = torch.zeros(len(y), dtype=torch.float64)  # per fake point: real balls holding it
    covered = torch.zeros(len(x), dtype=torch.bool)
    recalled = torch.zeros(len(x), dtype=torch.bool)
    for block in _blocks(len(y), len(x)):
        distances = torch.cdist(y[block], x)
        inside = distances <= real_radii[None, :]
        balls[block] = inside.sum(dim=1).double()
        covered |= inside.any(dim=0)
        recalled |= (distances <= fake_radii[block, None]).any(dim=0)
    return {
        "precision": float((balls > 0).double().mean()),
        "recall": float(recalled.double().mean()),
        "density": float(balls.sum() / (k * len(y))),
        "coverage": float(covered.double().mean()),
    }


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


# ---------------------------------------------------------------------------------------------
# The real-train reference every job shares (one cached rule output)


@dataclass
class LabelledImages:
    images: np.ndarray  # uint8 (N, 50, 50, 3), may be a memory map
    labels: np.ndarray
    patients: np.ndarray | None = None  # real sets: each patch's patient (bootstrap units)

    def rows(self, label: int) -> np.ndarray:
        return np.flatnonzero(np.asarray(self.labels) == label)

    def patient_names(self, rows: np.ndarray) -> np.ndarray | None:
        """The patients of ``rows`` (the bootstrap units of a real set); None for a generator's
        patches, whose unit is the patch."""
        return None if self.patients is None else np.asarray(self.patients)[rows].astype(str)


def spectral_arrays(data: LabelledImages, rows: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    """Spectral sums of ``rows`` for an .npz: per patient for a real set (``prefix_groups``
    names them), per patch for a generator's."""
    spectra = spectral_features(data.images, rows)
    patients = data.patient_names(rows)
    if patients is None:
        return spectra.arrays(prefix)
    names, grouped = spectra.grouped(patients)
    return {**grouped.arrays(prefix), keys.spectral_groups(prefix): names}


def reference_features(
    train: LabelledImages,
    holdout: LabelledImages,
    sizes: Mapping[str, Mapping[int, int]],
    feature_fns: Mapping[str, FeatureFn | None],
    settings: QualitySettings,
) -> dict[str, np.ndarray]:
    """Per class: train features of every patch (copy spaces) and of the matched-n train
    subsample (distribution spaces) with its patients, each train patch's patient, the held-out
    patches' nearest-train distances that calibrate the near-copy thresholds (and which train
    patch is nearest), and train's spectral sums per patient. Flat ``{key: array}`` for an .npz."""
    out: dict[str, np.ndarray] = {}
    for label in (0, 1):
        train_rows = train.rows(label)
        out[keys.train_rows(label)] = train_rows
        if train.patients is not None:
            out[keys.train_patients(label)] = train.patient_names(train_rows)
        out.update(spectral_arrays(train, train_rows, keys.spectral_prefix(label, train=True)))
        for space in COPY_SPACES:
            feats = feature_fns[space](train.images, train_rows)
            out[keys.key(space, keys.TRAIN, label)] = feats
            held = feature_fns[space](holdout.images, holdout.rows(label))
            distances, nearest = nearest_neighbours(held, feats)
            out[keys.key(space, keys.CALIBRATION, label)] = distances
            out[keys.key(space, keys.CALIBRATION_NEAREST, label)] = nearest  # the floor per patient
        for space in DISTRIBUTION_SPACES:
            n = sizes[space][label]
            sub = subsample(train_rows, n, settings.sample_seed, TRAIN, label)
            out[keys.key(space, keys.N, label)] = np.asarray(n)
            out[keys.key(space, keys.SUBSET, label)] = np.searchsorted(train_rows, sub)
            if train.patients is not None:
                out[keys.key(space, keys.REFERENCE_GROUPS, label)] = train.patient_names(sub)
            fn = feature_fns.get(space)
            if fn is not None and n:
                if space in COPY_SPACES:  # already extracted for every train patch
                    out[keys.key(space, keys.REFERENCE, label)] = out[
                        keys.key(space, keys.TRAIN, label)
                    ][out[keys.key(space, keys.SUBSET, label)]]
                else:
                    out[keys.key(space, keys.REFERENCE, label)] = fn(train.images, sub)
    return out


# ---------------------------------------------------------------------------------------------
# One candidate set (a generator's patches, held-out train or val) against the reference


def empty_row(space: str, generator: str, label: int, status: str, note: str = "") -> dict:
    row = dict.fromkeys(ROW_COLUMNS, math.nan)
    row.update(feature_space=space, generator=generator, label=int(label), status=status)
    return {**row, "n": 0, "note": note}


def distribution_row(
    space: str,
    generator: str,
    label: int,
    fake: np.ndarray,
    real: np.ndarray,
    settings: QualitySettings,
) -> dict:
    """FID, FID_inf, KID and the k-NN ball metrics of ``fake`` against ``real`` (both n
    patches)."""
    n = len(fake)
    row = empty_row(space, generator, label, "ok")
    seed = settings.sample_seed * 2 + int(label)
    row["kid"], row["kid_std"], row["kid_subset"] = kid(
        fake, real, kid_subset(n, settings.kid_subset_size), settings.kid_subsets, seed
    )
    row["fid"] = fid(fake, real)
    row["fid_inf"] = fid_infinity(fake, real, seed)
    row.update(manifold_metrics(real, fake, settings.pr_k))
    note = "fid_inf: FID extrapolated to n = infinity (Chong & Forsyth 2020)"
    return {**row, "n": n, "note": note}


def _copy_columns(found: NearCopies, level: float) -> dict:
    low, high = found.interval(level)
    return {
        "n_copy_checked": len(found.flagged),
        "near_copy_share": found.share,
        "near_copy_low": low,
        "near_copy_high": high,
        "near_copy_expected": found.threshold.expected,
    }


def assess(
    generator: str,
    candidates: LabelledImages,
    train: LabelledImages,
    reference: Mapping[str, np.ndarray],
    feature_fns: Mapping[str, FeatureFn | None],
    inception_status: str,
    settings: QualitySettings,
) -> tuple[list[dict], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per class, one row per feature space; per copy space its closest candidate-train pairs
    (``{space}_{key}`` arrays, with the train patch's patient); what the patient bootstrap
    needs, the features each distribution row used (``{space}_{label}``, with
    ``{space}_groups_{label}`` patients for a real set) and the spectral sums
    (``spectral_{label}_*``); and every candidate's nearest-train distance and train patch
    (``{space}_copy_{label}``, ``{space}_copy_nearest_{label}``)."""
    rows: list[dict] = []
    features: dict[str, np.ndarray] = {}
    pair_parts: dict[str, list] = {space: [] for space in COPY_SPACES}
    for label in (0, 1):
        cand_rows = candidates.rows(label)
        train_rows = reference[keys.train_rows(label)]
        log.info("%s class %d: %d candidates", generator, label, len(cand_rows))
        # every candidate's copy-space features, once: near copies check all of them, the
        # distribution rows use the matched-n subsample
        copy_feats = {
            space: feature_fns[space](candidates.images, cand_rows)
            for space in COPY_SPACES
            if len(cand_rows)
        }
        for space in DISTRIBUTION_SPACES:
            n = int(reference[keys.key(space, keys.N, label)])
            fn = feature_fns.get(space)
            if fn is None:
                rows.append(empty_row(space, generator, label, inception_status))
            elif len(cand_rows) < max(n, MIN_PATCHES) or n == 0:
                status = f"skipped: {len(cand_rows)} patches of class {label} (matched n {n})"
                rows.append(empty_row(space, generator, label, status))
            else:
                sub = subsample(cand_rows, n, settings.sample_seed, generator, label)
                fake = (
                    copy_feats[space][np.searchsorted(cand_rows, sub)]
                    if space in copy_feats
                    else fn(candidates.images, sub)
                )
                real = reference[keys.key(space, keys.REFERENCE, label)]
                rows.append(distribution_row(space, generator, label, fake, real, settings))
                features[keys.key(space, keys.FEATURES, label)] = fake.astype(np.float32)
                if candidates.patients is not None:
                    features[keys.key(space, keys.GROUPS, label)] = candidates.patient_names(sub)
            log.info("%s", rows[-1])
        for space in COPY_SPACES:
            threshold = copy_threshold(
                reference[keys.key(space, keys.CALIBRATION, label)], settings.near_copy_percentile
            )
            note = (
                f"near copy: train-NN distance <= {threshold.distance:.4g}, the {threshold.k}-th "
                f"smallest of {threshold.m} held-out train patches (a fresh sample is flagged "
                f"with probability {threshold.expected:.3g})"
            )
            if space == "pixels":
                note = f"L2 on 10x10 block means in [0, 1]; {note}"
            if generator == HOLDOUT:
                copy_row = {"status": "ok", "note": "the near-copy calibration set itself"}
            elif not len(cand_rows) or not threshold.m:
                copy_row = {"status": "skipped: no patches to check", "note": note}
            else:
                found = near_copies(
                    copy_feats[space], reference[keys.key(space, keys.TRAIN, label)], threshold
                )
                pair_parts[space].append(
                    (found.distances, cand_rows, train_rows[found.train_index])
                )
                # what memorization per train patient needs (idc_synth.memorization)
                features[keys.key(space, keys.COPY, label)] = found.distances
                features[keys.key(space, keys.COPY_NEAREST, label)] = found.train_index
                copy_row = {**_copy_columns(found, settings.confidence_level), "note": note}
                log.info(
                    "class %d, %s space: %.2f%% near copies (expected %.2f%%)",
                    label,
                    space,
                    100 * found.share,
                    100 * threshold.expected,
                )
            if space == "pixels":
                spectral = _spectral_columns(candidates, cand_rows, reference, label, features)
                rows.append({**empty_row(space, generator, label, "ok"), **copy_row, **spectral})
            else:  # the classifier row carries both its distribution and its copy numbers
                target = next(
                    r for r in rows if r["feature_space"] == space and r["label"] == label
                )
                status, first_note = target["status"], target["note"]
                target.update(copy_row)
                target.update(
                    status=status, note="; ".join(filter(None, [first_note, target["note"]]))
                )
    pairs = {}
    for space, parts in pair_parts.items():
        distances, cand_rows, train_rows = (
            (np.concatenate(p) for p in zip(*parts, strict=True))
            if parts
            else (np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64))
        )
        found = closest_pairs(
            candidates.images,
            train.images,
            distances,
            cand_rows,
            train_rows,
            settings.closest_pairs,
        )
        if train.patients is not None:
            found["patient"] = train.patient_names(found["train_row"])
        pairs.update({keys.pair_key(space, field): value for field, value in found.items()})
    return rows, pairs, features


def _spectral_columns(
    candidates: LabelledImages,
    rows: np.ndarray,
    reference: Mapping[str, np.ndarray],
    label: int,
    features: dict[str, np.ndarray],
) -> dict:
    """The pixel row's spectral fidelity against every train patch of the class (its spectral
    sums also go into ``features``); NaN without patches."""
    if not len(rows) or not reference[f"{keys.spectral_prefix(label, train=True)}_counts"].sum():
        return {"n": 0, "spectral_distance": math.nan, "spike_ratio": math.nan}
    arrays = spectral_arrays(candidates, rows, keys.spectral_prefix(label))
    features.update(arrays)
    ours = SpectralFeatures.from_arrays(arrays, keys.spectral_prefix(label))
    train = SpectralFeatures.from_arrays(reference, keys.spectral_prefix(label, train=True))
    return {
        "n": len(rows),
        "spectral_distance": spectral_distance(ours, train),
        "spike_ratio": spike_ratio(ours),
    }
