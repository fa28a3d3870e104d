"""results/summary.md: the study's numbers and a conclusion written from them.

Sections: the headline table (arm x metric, mean over seeds with the patient-bootstrap CI),
the conclusion, the tests, the image-quality table and the computational cost per rule family
(from Snakemake's benchmark files).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.statistics import TEST_METRICS

METRIC_LABELS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
}
TEST_LABELS = {
    "mcnemar": "McNemar",
    "paired_t": "paired t-test",
    "wilcoxon": "Wilcoxon signed-rank",
}
EFFECT_LABELS = {"cohens_g": "Cohen's g", "cohens_dz": "Cohen's d_z", "rank_biserial": "r_rb"}
COST_COLUMNS = ["rule", "jobs", "wall_s", "cpu_s", "peak_rss_mb"]
HEADLINE_METRICS = ("balanced_accuracy", "roc_auc")


def _format(value, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "–"
        if value != 0 and abs(value) < 10 ** (-digits):
            return f"{value:.1e}"
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped)."""
    if frame.empty:
        return "_(no rows)_"
    header = "| " + " | ".join(str(column) for column in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        cells = [_format(value, digits).replace("|", "\\|") for value in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline_table(summary_ci: pd.DataFrame) -> pd.DataFrame:
    """Arms as rows, metrics as columns: 'mean [ci_low, ci_high]'."""
    cells = summary_ci.assign(
        cell=[
            f"{_format(row.mean)} [{_format(row.ci_low)}, {_format(row.ci_high)}]"
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


def tests_table(tests: pd.DataFrame) -> pd.DataFrame:
    columns = [
        "comparison",
        "metric",
        "test",
        "seed",
        "mean_difference",
        "ci_low",
        "ci_high",
        "statistic",
        "p_value",
        "p_holm",
        "effect_name",
        "effect_size",
        "n",
    ]
    return tests[columns].rename(columns={"mean_difference": "difference"})


def quality_table(image_quality: pd.DataFrame | None) -> pd.DataFrame | None:
    if image_quality is None or image_quality.empty:
        return None
    # Every column the quality rule wrote, but its long free-text note.
    return image_quality.drop(columns="note", errors="ignore")


def benchmark_costs(benchmark_dir: Path) -> pd.DataFrame:
    """Wall and CPU seconds summed, peak RSS maxed, per rule family (the first path part under
    the benchmark folder), plus a total row. Repeated benchmark runs in one file are averaged."""
    rows = []
    for path in sorted(Path(benchmark_dir).rglob("*.tsv")):
        relative = path.relative_to(benchmark_dir)
        rule = relative.parts[0] if len(relative.parts) > 1 else path.stem
        try:
            table = pd.read_csv(path, sep="\t")
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            continue
        numbers = {
            column: pd.to_numeric(table.get(column), errors="coerce")
            for column in ("s", "cpu_time", "max_rss")
        }
        rows.append(
            {
                "rule": rule,
                "wall_s": numbers["s"].mean(),
                "cpu_s": numbers["cpu_time"].mean(),
                "peak_rss_mb": numbers["max_rss"].max(),
            }
        )
    if not rows:
        return pd.DataFrame(columns=COST_COLUMNS)
    jobs = pd.DataFrame(rows)
    costs = (
        jobs.groupby("rule", sort=False)
        .agg(
            jobs=("rule", "size"),
            wall_s=("wall_s", "sum"),
            cpu_s=("cpu_s", "sum"),
            peak_rss_mb=("peak_rss_mb", "max"),
        )
        .reset_index()
        .sort_values("wall_s", ascending=False, ignore_index=True)
    )
    total = {
        "rule": "total",
        "jobs": int(costs["jobs"].sum()),
        "wall_s": float(costs["wall_s"].sum()),
        "cpu_s": float(costs["cpu_s"].sum()),
        "peak_rss_mb": float(costs["peak_rss_mb"].max()),
    }
    costs = pd.concat([costs, pd.DataFrame([total])], ignore_index=True)
    costs["wall_s"] = costs["wall_s"].astype(float).round(1)
    costs["cpu_s"] = costs["cpu_s"].astype(float).round(1)
    costs["peak_rss_mb"] = costs["peak_rss_mb"].astype(float).round(0)
    return costs[COST_COLUMNS]


def _signed(value: float) -> str:
    return f"{value:+.3f}" if not math.isnan(value) else "–"


def _describe_significant(row) -> str:
    metric = METRIC_LABELS.get(row.metric, row.metric)
    if math.isnan(row.mean_difference) or row.mean_difference == 0:
        direction = f"{row.arm_a} and {row.arm_b} differ"
    else:
        higher, lower = (
            (row.arm_a, row.arm_b) if row.mean_difference > 0 else (row.arm_b, row.arm_a)
        )
        direction = f"{higher} higher than {lower} by {abs(row.mean_difference):.3f}"
    where = f"seed {row.seed}" if row.seed != "all" else f"across {int(row.n)} seeds"
    effect = EFFECT_LABELS.get(row.effect_name, row.effect_name)
    return (
        f"- **{row.comparison}, {metric}**: {direction} "
        f"(95% CI of the difference [{_format(row.ci_low)}, {_format(row.ci_high)}]; "
        f"{TEST_LABELS.get(row.test, row.test)} {where}, p = {_format(row.p_value)}, "
        f"Holm p = {_format(row.p_holm)}, {effect} = {_format(row.effect_size, 2)})"
    )


def conclusion(
    tests: pd.DataFrame,
    summary_ci: pd.DataFrame,
    alpha: float = 0.05,
    data_source: str = "folder",
) -> str:
    """The conclusion, written from the numbers: which Holm-corrected differences are
    significant (with direction and size), or that there is no significant difference."""
    lines: list[str] = []
    defined = tests.dropna(subset=["p_holm"])
    significant = defined[defined["p_holm"] < alpha]
    if tests.empty:
        lines.append(
            "Only one arm was evaluated, so there is no comparison to test: "
            "no significant difference can be claimed."
        )
    elif significant.empty:
        lines.append(
            f"There is **no significant difference** between the arms: none of the "
            f"{len(defined)} tests ({', '.join(_tests_used(tests))}; Holm-corrected within "
            f"each test) has a corrected p-value below α = {alpha:g}."
        )
    else:
        lines.append(
            f"{len(significant)} of {len(defined)} tests show a significant difference "
            f"(Holm-corrected p < α = {alpha:g}):"
        )
        lines.extend(_describe_significant(row) for row in significant.itertuples())
        lines.append("")
        lines.append(
            "Every other difference is not significant. A difference significant per seed "
            "(McNemar) but not across seeds reflects one trained model, not a reliable effect "
            "of the training data."
        )
    lines.append("")
    for comparison, rows in tests[tests["test"] == "paired_t"].groupby("comparison", sort=False):
        parts = []
        for metric in HEADLINE_METRICS:
            row = rows[rows["metric"] == metric]
            if row.empty:
                continue
            row = row.iloc[0]
            mean_a = _arm_mean(summary_ci, row["arm_a"], metric)
            mean_b = _arm_mean(summary_ci, row["arm_b"], metric)
            parts.append(
                f"{METRIC_LABELS[metric]} {_format(mean_a)} vs {_format(mean_b)} (difference "
                f"{_signed(row['mean_difference'])}, 95% CI [{_format(row['ci_low'])}, "
                f"{_format(row['ci_high'])}])"
            )
        if parts:
            lines.append(f"- {comparison}: " + "; ".join(parts) + ".")
    lines.extend(["", *_caveats(tests, summary_ci, alpha, data_source)])
    return "\n".join(lines).strip() + "\n"


def _tests_used(tests: pd.DataFrame) -> list[str]:
    return [TEST_LABELS.get(test, test) for test in dict.fromkeys(tests["test"])]


def _arm_mean(summary_ci: pd.DataFrame, arm: str, metric: str) -> float:
    row = summary_ci[(summary_ci["arm"] == arm) & (summary_ci["metric"] == metric)]
    return float(row["mean"].iloc[0]) if len(row) else float("nan")


def _caveats(tests: pd.DataFrame, summary_ci: pd.DataFrame, alpha: float, source: str) -> list:
    notes = []
    seeds = int(summary_ci["n_seeds"].min()) if len(summary_ci) else 0
    if seeds < 2:
        notes.append(
            f"- With {seeds} seed(s) per arm the across-seed tests are undefined; only the "
            "per-seed McNemar tests and the bootstrap intervals are available."
        )
    elif 2 / 2**seeds >= alpha:
        notes.append(
            f"- With {seeds} seeds the exact Wilcoxon signed-rank test cannot reach p < "
            f"{alpha:g} (its smallest two-sided p is {2 / 2**seeds:.3g}); more seeds are "
            "needed for it to detect anything."
        )
    if "n_patients" in summary_ci and len(summary_ci):
        patients = int(summary_ci["n_patients"].iloc[0])
        if patients < 20:
            notes.append(
                f"- The test split holds only {patients} patient(s): the patient-bootstrap "
                "intervals rest on few independent units and are rough."
            )
    if source == "demo":
        notes.append(
            "- **Demo caveat:** these numbers come from the procedurally generated demo data "
            "(`data.source: demo`), not from real histology. They show that the pipeline "
            "works end to end; they say nothing about whether synthetic patches help on the "
            "IDC dataset."
        )
    return notes


def build_summary(
    *,
    summary_ci: pd.DataFrame,
    tests: pd.DataFrame,
    image_quality: pd.DataFrame | None,
    costs: pd.DataFrame,
    alpha: float,
    data_source: str,
    arms: Sequence[str] | None = None,
) -> str:
    level = summary_ci["confidence_level"].iloc[0] if len(summary_ci) else 0.95
    arms = list(arms) if arms is not None else list(dict.fromkeys(summary_ci["arm"]))
    quality = quality_table(image_quality)
    sections = [
        "# IDC-Synth: summary",
        "",
        f"Arms: {', '.join(arms)}. Metrics on the held-out test split (patient-level split), "
        f"mean over training seeds with the {level:.0%} patient-bootstrap interval of that "
        "mean.",
        "",
        markdown_table(headline_table(summary_ci)),
        "",
        "## Conclusion",
        "",
        conclusion(tests, summary_ci, alpha, data_source),
        "## Tests",
        "",
        "Differences are arm A minus arm B (A vs B). McNemar compares per-patch correctness "
        "per seed; the paired t-test and Wilcoxon signed-rank test compare per-seed metrics. "
        "Holm's correction runs within each test over all its comparisons, metrics and seeds. "
        "Intervals: patient bootstrap of the seed-averaged difference.",
        "",
        markdown_table(tests_table(tests)),
        "",
        "## Image quality",
        "",
        markdown_table(quality) if quality is not None else "_Image quality was not computed._",
        "",
        "## Computational cost",
        "",
        "Per rule family, from Snakemake's benchmark files: wall and CPU seconds summed over "
        "jobs, peak resident memory (MB) of the largest job.",
        "",
        markdown_table(costs, digits=1),
        "",
    ]
    return "\n".join(sections)
