"""Per-patient metrics, their spread, and calibration (Brier, ECE) on hand-checked cases."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from idc_synth.generalization import (
    SINGLE_CLASS_NOTE,
    calibration_table,
    patient_spread,
    per_patient_metrics,
    weighted_calibration,
)
from idc_synth.inference import DIFFERENCE, UNDEFINED
from idc_synth.statistics import Settings, StudyPredictions


def _predictions(arm: str, seed: int, probabilities) -> pd.DataFrame:
    # Patient A: labels 1, 1, 0, 0; patient B: labels 1, 1 (a single class).
    return pd.DataFrame(
        {
            "arm": arm,
            "seed": seed,
            "synthetic_draw": -1,
            "row": range(6),
            "patient": ["A", "A", "A", "A", "B", "B"],
            "label": [1, 1, 0, 0, 1, 1],
            "probability": probabilities,
            "threshold": 0.5,
        }
    )


def test_per_patient_metrics_by_hand():
    frame = _predictions("baseline", 0, [0.9, 0.2, 0.6, 0.1, 0.8, 0.3])
    table = per_patient_metrics(StudyPredictions(frame)).set_index("patient")
    a, b = table.loc["A"], table.loc["B"]
    # A predicted 1, 0, 1, 0 for labels 1, 1, 0, 0: tp 1, fn 1, fp 1, tn 1.
    assert (a["n_patches"], a["n_idc"]) == (4, 2)
    assert a["accuracy"] == 0.5 and a["balanced_accuracy"] == 0.5
    assert a["precision"] == 0.5 and a["recall"] == 0.5
    # ROC AUC of A: positives 0.9, 0.2 vs negatives 0.6, 0.1 -> 3 of 4 pairs ordered.
    assert a["roc_auc"] == pytest.approx(0.75)
    assert a["note"] == ""
    # B: all IDC, predicted 1, 0: accuracy 0.5, recall 0.5, two-class metrics undefined.
    assert (b["n_patches"], b["n_idc"]) == (2, 2)
    assert b["accuracy"] == 0.5 and b["recall"] == 0.5
    assert math.isnan(b["balanced_accuracy"]) and math.isnan(b["roc_auc"])
    assert math.isnan(b["pr_auc"])
    assert b["note"] == SINGLE_CLASS_NOTE


def _two_arm_patients(n_patients: int, noise_b: float, seed: int = 0) -> pd.DataFrame:
    """Two arms on the same patients; arm b's per-patient accuracy varies more."""
    rng = np.random.default_rng(seed)
    frames = []
    for arm, noise in (("baseline", 0.0), ("dcgan", noise_b)):
        rows = []
        for patient in range(n_patients):
            labels = np.array([0, 1] * 20)
            flip = rng.random(40) < 0.1 + noise * (patient % 2)
            probabilities = np.where(labels ^ flip, 0.8, 0.2)
            rows.append(
                pd.DataFrame(
                    {"patient": f"p{patient}", "label": labels, "probability": probabilities}
                )
            )
        frame = pd.concat(rows, ignore_index=True)
        frame["row"] = range(len(frame))
        frames.append(frame.assign(arm=arm, seed=0, synthetic_draw=-1, threshold=0.5))
    return pd.concat(frames, ignore_index=True)


def _spread(n_patients: int, noise_b: float) -> pd.DataFrame:
    per_patient = per_patient_metrics(StudyPredictions(_two_arm_patients(n_patients, noise_b)))
    return patient_spread(per_patient, Settings())


def test_patient_spread_detects_a_wider_arm_and_reports_worst_and_median():
    per_patient = per_patient_metrics(StudyPredictions(_two_arm_patients(20, noise_b=0.3)))
    spread = patient_spread(per_patient, Settings()).set_index("arm")
    base = spread.loc["baseline"]
    values = per_patient[per_patient["arm"] == "baseline"].set_index("patient")["balanced_accuracy"]
    assert base["worst"] == values.min() and base["worst_patient"] == values.idxmin()
    assert base["median"] == values.median()
    assert base["spread_sd"] == pytest.approx(values.std(ddof=1))
    difference = spread[spread["comparison"] == "dcgan vs baseline"].iloc[0]
    assert difference["spread_difference"] > 0
    # the odd patients of dcgan are far worse: decided, with its inverted-test interval
    assert difference["verdict"] == DIFFERENCE and difference["ci_low"] > 0
    assert difference["decision_level"] == pytest.approx(0.95)  # a family of one generator


def test_a_single_class_patient_is_left_out_of_the_spread_without_a_warning():
    predictions = _two_arm_patients(6, noise_b=0.3)
    one_class = predictions[(predictions["patient"] != "p0") | (predictions["label"] == 1)]
    per_patient = per_patient_metrics(StudyPredictions(one_class))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice" for p0
        spread = patient_spread(per_patient, Settings()).set_index("arm")
    baseline = spread.loc["baseline"]
    assert baseline["n_patients"] == 5 and baseline["worst_patient"] != "p0"


def test_patient_spread_undefined_with_one_patient():
    spread = _spread(1, noise_b=0.3)
    difference = spread[spread["comparison"] == "dcgan vs baseline"].iloc[0]
    assert difference["verdict"] == UNDEFINED and math.isnan(difference["ci_low"])
    assert "undefined" in difference["note"]


def test_ece_and_brier_by_hand():
    labels = np.array([0, 0, 1, 1, 1])
    probabilities = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
    # 10 bins: bin 0 holds 0.05 (label 0); bin 1 holds 0.15, 0.15 (labels 0, 1); bin 9 holds
    # 0.95 and 1.0 (labels 1, 1). ECE = (1 * 0.05 + 2 * |0.5 - 0.15| + 2 * |1 - 0.975|) / 5.
    expected_ece = (0.05 + 2 * 0.35 + 2 * 0.025) / 5
    expected_brier = (0.05**2 + 0.15**2 + 0.85**2 + 0.05**2 + 0) / 5
    values = weighted_calibration(labels, probabilities, np.ones((1, 5)), n_bins=10)
    assert values["ece"][0] == pytest.approx(expected_ece)
    assert values["brier"][0] == pytest.approx(expected_brier)
    # Integer weights equal repeated patches.
    weights = np.array([[2, 0, 1, 1, 3]])
    repeated = np.repeat(np.arange(5), weights[0])
    direct = weighted_calibration(
        labels[repeated], probabilities[repeated], np.ones((1, len(repeated))), 10
    )
    resampled = weighted_calibration(labels, probabilities, weights, 10)
    assert resampled["ece"][0] == pytest.approx(direct["ece"][0])


def test_calibration_table_matches_sklearn_brier_and_has_intervals():
    from sklearn.metrics import brier_score_loss

    frame = _two_arm_patients(12, noise_b=0.2)
    table = calibration_table(StudyPredictions(frame), n_bins=10, settings=Settings())
    row = table[(table["arm"] == "dcgan") & (table["seed"] == "0") & (table["metric"] == "brier")]
    part = frame[frame["arm"] == "dcgan"]
    assert row["value"].iloc[0] == pytest.approx(
        brier_score_loss(part["label"], part["probability"])
    )
    assert (row["ci_low"] < row["value"]).all() and (row["value"] < row["ci_high"]).all()
    assert set(table["seed"]) == {"0", "mean"}
    assert table.loc[table["metric"] == "ece", "binning"].str.contains("10 equal-width").all()
    assert table[["ci_low", "ci_high"]].stack().between(0, 1).all()


def test_summary_reads_narrows_widens_or_the_verdict():
    from idc_synth.report.readings import spread_change
    from idc_synth.report.tables import probability_calibration_table

    wide = _spread(20, noise_b=0.3)
    decided = wide[wide["comparison"] != ""].dropna(subset=["verdict"]).iloc[0].to_dict()
    assert spread_change(decided) == "widens"
    assert spread_change({**decided, "spread_difference": -0.1}) == "narrows"
    assert spread_change({**decided, "verdict": "no difference shown"}) == "no difference shown"
    few = _spread(1, noise_b=0.3)
    compared = few[few["comparison"] != ""].dropna(subset=["verdict"]).to_dict("records")
    assert {spread_change(row) for row in compared} == {UNDEFINED}
    table = calibration_table(StudyPredictions(_two_arm_patients(1, 0.2)), 10, Settings())
    cells = probability_calibration_table(table).set_index("arm")
    assert list(cells.columns) == ["Brier", "ECE"] and "dcgan" in cells.index
    assert cells.map(lambda cell: "undefined (" in cell).all().all()  # one patient
    assert not cells.map(lambda cell: "(undefined: " in cell).any().any()
