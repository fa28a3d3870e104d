"""The shape of image_quality.tsv: its sets, feature spaces, columns and settings. Torch-free,
so the rules, the report and the figures import these names from here, as do the quality modules
that compute the rows."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from idc_synth.quality.metrics import MANIFOLD_METRICS

# The sets measured against real train (the generators' training set), per class
TRAIN = "train"
HOLDOUT = "holdout"  # held-out train patches no model saw: the floor
REAL_VAL = "real_val"  # the val patients: the cross-patient shift
REFERENCE_SETS = (HOLDOUT, REAL_VAL)
PACKED_SET = {HOLDOUT: "holdout", REAL_VAL: "val"}  # a real set's packed split

# The built-in feature spaces; each encoder of quality.encoders adds one more under its own name,
# in which every metric is computed (FID & co. and near copies).
BUILT_IN_SPACES = ("classifier", "inception", "pixels")


def distribution_spaces(encoders: Iterable[str] = ()) -> tuple[str, ...]:
    """The spaces of FID & co. (pixels only serve near copies and spectra)."""
    return ("classifier", "inception", *encoders)


def copy_spaces(encoders: Iterable[str] = ()) -> tuple[str, ...]:
    """The spaces of near copies, checked among all patches (Inception: too slow for that)."""
    return ("classifier", "pixels", *encoders)


# Train patients a patient-level interval needs (fewer make a bootstrap meaningless: undefined);
# a claim that no patient was copied needs them too.
MIN_PATIENTS = 5

DISTRIBUTION_METRICS = ("fid", "kid", *MANIFOLD_METRICS)
SPECTRAL_METRICS = ("spectral_distance", "spike_ratio")
METRICS = DISTRIBUTION_METRICS + SPECTRAL_METRICS  # the metrics with interval columns
BOUNDS = dict.fromkeys(("precision", "recall", "coverage"), (0.0, 1.0)) | dict.fromkeys(
    ("fid", "density", "spectral_distance", "spike_ratio"), (0.0, math.inf)
)
SUFFIXES = ("low", "high", "vs_floor_low", "vs_floor_high", "vs_shift_low", "vs_shift_high")
INTERVAL_COLUMNS = tuple(f"{metric}_{suffix}" for metric in METRICS for suffix in SUFFIXES)
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


@dataclass(frozen=True)
class QualitySettings:
    inception_weights: str | None = None
    encoders: Mapping[str, str] = field(default_factory=dict)  # space name: local folder
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


def empty_row(space: str, generator: str, label: int, status: str, note: str = "") -> dict:
    row = dict.fromkeys(ROW_COLUMNS, math.nan)
    row.update(feature_space=space, generator=generator, label=int(label), status=status)
    return {**row, "n": 0, "note": note}
