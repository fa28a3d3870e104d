"""The summary's data-and-split section and the console preflight: the split named, the patients
left out named, and for the published split the baseline beside the published results as
context only."""

from __future__ import annotations

import json
from dataclasses import asdict

import pandas as pd
from summary_tables import golden, make_tests, primary

from idc_synth.preflight import IngestSummary
from idc_synth.report.summary import build_summary, context
from idc_synth.report.tables import published_table


def baseline_ci() -> pd.DataFrame:
    rows = [
        {
            "arm": "baseline",
            "metric": "balanced_accuracy",
            "mean": 0.851,
            "ci_low": 0.83,
            "ci_high": 0.87,
        },
        {"arm": "baseline", "metric": "f1", "mean": 0.772, "ci_low": 0.75, "ci_high": 0.79},
        {"arm": "dcgan", "metric": "f1", "mean": 0.7, "ci_low": 0.6, "ci_high": 0.8},
    ]
    return pd.DataFrame(rows).assign(confidence_level=0.95)


def info(preset: str | None, left_out: list[str]) -> dict:
    """The split job's split_info.json (as written: JSON turns class keys into strings)."""
    summary = IngestSummary(
        stage="after decoding",
        root="/data/idc",
        patients=279,
        patches={0: 198738, 1: 78786},
        qc={},
        duplicates=277524,
        duplicate_note="nested copy under IDC_regular_ps50_idx5/",
        split="published patient split janowczyk2016 (Janowczyk & Madabhushi 2016, J Pathol "
        "Inform 7:29)"
        if preset
        else "stratified by patient (seed 0; patch shares train 0.5, val 0.2, test 0.3)",
        split_sizes={"train": 84, "val": 29, "test": 49},
        left_out=left_out,
    )
    return json.loads(json.dumps({"preset": preset, **asdict(summary)}))


def frames(preset_ci: pd.DataFrame) -> dict[str, pd.DataFrame]:
    rows = primary([(0.03, 0.008)])
    found = {"summary_ci": preset_ci.assign(n_patients=49, n_seeds=3, std=0.01)}
    found |= {"tests": make_tests(rows), "primary": rows}
    found["costs"] = pd.DataFrame(columns=["rule", "jobs", "wall_s", "cpu_s", "peak_rss_mb"])
    return found


def summary(split_info: dict | None, preset_ci: pd.DataFrame) -> str:
    return build_summary(frames(preset_ci), alpha=0.05, data_source="folder", split_info=split_info)


def section(text: str) -> str:
    return "## Data and split" + text.split("## Data and split", 1)[1].split("## Primary", 1)[0]


def test_the_published_split_sets_the_baseline_beside_the_published_results():
    table = published_table("janowczyk2016", baseline_ci())
    assert table.iloc[0].tolist() == [
        "this study's baseline (mean over seeds, 95% CI)",
        "0.851 [0.830, 0.870]",
        "0.772 [0.750, 0.790]",
    ]
    published = table.set_index("source").loc["Janowczyk & Madabhushi 2016"].tolist()
    assert published == ["0.8468", "0.7648"]  # as published, never re-rounded
    assert "Romero et al., ISBI 2019" in table["source"].tolist()
    text = section(summary(info("janowczyk2016", ["8863", "8866"]), baseline_ci()))
    golden("published_split", text)  # left-out patients named, duplicates counted, context


def test_a_stratified_split_gets_no_published_numbers():
    """The section's wording: the golden demo summary (stratified); without split info it is
    left out (golden decided and undecided summaries)."""
    values = context(
        frames(baseline_ci()), alpha=0.05, data_source="folder", split_info=info(None, [])
    )
    assert values["split"]["split"].startswith("stratified by patient")
    assert values["published"] is None


def test_the_console_preflight_is_a_few_lines_and_shortens_long_patient_lists():
    summary = IngestSummary(
        stage="planned from file names",
        root="/data/idc",
        patients=279,
        patches={0: 10, 1: 5},
        qc={"unreadable": 2, "kept": 1, "skipped: not a .png file": 3},
        duplicates=0,
        duplicate_note="byte-identical copies",
        split="preset",
        split_sizes={"train": 84, "val": 29, "test": 49},
        left_out=[str(8000 + i) for i in range(117)],
    )
    lines = summary.lines()
    assert len(lines) <= 12
    text = "\n".join(lines)
    assert "QC rejects              2 (unreadable: 2)" in text
    assert "QC kept or skipped      4 (kept: 1, skipped: not a .png file: 3)" in text
    assert "patients left out       117: 8000 8001" in text and "(+105 more)" in text
    rows = dict(summary.rows())
    assert rows["patients left out"].endswith("8116")  # the table names them all
