"""Generalization across test patients and calibration of the predicted probabilities.

* **Per-patient metrics**: every score of `classification_metrics` on each test patient's
  patches, per arm and seed. A patient whose patches are all of one class has no balanced
  accuracy, ROC AUC or PR AUC (one class recall, or no pair to rank): those are NaN with a note,
  never the single class's recall.
* **Spread** of the primary metric over patients: per seed, the standard deviation over the
  patients with a defined value, averaged over seeds; the worst and the median patient of the
  seed-averaged values. Whether a generator arm narrows or widens it is the difference of the
  spreads vs the baseline, with the machinery of the primary endpoint (idc_synth.inference:
  leave-one-patient-out pseudovalues of each seed's spread, the seed x patient model of the two
  arms compared, Bonferroni over the generators, the decision interval the inverted test).
* **Calibration**: Brier score and the expected calibration error over ``n_bins`` equal-width
  bins of [0, 1] (a probability of exactly 1 falls in the last bin): ECE = sum over bins of
  (patches in bin / patches) x |IDC share in bin - mean probability in bin|. Intervals from the
  leave-one-patient-out pseudovalues: per seed over patients, and for the seed mean over
  patients and seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from idc_synth.inference import (
    SCORE_RANGE,
    Crossed,
    Family,
    crossed,
    decide,
    sd_pseudovalues,
)
from idc_synth.metrics import SCORE_KEYS
from idc_synth.statistics import (
    Settings,
    StudyPredictions,
    comparison_name,
    comparisons,
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
    "p_value",
    "p_adjusted",
    "decision_level",
    "ci_low",
    "ci_high",
    "verdict",
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


def per_patient_metrics(study: StudyPredictions) -> pd.DataFrame:
    """One row per (arm, seed, test patient): patch and IDC counts and every score."""
    design = study.design
    labels = design.labels.astype(bool)
    indicators = design.plan.patients
    n_patches = indicators.sum(axis=1).astype(int)
    n_idc = (indicators @ labels).astype(int)
    single_class = (n_idc == 0) | (n_idc == n_patches)
    frames = []
    for arm, seed in design.cells():
        values = weighted_metrics(labels, *study.probabilities(arm, seed), indicators)
        frame = pd.DataFrame(values)
        frame.loc[single_class, list(TWO_CLASS_METRICS)] = math.nan
        frame.insert(0, "n_idc", n_idc)
        frame.insert(0, "n_patches", n_patches)
        frame.insert(0, "patient", design.patients)
        frame.insert(0, "seed", seed)
        frame.insert(0, "arm", arm)
        frame["note"] = np.where(single_class, SINGLE_CLASS_NOTE, "")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[PER_PATIENT_COLUMNS]


def patient_spread(per_patient: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Per arm, worst and median patient of the seed-averaged primary metric and its spread
    over patients (per-seed SD, averaged); per generator vs the baseline, the difference of the
    spreads with its verdict (positive: arm_a's patients spread wider)."""
    metric = settings.primary_metric
    arms = list(dict.fromkeys(per_patient["arm"]))
    patients = list(dict.fromkeys(per_patient["patient"]))
    values = {
        arm: rows.pivot(index="seed", columns="patient", values=metric)
        .reindex(columns=patients)
        .to_numpy(float)
        for arm, rows in per_patient.groupby("arm", sort=False)
    }
    spreads = {arm: sd_pseudovalues(values[arm]) for arm in arms}
    rows = []
    for arm in arms:
        # a patient no seed defines the metric for (one class: balanced accuracy) is left out
        columns = ~np.isnan(values[arm]).all(axis=0)
        kept = [patient for patient, keep in zip(patients, columns, strict=True) if keep]
        mean = pd.Series(np.nanmean(values[arm][:, columns], axis=0), index=kept)
        defined = int(columns.sum())
        rows.append(
            {
                "arm": arm,
                "metric": metric,
                "n_patients": defined,
                "worst_patient": mean.idxmin() if len(mean) else "",
                "worst": mean.min() if len(mean) else math.nan,
                "median": mean.median() if len(mean) else math.nan,
                "spread_sd": crossed(spreads[arm]).estimate,
                "note": f"{len(patients) - defined} patient(s) without a defined {metric}"
                if defined < len(patients)
                else "",
            }
        )
    family = comparisons(arms)[0]
    if family:
        arms = Family(spreads)
        decided = decide([arms.difference(a, b) for a, b in family], settings.alpha)
        for (a, b), row in zip(family, decided.to_dict("records"), strict=True):
            rows.append(
                {
                    "arm": a,
                    "metric": metric,
                    "n_patients": len(patients),
                    "comparison": comparison_name(a, b),
                    "spread_difference": row["estimate"],
                    **{key: row[key] for key in SPREAD_COLUMNS if key in row},
                }
            )
    return pd.DataFrame(rows, columns=SPREAD_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Calibration


def weighted_calibration(
    labels: np.ndarray, probabilities: np.ndarray, weights: np.ndarray, n_bins: int
) -> dict[str, np.ndarray]:
    """Brier score and ECE (equal-width bins) for many weightings (B, N) at once; with 0/1
    weights each row equals the score of the patches it keeps."""
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


def calibration_table(study: StudyPredictions, n_bins: int, settings: Settings) -> pd.DataFrame:
    """Brier and ECE per arm and seed (interval over patients) and their seed mean (seed
    "mean", interval over patients and seeds)."""
    level = settings.confidence_level
    binning = f"{n_bins} equal-width bins on [0, 1]"
    rows = []

    def row(arm, seed, metric, result: Crossed):
        low, high = result.interval(level, SCORE_RANGE)
        return {
            "arm": arm,
            "seed": seed,
            "metric": metric,
            "value": result.estimate,
            "ci_low": low,
            "ci_high": high,
            "confidence_level": level,
            "binning": binning if metric == "ece" else "",
            "n_patients": study.n_patients,
            "note": result.note if not result.defined else "",
        }

    labels = study.labels

    def statistic(probabilities, threshold, weights):
        return weighted_calibration(labels, probabilities, weights, n_bins)

    for arm in study.arms:
        _, tables = study.replicates(arm, statistic, CALIBRATION_METRICS)
        for metric, table in zip(CALIBRATION_METRICS, tables, strict=True):
            for position, seed in enumerate(study.seeds):
                rows.append(row(arm, str(seed), metric, crossed(table[position : position + 1])))
            rows.append(row(arm, "mean", metric, crossed(table)))
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)
