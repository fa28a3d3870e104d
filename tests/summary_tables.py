"""Small study tables for the summary's tests: primary rows decided as the statistics module
decides them, their tests table, a calibration simulation, the sweep's cells and contrasts, and
image-quality, cost and robustness tables that exercise every reading."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.inference import DIFFERENCE, NO_DIFFERENCE, Crossed, decide
from idc_synth.statistics import PRIMARY_COLUMNS, TESTS_COLUMNS
from idc_synth.sweep import CONTRAST_COLUMNS, EFFICIENCY_COLUMNS, MEAN_EFFECT

GOLDEN = Path(__file__).parent / "data" / "summary"


def golden(name: str, text: str) -> None:
    """Compare with tests/data/summary/<name>.md, or rewrite it when IDC_SYNTH_UPDATE_GOLDEN is
    set (then review the diff: a wording change shows there and nowhere else)."""
    path = GOLDEN / f"{name}.md"
    if os.environ.get("IDC_SYNTH_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{path} differs: review, then regenerate"


def summary_ci(level: float = 0.95, patients: int = 40, width: float = 0.02) -> pd.DataFrame:
    rows = []
    for arm, shift in (("baseline", 0.0), ("dcgan", 0.03)):
        for metric in ("accuracy", "balanced_accuracy", "roc_auc"):
            mean = 0.8 + shift
            low, high = (mean - width, mean + width) if width else (np.nan, np.nan)
            rows.append(
                {"arm": arm, "metric": metric, "mean": mean, "std": 0.01, "n_seeds": 3}
                | {"ci_low": low, "ci_high": high, "confidence_level": level}
                | {"n_patients": patients}
            )
    return pd.DataFrame(rows)


def crossed_result(difference: float, se: float, patients: int = 40) -> Crossed:
    """A comparison whose whole variance is in its patients (Student t on patients - 1 df)."""
    if np.isnan(se):
        return Crossed(difference, 3, patients, note="undefined: 1 test patient(s), 2 needed")
    return Crossed(difference, 1, patients, ms_patient=se**2 * patients, df_patient=patients - 1)


def scope(realizations: int) -> str:
    """primary.tsv's scope for generator arms with this many trained generators."""
    return (
        "this trained generator"
        if realizations == 1
        else f"the method, {realizations} realizations"
    )


def primary(rows: list[tuple], patients: int = 40, realizations: int = 3) -> pd.DataFrame:
    """Primary rows from (difference, se), decided as the statistics module decides them;
    `realizations`: trained generators behind each generator arm's 3 seeds."""
    comparisons = [("dcgan", "baseline"), ("diffusion", "baseline")]
    decided = decide([crossed_result(d, se, patients) for d, se in rows], alpha=0.05)
    frame = pd.DataFrame(
        [
            {"comparison": f"{a} vs {b}", "arm_a": a, "arm_b": b, "metric": "balanced_accuracy"}
            | {"mean_a": 0.8 + d, "mean_b": 0.8, "difference": d, "alpha": 0.05}
            | {"n_patients": patients, "n_seeds": 3, "generator_realizations": realizations}
            | {"scope": scope(realizations)}
            | {key: row[key] for key in PRIMARY_COLUMNS if key in row}
            for (a, b), (d, _), row in zip(
                comparisons, rows, decided.to_dict("records"), strict=False
            )
        ]
    )
    return frame[PRIMARY_COLUMNS]


def make_tests(primary_rows: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {column: row.get(column, np.nan) for column in TESTS_COLUMNS}
        | {"role": role, "test": "seed x patient", "seed": "all", "note": row["note"]}
        | {"mean_difference": row["difference"], "metric": metric, "n": 40}
        for row in primary_rows.to_dict("records")
        for metric, role in (("balanced_accuracy", "primary"), ("roc_auc", "secondary"))
    ]
    return pd.DataFrame(rows, columns=TESTS_COLUMNS)


def calibration_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scenario": ["demo"] * 5,
            "read": ["primary", "spread", "contrast", "primary", "primary"],
            "n_patients": 40,
            "n_seeds": 3,
            "family_size": 2,
            "true_difference": [0.0, 0.0, 0.0, 0.025, 0.05],
            "n_studies": 200,
            "rejection_rate": [0.045, 0.03, 0.02, 0.5, 0.95],
            "mc_se": 0.01,
            "alpha": 0.05,
        }
    )


def contrasts_table(rows: list[tuple]) -> pd.DataFrame:
    """efficiency_contrasts.tsv from (arm, contrast, estimate, ci_low, ci_high, verdict)."""
    frame = pd.DataFrame(
        [
            {"arm": arm, "contrast": contrast, "estimate": estimate, "ci_low": low}
            | {"ci_high": high, "verdict": verdict, "p_value": 0.01, "family_size": len(rows)}
            | {"p_adjusted": 0.01 * len(rows), "decision_level": 1 - 0.05 / len(rows)}
            | {"se": 0.01, "mdd": 0.03, "note": "", "metric": "balanced_accuracy"}
            | {"n_cells": 4 if contrast == MEAN_EFFECT else 2}
            | {"smallest_fraction": 0.1, "largest_fraction": 1.0}
            for arm, contrast, estimate, low, high, verdict in rows
        ]
    )
    return frame[CONTRAST_COLUMNS]


def efficiency_cells() -> pd.DataFrame:
    rows = [
        {"arm": arm, "real_fraction": fraction, "synthetic_ratio": ratio}
        | {"value": 0.8 + difference, "value_ci_low": 0.75, "value_ci_high": 0.85}
        | {"difference": difference if arm != "baseline" else np.nan}
        | {"ci_low": difference - 0.02, "ci_high": difference + 0.02}
        for arm, fraction, ratio, difference in (
            ("baseline", 0.1, 0.0, 0.0),
            ("baseline", 1.0, 0.0, 0.0),
            ("dcgan", 0.1, 1.0, 0.05),
            ("dcgan", 1.0, 1.0, 0.0),
        )
    ]
    frame = pd.DataFrame(rows).assign(
        train_patients=lambda f: (f["real_fraction"] * 40).round().astype(int),
        real_train_patches=lambda f: f["train_patients"] * 100,
        metric="balanced_accuracy",
        confidence_level=0.95,
        n_test_patients=20,
        seeds=3,
    )
    return frame[EFFICIENCY_COLUMNS]


def paired(**bounds: tuple[float, float]) -> dict:
    """Interval columns: paired(fid_vs_shift=(1, 2)) -> fid_vs_shift_low/_high."""
    return {
        f"{key}_{end}": value
        for key, pair in bounds.items()
        for end, value in zip(("low", "high"), pair, strict=True)
    }


def discussion_tables(contrasts: pd.DataFrame | None, robustness: pd.DataFrame | None) -> dict:
    quality = pd.DataFrame(
        [
            {"feature_space": "classifier", "generator": source, "label": 0, "n": 100}
            | {"fid": fid, "kid": kid, "kid_std": 0.01, "precision": p, "recall": r}
            | {"near_copy_share": share, "near_copy_low": low, "near_copy_high": high}
            | {"near_copy_expected": 0.01, "status": "ok"}
            | intervals
            for source, fid, kid, p, r, share, low, high, intervals in (
                (
                    "dcgan", 9.0, 0.3, 0.9, 0.2, 0.05, 0.03, 0.08,
                    paired(fid_vs_shift=(6.5, 8.9), kid_vs_shift=(0.2, 0.35))
                    | paired(precision_vs_shift=(-0.05, 0.04), recall_vs_shift=(-0.8, -0.6)),
                ),
                (
                    "diffusion", 1.2, 0.005, 0.88, 0.9, 0.0, 0.0, 0.004,
                    paired(fid_vs_shift=(-0.5, -0.1), kid_vs_shift=(-0.01, -0.001))
                    | paired(fid_vs_floor=(-0.1, 1.2), kid_vs_floor=(-0.005, 0.03))
                    | paired(precision_vs_shift=(-0.06, 0.02), recall_vs_shift=(-0.1, 0.05)),
                ),
                ("holdout", 0.5, -0.01, 0.9, 0.95, np.nan, np.nan, np.nan, {}),
                ("real_val", 1.5, 0.01, 0.9, 0.93, 0.01, 0.002, 0.03, {}),
            )
        ]
        + [
            {"feature_space": "pixels", "generator": source, "label": 0, "n": 100, "status": "ok"}
            | {"spike_ratio": spike, "spectral_distance": distance} | intervals
            for source, spike, distance, intervals in (
                (
                    "dcgan", 12.0, 0.8,
                    paired(spike_ratio_vs_floor=(8.0, 13.0), spectral_distance_vs_shift=(0.5, 0.9)),
                ),
                (
                    "diffusion", 1.6, 0.12,
                    paired(spike_ratio_vs_floor=(-0.3, 0.5))
                    | paired(spectral_distance_vs_shift=(-0.05, 0.1)),
                ),
                ("holdout", 1.5, 0.02, {}),
                ("real_val", 1.6, 0.1, {}),
            )
        ]
        + [
            {"feature_space": space, "generator": source, "label": label, "status": status}
            for space, source, label, status in (
                ("inception", "dcgan", 0, "skipped: no weights"),
                ("classifier", "holdout", 1, "skipped: 9 patches of class 1"),
            )
        ]
    )  # fmt: skip
    costs = pd.DataFrame(
        {
            "rule": ["train_classifier", "train_dcgan", "sample_dcgan", "train_diffusion"],
            "jobs": [10, 2, 4, 1],
            "wall_s": [100.0, 30.0, 10.0, 200.0],
            "cpu_s": [90.0, 25.0, 8.0, 150.0],
            "peak_rss_mb": [1000.0, 800.0, 700.0, 1500.0],
        }
    )
    return {
        "primary": primary([(0.03, 0.008), (0.004, 0.012)]),
        "image_quality": quality,
        "tstr": None,
        "costs": costs,
        "robustness": robustness,
        "probability_calibration": None,
        "efficiency_contrasts": contrasts,
    }


def robustness_rows() -> pd.DataFrame:
    """Blur: dcgan degrades less (decided); JPEG: diffusion degrades more (decided)."""
    rows = []
    for perturbation, strength, arm, degradation, difference, low, high, p, verdict in (
        ("blur", 1.5, "baseline", -0.10, np.nan, np.nan, np.nan, np.nan, ""),
        ("blur", 1.5, "dcgan", -0.02, 0.08, 0.03, 0.13, 0.01, DIFFERENCE),
        ("blur", 1.5, "diffusion", -0.11, -0.01, -0.05, 0.03, 1.0, NO_DIFFERENCE),
        ("jpeg", 15, "baseline", -0.01, np.nan, np.nan, np.nan, np.nan, ""),
        ("jpeg", 15, "dcgan", -0.005, 0.005, -0.02, 0.03, 1.0, NO_DIFFERENCE),
        ("jpeg", 15, "diffusion", -0.07, -0.06, -0.1, -0.02, 0.02, DIFFERENCE),
    ):
        rows.append(
            {"perturbation": perturbation, "strength": strength, "arm": arm}
            | {"metric": "balanced_accuracy"}
            | {"mean": 0.8 + degradation, "degradation": degradation}
            | {"comparison": "" if arm == "baseline" else f"{arm} vs baseline"}
            | {"role": "" if arm == "baseline" else "decision"}
            | {"degradation_difference": difference, "difference_ci_low": low}
            | {"difference_ci_high": high, "difference_ci_level": 0.9875}
            | {"p_adjusted": p, "verdict": verdict, "note": ""}
            | {"ci_low": 0.7, "ci_high": 0.9, "confidence_level": 0.95}
            | {"degradation_ci_low": degradation - 0.05, "degradation_ci_high": degradation + 0.05}
        )
    return pd.DataFrame(rows)


def map_contrasts() -> pd.DataFrame:
    return contrasts_table(
        [
            ("dcgan", MEAN_EFFECT, 0.025, 0.004, 0.046, DIFFERENCE),
            ("diffusion", MEAN_EFFECT, 0.004, -0.02, 0.03, NO_DIFFERENCE),
        ]
    )
