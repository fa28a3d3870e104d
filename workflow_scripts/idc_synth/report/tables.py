"""The summary's tables, built from the study's measured tables: each a DataFrame the template
prints as Markdown. Intervals are written as "[low, high]" or "undefined (why)", never as
numbers when they are undefined (idc_synth.report.format.interval)."""

from __future__ import annotations

import math

import pandas as pd

from idc_synth.arms import BASELINE
from idc_synth.inference import POWER
from idc_synth.metrics import METRIC_LABELS
from idc_synth.presets import PRESETS
from idc_synth.quality.table import INTERVAL_COLUMNS, REFERENCE_SETS
from idc_synth.quality.table import METRICS as QUALITY_METRICS
from idc_synth.report.format import (
    format_value,
    interval,
    is_missing,
    p_value,
    percent,
    signed,
)
from idc_synth.report.readings import skipped_quality
from idc_synth.statistics import TEST_METRICS

QUALITY_COUNT_COLUMNS = ("n", "kid_subset", "n_copy_checked")
CONTEXT_METRICS = {"balanced_accuracy": "balanced accuracy", "f1": "F1"}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _value_interval(value, low, high, reason: str = "") -> str:
    return f"{format_value(value)} {interval(low, high, reason)}"


def headline_table(summary_ci: pd.DataFrame) -> pd.DataFrame:
    """Arms as rows, metrics as columns: 'mean [ci_low, ci_high]', or 'mean (CI undefined)'."""
    cells = summary_ci.assign(
        cell=[
            f"{format_value(row.mean)} "
            + (
                "(CI undefined)"
                if interval(row.ci_low, row.ci_high).startswith("undefined")
                else interval(row.ci_low, row.ci_high)
            )
            for row in summary_ci.itertuples()
        ]
    )
    table = cells.pivot(index="arm", columns="metric", values="cell")
    metrics = [metric for metric in TEST_METRICS if metric in table.columns]
    arms = list(dict.fromkeys(summary_ci["arm"]))
    table = table.loc[arms, metrics].rename(columns=METRIC_LABELS).reset_index()
    seeds = summary_ci.groupby("arm", sort=False)["n_seeds"].first()
    table.insert(1, "seeds", [int(seeds[arm]) for arm in arms])
    return table


def published_table(preset: str, summary_ci: pd.DataFrame) -> pd.DataFrame:
    """The baseline's mean and interval beside the results published on the same split."""
    baseline = summary_ci[(summary_ci["arm"] == BASELINE)].set_index("metric")
    if baseline.empty:
        ours = {label: "baseline not run" for label in CONTEXT_METRICS.values()}
    else:
        ours = {
            label: _value_interval(
                baseline.at[metric, "mean"],
                baseline.at[metric, "ci_low"],
                baseline.at[metric, "ci_high"],
            )
            for metric, label in CONTEXT_METRICS.items()
        }
    level = percent(summary_ci["confidence_level"].iloc[0]) if len(summary_ci) else "–"
    rows = [{"source": f"this study's baseline (mean over seeds, {level} CI)", **ours}]
    for result in PRESETS[preset].results:
        rows.append(
            {
                "source": result.source,
                "balanced accuracy": f"{result.balanced_accuracy:g}",  # as published
                "F1": f"{result.f1:g}",
            }
        )
    return pd.DataFrame(rows)


def primary_table(primary: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison of the primary family, with its decision interval."""
    level = percent(primary["decision_level"].iloc[0])
    return pd.DataFrame(
        {
            "comparison": primary["comparison"],
            "A": primary["mean_a"],
            "B": primary["mean_b"],
            "difference (A − B)": [signed(value) for value in primary["difference"]],
            f"{level} CI (decision)": [
                interval(row.ci_low, row.ci_high, row.note) for row in primary.itertuples()
            ],
            "p": primary["p_value"].map(p_value),
            f"p × {int(primary['family_size'].iloc[0])}": primary["p_adjusted"].map(p_value),
            "verdict": primary["verdict"],
            f"MDD ({POWER:.0%} power)": primary["mdd"],
        }
    )


def design_calibration_table(calibration: pd.DataFrame) -> pd.DataFrame:
    """Per simulated scenario: the family-wise false-positive rate of each decision under no
    true difference, and the primary decision's power at each planted difference."""
    null = calibration[calibration["true_difference"] == 0]
    wide = null.pivot_table(index="scenario", columns="read", values="rejection_rate")
    power = calibration[
        (calibration["read"] == "primary") & (calibration["true_difference"] > 0)
    ].pivot_table(index="scenario", columns="true_difference", values="rejection_rate")
    power.columns = [f"power at +{value:g}" for value in power.columns]
    return wide.rename(columns=lambda read: f"false positives: {read}").join(power).reset_index()


def secondary_table(tests: pd.DataFrame) -> pd.DataFrame:
    rows = tests[tests["role"] == "secondary"]
    return pd.DataFrame(
        {
            "comparison": rows["comparison"],
            "metric": [metric_label(metric) for metric in rows["metric"]],
            "difference": [signed(value) for value in rows["mean_difference"]],
            "CI": [interval(row.ci_low, row.ci_high, row.note) for row in rows.itertuples()],
        }
    )


def descriptive_table(tests: pd.DataFrame) -> pd.DataFrame:
    rows = tests[tests["role"] == "descriptive"]
    return rows[["comparison", "seed", "mean_difference", "statistic", "p_value"]].rename(
        columns={"mean_difference": "accuracy difference"}
    )


def tstr_table(tstr: pd.DataFrame | None, summary_ci: pd.DataFrame) -> pd.DataFrame | None:
    """Per train-on-synthetic arm: seeds, ROC AUC and balanced accuracy (means over seeds), or
    its skip note; the real-trained baseline as the reference row."""
    if tstr is None or tstr.empty:
        return None
    notes = tstr["note"].fillna("").astype(str) if "note" in tstr else pd.Series("", tstr.index)
    rows = []
    for arm, group in tstr.assign(note=notes).groupby("arm", sort=False):
        if arm == BASELINE:
            continue  # the real-trained reference row comes from summary_ci, over every seed
        ran = group[~group["note"].str.startswith("skipped")]
        rows.append(
            {
                "arm": arm,
                "trained on": "synthetic only",
                "seeds": len(ran),
                "ROC AUC": pd.to_numeric(ran.get("roc_auc"), errors="coerce").mean(),
                "balanced accuracy": pd.to_numeric(
                    ran.get("balanced_accuracy"), errors="coerce"
                ).mean(),
                "note": "; ".join(dict.fromkeys(note for note in group["note"] if note)),
            }
        )
    baseline = summary_ci[summary_ci["arm"] == BASELINE].set_index("metric")["mean"]
    if len(baseline):
        rows.append(
            {
                "arm": BASELINE,
                "trained on": "real (reference)",
                "seeds": int(summary_ci.loc[summary_ci["arm"] == BASELINE, "n_seeds"].iloc[0]),
                "ROC AUC": baseline.get("roc_auc", math.nan),
                "balanced accuracy": baseline.get("balanced_accuracy", math.nan),
                "note": "",
            }
        )
    return pd.DataFrame(rows)


def quality_table(image_quality: pd.DataFrame | None) -> pd.DataFrame | None:
    """The measured rows, every column the quality rule wrote but its free text (the skipped
    feature spaces are named by quality_spaces instead) and the bootstrap columns: each value
    carries its own patient-level interval in its cell; the paired differences from the floor
    and the shift are quoted by the readings, and all are in image_quality.tsv."""
    if image_quality is None or image_quality.empty:
        return None
    measured = image_quality[~skipped_quality(image_quality)].drop(
        columns=["note", "status", *INTERVAL_COLUMNS], errors="ignore"
    )
    for metric in QUALITY_METRICS:
        if metric in measured and f"{metric}_low" in image_quality:
            bounds = image_quality.loc[measured.index, [f"{metric}_low", f"{metric}_high"]]
            measured[metric] = [
                format_value(value) + ("" if is_missing(low) else f" {interval(low, high)}")
                for value, (low, high) in zip(measured[metric], bounds.to_numpy(), strict=True)
            ]
    counts = [column for column in QUALITY_COUNT_COLUMNS if column in measured]
    return measured.astype({column: "Int64" for column in counts}).reset_index(drop=True)


def quality_spaces(image_quality: pd.DataFrame | None) -> dict | None:
    """The feature spaces the quality rows were measured in, and why any was skipped."""
    if image_quality is None or image_quality.empty or "feature_space" not in image_quality:
        return None
    skipped = skipped_quality(image_quality)
    reasons = dict(
        zip(
            image_quality.loc[skipped, "feature_space"],
            image_quality.loc[skipped, "status"],
            strict=True,
        )
    )
    return {
        "used": list(dict.fromkeys(image_quality.loc[~skipped, "feature_space"])),
        "skipped": reasons,
        "ranking": fid_ranking(image_quality[~skipped]),
    }


def fid_ranking(measured: pd.DataFrame) -> dict | None:
    """The generators in order of FID per feature space and class (lowest first), and whether
    every space gives the same order: secondary, from point estimates, no decision. None
    without two generators measured in two spaces."""
    rows = measured[~measured["generator"].isin(REFERENCE_SETS) & measured["fid"].notna()]
    orders = {
        (space, int(label)): list(group.sort_values("fid", kind="stable")["generator"])
        for (space, label), group in rows.groupby(["feature_space", "label"], sort=False)
        if len(group) >= 2
    }
    if len({space for space, _ in orders}) < 2:
        return None
    agree = all(
        len({tuple(order) for (_, label), order in orders.items() if label == cls}) == 1
        for cls in {label for _, label in orders}
    )
    listed = [{"space": s, "label": label, "order": o} for (s, label), o in orders.items()]
    return {"orders": listed, "agree": agree}


def spread_table(spread: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Worst and median test patient per arm, and the spread over patients."""
    arms = spread[spread["comparison"] == ""]
    return pd.DataFrame(
        {
            "arm": arms["arm"],
            "patients": arms["n_patients"],
            "worst patient": arms["worst_patient"].astype(str),
            f"worst {metric}": arms["worst"],
            f"median {metric}": arms["median"],
            "SD over patients": arms["spread_sd"],
        }
    )


def probability_calibration_table(calibration: pd.DataFrame) -> pd.DataFrame:
    """Brier score and ECE per arm: mean over seeds with its interval over patients and seeds."""
    means = calibration[calibration["seed"].astype(str) == "mean"].fillna({"note": ""})
    rows = []
    for arm, group in means.groupby("arm", sort=False):
        cells = {"arm": arm}
        for record in group.to_dict("records"):
            name = {"brier": "Brier", "ece": "ECE"}[record["metric"]]
            cells[name] = _value_interval(
                record["value"], record["ci_low"], record["ci_high"], str(record["note"])
            )
        rows.append(cells)
    return pd.DataFrame(rows)


def robustness_table(robustness: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Each arm's primary metric and degradation at each perturbation's strongest strength."""
    decisions = robustness[robustness["role"] == "decision"]
    strongest = decisions[["perturbation", "strength"]].drop_duplicates()
    rows = robustness.merge(strongest, on=["perturbation", "strength"]).to_dict("records")
    return pd.DataFrame(
        {
            "perturbation": [r["perturbation"] for r in rows],
            "strength": [f"{r['strength']:g}" for r in rows],
            "arm": [r["arm"] for r in rows],
            metric: [_value_interval(r["mean"], r["ci_low"], r["ci_high"]) for r in rows],
            "degradation": [
                f"{signed(r['degradation'])} "
                + interval(r["degradation_ci_low"], r["degradation_ci_high"])
                for r in rows
            ],
        }
    )


def efficiency_table(efficiency: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The sweep's cells: each arm's score per real fraction and synthetic ratio, and its
    difference from the real-only classifier of the same fraction (unadjusted)."""
    level = percent(efficiency["confidence_level"].iloc[0])
    rows = efficiency.to_dict("records")
    return pd.DataFrame(
        {
            "arm": [r["arm"] for r in rows],
            "real fraction": [percent(r["real_fraction"]) for r in rows],
            "synthetic ratio": [f"{r['synthetic_ratio']:g}" for r in rows],
            "train patients": [r["train_patients"] for r in rows],
            metric: [
                _value_interval(r["value"], r["value_ci_low"], r["value_ci_high"]) for r in rows
            ],
            f"difference (unadjusted {level} CI)": [
                ""
                if is_missing(r["difference"])
                else f"{signed(r['difference'])} {interval(r['ci_low'], r['ci_high'])}"
                for r in rows
            ],
        }
    )
