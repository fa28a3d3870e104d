"""Generalization across test patients and calibration of the predicted probabilities.

* **Per-patient metrics**: every score of `classification_metrics` on each test patient's
  patches, per arm and seed. A patient whose patches are all of one class has no balanced
  accuracy, ROC AUC or PR AUC (one class recall, or no pair to rank): those are NaN with a note,
  never the single class's recall.
* **Spread** of the primary metric over patients (seed-averaged per patient): the worst and the
  median patient, and the standard deviation over patients. Whether a synthetic arm narrows or
  widens it is the difference of the SDs, with the patient-level bootstrap of idc_synth.statistics
  (the same resamples for every arm, so the difference stays paired) and its interval and p-value
  from `infer_difference` (undefined with too few patients).
* **Calibration**: Brier score and the expected calibration error over ``n_bins`` equal-width
  bins of [0, 1] (a probability of exactly 1 falls in the last bin): ECE = sum over bins of
  (patches in bin / patches) x |IDC share in bin - mean probability in bin|. Intervals: the
  patient bootstrap per seed, and the two-level (patient x seed) bootstrap for the seed mean.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from idc_synth.metrics import SCORE_KEYS
from idc_synth.statistics import (
    Settings,
    check_predictions,
    comparison_name,
    comparisons,
    infer_difference,
    min_patients,
    patient_resamples,
    percentile_interval,
    seed_average,
    seed_resamples,
    weighted_metrics,
)

# Undefined on a single-class patient (the rest have conventions for an empty ratio).
TWO_CLASS_METRICS = ("balanced_accuracy", "roc_auc", "pr_auc")
PER_PATIENT_COLUMNS = ["arm", "seed", "patient", "n_patches", "n_idc", *SCORE_KEYS, "note"]
SPREAD_COLUMNS = [
    "arm",
    "metric",
    "n_patients",
    "worst_patient",
    "worst",
    "median",
    "spread_sd",
    "comparison",
    "spread_difference",
    "ci_low",
    "ci_high",
    "p_value",
    "confidence_level",
    "note",
]
CALIBRATION_METRICS = ("brier", "ece")
CALIBRATION_COLUMNS = [
    "arm",
    "seed",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "confidence_level",
    "binning",
    "n_patients",
    "note",
]
SINGLE_CLASS_NOTE = "single class: balanced accuracy, ROC AUC and PR AUC undefined"


def _patient_weights(patient_codes: np.ndarray, n_patients: int) -> np.ndarray:
    """(n_patients, N) indicators: row k selects patient k's patches."""
    return (np.arange(n_patients)[:, None] == np.asarray(patient_codes)[None, :]).astype(float)


def per_patient_metrics(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per (arm, seed, test patient): patch and IDC counts and every score."""
    groups = check_predictions(predictions)
    reference = next(iter(groups.values()))
    labels = reference["label"].to_numpy().astype(bool)
    codes, patients = pd.factorize(reference["patient"].to_numpy())
    indicators = _patient_weights(codes, len(patients))
    n_patches = indicators.sum(axis=1).astype(int)
    n_idc = (indicators @ labels).astype(int)
    single_class = (n_idc == 0) | (n_idc == n_patches)
    frames = []
    for (arm, seed), group in groups.items():
        values = weighted_metrics(
            labels,
            group["probability"].to_numpy(),
            float(group["threshold"].iloc[0]),
            indicators,
        )
        frame = pd.DataFrame(values)
        frame.loc[single_class, list(TWO_CLASS_METRICS)] = math.nan
        frame.insert(0, "n_idc", n_idc)
        frame.insert(0, "n_patches", n_patches)
        frame.insert(0, "patient", patients)
        frame.insert(0, "seed", seed)
        frame.insert(0, "arm", arm)
        frame["note"] = np.where(single_class, SINGLE_CLASS_NOTE, "")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[PER_PATIENT_COLUMNS]


def _weighted_sd(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(B,) standard deviation (ddof 1) of `values` (P,) repeated `counts` (B, P) times; NaN
    values are left out."""
    defined = ~np.isnan(values)
    weights = np.where(defined, counts, 0).astype(float)
    filled = np.where(defined, values, 0.0)
    n = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = weights @ filled / n
        squares = weights @ filled**2 - n * mean**2
        return np.where(n > 1, np.sqrt(np.maximum(squares, 0.0) / (n - 1)), np.nan)


def patient_spread(per_patient: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Per arm, worst and median patient and the SD over patients of the seed-averaged primary
    metric; per comparison (as in the primary endpoint), the difference of the SDs with its
    patient-bootstrap interval (positive: arm_a's patients spread wider)."""
    metric = settings.primary_metric
    table = per_patient.pivot_table(
        index="patient", columns="arm", values=metric, aggfunc="mean", dropna=False, sort=False
    )
    arms = list(dict.fromkeys(per_patient["arm"]))
    table = table.reindex(columns=arms)
    counts = patient_resamples(len(table), settings.bootstrap_samples, settings.bootstrap_seed)
    boot = {arm: _weighted_sd(table[arm].to_numpy(float), counts) for arm in arms}
    level = settings.confidence_level
    rows = []
    for arm in arms:
        values = table[arm].dropna()
        rows.append(
            {
                "arm": arm,
                "metric": metric,
                "n_patients": len(values),
                "worst_patient": values.idxmin() if len(values) else "",
                "worst": values.min() if len(values) else math.nan,
                "median": values.median() if len(values) else math.nan,
                "spread_sd": values.std(ddof=1) if len(values) > 1 else math.nan,
                "confidence_level": level,
                "note": f"{table[arm].isna().sum()} patient(s) without a defined {metric}"
                if table[arm].isna().any()
                else "",
            }
        )
    spread = {row["arm"]: row for row in rows}
    for arm_a, arm_b in comparisons(arms):
        defined = table[[arm_a, arm_b]].notna().all(axis=1).sum()
        inferred = infer_difference(boot[arm_a] - boot[arm_b], int(defined), settings)
        rows.append(
            {
                "arm": arm_a,
                "metric": metric,
                "n_patients": int(defined),
                "comparison": comparison_name(arm_a, arm_b),
                "spread_difference": spread[arm_a]["spread_sd"] - spread[arm_b]["spread_sd"],
                "ci_low": inferred["ci_low"],
                "ci_high": inferred["ci_high"],
                "p_value": inferred["p_value"],
                "confidence_level": level,
                "note": inferred["note"],
            }
        )
    return pd.DataFrame(rows, columns=SPREAD_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Calibration


def weighted_calibration(
    labels: np.ndarray, probabilities: np.ndarray, weights: np.ndarray, n_bins: int
) -> dict[str, np.ndarray]:
    """Brier score and ECE (equal-width bins) for many weightings (B, N) at once; with integer
    weights each row equals the patches repeated that many times."""
    labels = np.asarray(labels, dtype=float)
    probabilities = np.asarray(probabilities, dtype=float)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    total = weights.sum(axis=1)
    bins = np.minimum((probabilities * n_bins).astype(int), n_bins - 1)
    members = (bins[:, None] == np.arange(n_bins)[None, :]).astype(float)  # (N, bins)
    gap = weights @ (members * labels[:, None]) - weights @ (members * probabilities[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        brier = weights @ (probabilities - labels) ** 2 / total
        ece = np.abs(gap).sum(axis=1) / total
    return {"brier": brier, "ece": ece}


def calibration_table(predictions: pd.DataFrame, n_bins: int, settings: Settings) -> pd.DataFrame:
    """Brier and ECE per arm and seed (patient-bootstrap interval) and their seed mean (seed
    "mean", two-level bootstrap interval)."""
    groups = check_predictions(predictions)
    reference = next(iter(groups.values()))
    labels = reference["label"].to_numpy()
    codes, patients = pd.factorize(reference["patient"].to_numpy())
    n_patients = len(patients)
    counts = patient_resamples(n_patients, settings.bootstrap_samples, settings.bootstrap_seed)
    weights = counts[:, codes]
    level = settings.confidence_level
    binning = f"{n_bins} equal-width bins on [0, 1]"
    rows = []

    def row(arm, seed, metric, value, replicates):
        needed = min_patients(1 - level)
        if n_patients < needed:
            low, high = math.nan, math.nan
            reason = f"{n_patients} test patient(s), fewer than the {needed} needed"
        else:
            low, high, reason = percentile_interval(replicates, level, n_patients)
        return {
            "arm": arm,
            "seed": seed,
            "metric": metric,
            "value": value,
            "ci_low": low,
            "ci_high": high,
            "confidence_level": level,
            "binning": binning if metric == "ece" else "",
            "n_patients": n_patients,
            "note": f"interval undefined: {reason}" if reason else "",
        }

    arms = list(dict.fromkeys(arm for arm, _ in groups))
    for arm in arms:
        seeds = sorted(seed for key_arm, seed in groups if key_arm == arm)
        seed_counts = seed_resamples(
            len(seeds), settings.bootstrap_samples, settings.bootstrap_seed
        )
        point, boot = [], []
        for seed in seeds:
            probabilities = groups[(arm, seed)]["probability"].to_numpy()
            values = weighted_calibration(labels, probabilities, np.ones((1, len(labels))), n_bins)
            resampled = weighted_calibration(labels, probabilities, weights, n_bins)
            point.append(values)
            boot.append(resampled)
            for metric in CALIBRATION_METRICS:
                rows.append(
                    row(arm, str(seed), metric, float(values[metric][0]), resampled[metric])
                )
        for metric in CALIBRATION_METRICS:
            mean = float(np.mean([values[metric][0] for values in point]))
            replicates = seed_average(
                np.stack([resampled[metric] for resampled in boot]), seed_counts
            )
            rows.append(row(arm, "mean", metric, mean, replicates))
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)
