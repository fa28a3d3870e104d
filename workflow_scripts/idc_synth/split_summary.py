"""The summary's data-and-split section: the ingest in a sentence, which split the study used and
who it left out, and, for a published split, the baseline next to the results published on it,
as context only (other models and training; no test is made or implied)."""

from __future__ import annotations

import pandas as pd

from idc_synth.arms import BASELINE
from idc_synth.presets import PRESETS, SPLITS
from idc_synth.report_format import format_value, interval, markdown_table, percent

CONTEXT_METRICS = {"balanced_accuracy": "balanced accuracy", "f1": "F1"}


def split_line(info: dict) -> str:
    """'Split: <how>: train 84, val 29, test 49 patients; <who was left out>.'"""
    sizes = ", ".join(f"{name} {info['split_sizes'][name]}" for name in SPLITS)
    left_out = info["left_out"]
    if left_out:
        out = (
            f"{len(left_out)} patient(s) of the data root in no list, left out: "
            f"{', '.join(left_out)}"
        )
    else:
        out = "no patient left out"
    line = f"Split: {info['split']}: {sizes} patients; {out}."
    if info["missing"]:
        line += f" Listed but not in the data: {len(info['missing'])} patient(s)."
    return line


def ingest_line(info: dict) -> str:
    classes = ", ".join(f"class {label}: {count:,}" for label, count in info["patches"].items())
    duplicates = (
        f"; {info['duplicates']:,} duplicate files skipped ({info['duplicate_note']})"
        if info["duplicates"]
        else ""
    )
    return (
        f"Data: {info['patients']:,} patients, {sum(info['patches'].values()):,} patches "
        f"({classes}) in the manifest{duplicates}; every rejected or skipped file is a row of "
        "`results/data/qc_rejected.tsv`, the ingest summary is `results/data/preflight.tsv`."
    )


def published_context(preset: str, summary_ci: pd.DataFrame) -> list[str]:
    """The baseline's mean and interval beside the results published on the same split."""
    baseline = summary_ci[(summary_ci["arm"] == BASELINE)].set_index("metric")
    if baseline.empty:
        ours = {label: "baseline not run" for label in CONTEXT_METRICS.values()}
    else:
        ours = {
            label: f"{format_value(baseline.at[metric, 'mean'])} "
            f"{interval(baseline.at[metric, 'ci_low'], baseline.at[metric, 'ci_high'])}"
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
    return [
        "Published results on the same patient split, as context only: different model and "
        "training, so the difference is no test of anything.",
        "",
        markdown_table(pd.DataFrame(rows)),
    ]


def split_section(info: dict | None, summary_ci: pd.DataFrame) -> list[str]:
    """## Data and split (nothing when the split job's info is not given)."""
    if info is None:
        return []
    lines = ["## Data and split", "", split_line(info), "", ingest_line(info), ""]
    if info["preset"]:
        lines += [*published_context(info["preset"], summary_ci), ""]
    return lines
