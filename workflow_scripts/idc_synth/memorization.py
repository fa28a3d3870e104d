"""Memorization per training patient (results/metrics/memorization.tsv).

A generator that memorized some patients makes near copies of their train patches more often
than a fresh sample of the train distribution would. Per generator and copy space, each train
patient p gets:
- ``near_copies``: the generator's patches that are near copies (image_quality.tsv's threshold,
  calibrated on the held-out train patches, per class) whose nearest train patch is p's;
  ``share`` is their share of all the generator's patches, with a Wilson interval;
- ``floor_share``: the same share among the held-out train patches (same patients, seen by no
  model), scored alike: what fresh patches of the train distribution produce for p;
- ``p_value``: Fisher's exact test, one-sided (the generator copies p more often than the
  floor), Holm over the train patients of one generator and space (``p_holm``).
``n_nearest`` counts the generator's patches whose nearest train patch is p's, copies or not.
Classes are pooled: each class is flagged with its own threshold, then counted per patient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests

from idc_synth.quality import keys
from idc_synth.quality.copies import copy_threshold, flag_copies, wilson_interval

COLUMNS = (
    "generator",
    "feature_space",
    "patient",
    "n_nearest",
    "near_copies",
    "share",
    "ci_low",
    "ci_high",
    "floor_share",
    "p_value",
    "p_holm",
    "verdict",
    "note",
)
COPIED = "copied beyond the floor"
NOT_SHOWN = "not shown"


def holm(p_values: Iterable[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error over the whole family), by
    statsmodels' `multipletests`."""
    p = np.asarray(list(p_values), dtype=float)
    return multipletests(p, method="holm")[1] if len(p) else p


def patient_counts(
    distances: np.ndarray, nearest: np.ndarray, train_patients: np.ndarray, threshold
) -> pd.DataFrame:
    """Per train patient (index): patches whose nearest train patch is theirs (``n_nearest``)
    and how many of those are near copies (``near_copies``)."""
    found = flag_copies(distances, nearest, threshold)
    frame = pd.DataFrame(
        {
            "patient": np.asarray(train_patients)[found.train_index],
            "n_nearest": 1,
            "near_copies": found.flagged.astype(int),
        }
    )
    return frame.groupby("patient").sum()


def pooled_counts(
    reference: Mapping[str, np.ndarray],
    arrays: Mapping[str, np.ndarray],
    space: str,
    stem: str,
    percentile: float,
) -> tuple[pd.DataFrame, int]:
    """Per-patient counts summed over the classes, and the patches counted, from the arrays
    of kind ``stem`` (nearest-train distances) and ``quality.keys.NEAREST[stem]`` (which
    train patch): ``copy`` in a generator's features, ``calibration`` (the held-out floor) in
    the reference."""
    parts, total = [], 0
    for label in (0, 1):
        distances = arrays.get(keys.key(space, stem, label))
        if distances is None or not len(distances):
            continue
        threshold = copy_threshold(reference[keys.key(space, keys.CALIBRATION, label)], percentile)
        nearest = arrays[keys.key(space, keys.NEAREST[stem], label)]
        patients = reference[keys.train_patients(label)]
        parts.append(patient_counts(distances, nearest, patients, threshold))
        total += len(distances)
    counts = pd.concat(parts).groupby(level=0).sum() if parts else None
    return counts, total


def patient_tests(
    counts: pd.DataFrame,
    total: int,
    floor: pd.DataFrame,
    floor_total: int,
    patients: np.ndarray,
    level: float,
) -> pd.DataFrame:
    """One row per train patient: the generator's near-copy share of that patient with its
    Wilson interval, the floor's share, Fisher's one-sided p-value and Holm's over patients."""
    counts = counts.reindex(patients, fill_value=0)
    floor_copies = floor["near_copies"].reindex(patients, fill_value=0)
    rows = []
    for patient, copies, fresh in zip(patients, counts["near_copies"], floor_copies, strict=True):
        table = [[copies, total - copies], [fresh, floor_total - fresh]]
        low, high = wilson_interval(int(copies), total, level)
        rows.append(
            {
                "patient": patient,
                "near_copies": int(copies),
                "share": copies / total,
                "ci_low": low,
                "ci_high": high,
                "floor_share": fresh / floor_total,
                "p_value": float(fisher_exact(table, alternative="greater").pvalue),
            }
        )
    frame = pd.DataFrame(rows)
    frame.insert(1, "n_nearest", counts["n_nearest"].to_numpy(int))
    frame["p_holm"] = holm(frame["p_value"])
    frame["verdict"] = np.where(frame["p_holm"] < 1 - level, COPIED, NOT_SHOWN)
    return frame


def memorization_table(
    reference: Mapping[str, np.ndarray],
    generators: Mapping[str, Mapping[str, np.ndarray]],
    spaces: Sequence[str],
    percentile: float,
    level: float,
) -> pd.DataFrame:
    """Every generator's per-patient rows in each copy space of ``spaces`` (``generators``:
    each one's features arrays); none for a space without the generator's patches or held-out
    ones."""
    patients = np.unique(
        np.concatenate([reference[keys.train_patients(label)] for label in (0, 1)]).astype(str)
    )
    frames = []
    for space in spaces:
        floor, floor_total = pooled_counts(
            reference, reference, space, keys.CALIBRATION, percentile
        )
        for name, arrays in generators.items():
            counts, total = pooled_counts(reference, arrays, space, keys.COPY, percentile)
            if counts is None or floor is None:
                continue
            frame = patient_tests(counts, total, floor, floor_total, patients, level)
            frame.insert(0, "feature_space", space)
            frame.insert(0, "generator", name)
            frame["note"] = (
                f"{total} {name} patches vs {floor_total} held-out train patches; Fisher exact "
                f"one-sided, Holm over {len(patients)} train patients; near copy as in "
                "image_quality.tsv (per-class threshold from the held-out floor)"
            )
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(COLUMNS)]
