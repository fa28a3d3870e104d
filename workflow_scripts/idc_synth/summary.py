"""results/summary.md: the study's numbers and a conclusion written from them.

Sections: the headline table (arm x metric, mean over seeds with its interval), the primary
endpoint and the conclusion derived from it, the methods (with the calibration simulation and
the design's minimal detectable difference), secondary effects, variance components,
train-on-synthetic results, the descriptive clustered McNemar tests, image quality, the
computational cost per rule family (from Snakemake's benchmark files), generalization,
calibration, robustness, data efficiency, and each generator's advantages and limitations
(idc_synth.discussion). An undefined interval is written as "undefined (why)", never as
numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from idc_synth.arms import BASELINE, Arm, arms_of_kind
from idc_synth.discussion import discussion_section, efficiency_section, skipped_quality
from idc_synth.inference import DIFFERENCE, NO_DIFFERENCE, POWER, UNDEFINED
from idc_synth.metrics import METRIC_LABELS
from idc_synth.quality_intervals import INTERVAL_COLUMNS
from idc_synth.quality_intervals import METRICS as QUALITY_METRICS
from idc_synth.report_format import (
    format_value,
    interval,
    is_missing,
    markdown_table,
    percent,
    signed,
)
from idc_synth.simulation import simulated_mdd
from idc_synth.split_summary import split_section
from idc_synth.statistics import TEST_METRICS

COST_COLUMNS = ["rule", "jobs", "wall_s", "cpu_s", "peak_rss_mb"]
STEP_COLUMNS = ["arm", "seed", "optimizer_steps"]


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


def _undefined_note(summary_ci: pd.DataFrame) -> str:
    """Why the headline intervals are undefined, when any is."""
    undefined = summary_ci["ci_low"].isna() | (summary_ci["ci_low"] == summary_ci["ci_high"])
    if not undefined.any():
        return ""
    patients = int(summary_ci["n_patients"].iloc[0])
    if patients < 2:
        return f"CI undefined: {patients} test patient(s); an interval over patients needs 2."
    return "CI undefined: every patient and seed gives the same value, or none defines it."


QUALITY_COUNT_COLUMNS = ("n", "kid_subset", "n_copy_checked")


def classifier_steps(infos: Sequence[Path]) -> pd.DataFrame:
    """Optimizer steps each classifier took (its info.json, results/classifiers/{arm}/seed{seed}):
    equal budgets across arms are what makes the arms comparable."""
    rows = []
    for path in map(Path, infos):
        info = json.loads(path.read_text())
        rows.append(
            {
                "arm": path.parent.parent.name,
                "seed": int(info["seed"]),
                "optimizer_steps": info.get("optimizer_steps"),
            }
        )
    return pd.DataFrame(rows, columns=STEP_COLUMNS)


def quality_table(image_quality: pd.DataFrame | None) -> pd.DataFrame | None:
    """The measured rows, every column the quality rule wrote but its free text (the skipped
    feature spaces are named by quality_spaces instead) and the bootstrap columns: each value
    carries its own patient-level interval in its cell; the paired differences from the floor
    and the shift are quoted by the readings below, and all are in image_quality.tsv."""
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


def quality_spaces(image_quality: pd.DataFrame | None) -> str:
    """Which feature spaces the quality rows were measured in, and why any was skipped."""
    if image_quality is None or image_quality.empty or "feature_space" not in image_quality:
        return ""
    skipped = skipped_quality(image_quality)
    used = list(dict.fromkeys(image_quality.loc[~skipped, "feature_space"]))
    reasons = {
        space: status
        for space, status in zip(
            image_quality.loc[skipped, "feature_space"],
            image_quality.loc[skipped, "status"],
            strict=True,
        )
    }
    line = f"Feature spaces measured: {', '.join(used) or 'none'}."
    if reasons:
        line += " Not measured: " + "; ".join(f"{k} ({v})" for k, v in reasons.items()) + "."
    return line


def benchmark_costs(paths: Sequence[Path]) -> pd.DataFrame:
    """Wall and CPU seconds summed, peak RSS maxed, per rule family (the first path part under
    the last `benchmarks` folder), plus a total row. Repeated runs in one file are averaged."""
    rows = []
    for path in map(Path, paths):
        parts = path.parts
        last = len(parts) - 1 - parts[::-1].index("benchmarks") if "benchmarks" in parts else -1
        under = parts[last + 1 :]
        rule = under[0] if last >= 0 and len(under) > 1 else path.stem
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
            "p": primary["p_value"],
            f"p × {int(primary['family_size'].iloc[0])}": primary["p_adjusted"],
            "verdict": primary["verdict"],
            f"MDD ({POWER:.0%} power)": primary["mdd"],
        }
    )


def _comparison_sentence(row) -> str:
    """One comparison's conclusion, from its verdict (idc_synth.inference.decide)."""
    metric = METRIC_LABELS.get(row.metric, row.metric)
    ci = interval(row.ci_low, row.ci_high, row.note)
    numbers = (
        f"difference {signed(row.difference)}, {percent(row.decision_level)} CI {ci}, "
        f"adjusted p = {format_value(row.p_adjusted)}"
    )
    if row.verdict == UNDEFINED:
        why = str(row.note or "undefined").removeprefix("undefined: ")
        return (
            f"- **{row.comparison}: no conclusion can be drawn** ({why}; observed difference "
            f"{signed(row.difference)}, not interpretable)."
        )
    if row.verdict == DIFFERENCE:
        higher, lower = (row.arm_a, row.arm_b) if row.difference > 0 else (row.arm_b, row.arm_a)
        return (
            f"- **{row.comparison}: {higher} has the higher {metric}** than {lower}, by "
            f"{abs(row.difference):.3f} ({numbers})."
        )
    return (
        f"- **{row.comparison}: no difference shown** in {metric} ({numbers}). True "
        f"differences inside the interval cannot be ruled out; about {format_value(row.mdd)} "
        f"or more would have been detected with {POWER:.0%} power."
    )


def design_reach(primary: pd.DataFrame, calibration: pd.DataFrame | None) -> str:
    """What this design can decide, before any verdict: its size, the level each comparison
    is decided at, that the test has no resampling floor, and the smallest difference it
    detects with 80% power, simulated at this design and from this run's own variance."""
    first = primary.iloc[0]
    k = int(first["family_size"])
    patients, seeds = int(first["n_patients"]), int(first["n_seeds"])
    size = (
        f"{patients} test patients, {seeds} classifier seed(s) and {k} comparison(s) "
        f"(each decided at α/{k} = {first['alpha'] / k:.4g})"
    )
    if (primary["verdict"] == UNDEFINED).all():
        return f"**This design cannot decide**: {size}; {first['note']}."
    observed = ", ".join(
        f"{row.comparison} {format_value(row.mdd)}"
        for row in primary.itertuples()
        if row.verdict != UNDEFINED
    )
    sentence = (
        f"**What this design can decide**: {size}. The test has no resampling floor: its "
        "smallest attainable p is limited only by the data. From this run's own variance, the "
        f"difference detected with {POWER:.0%} power is about {observed}"
    )
    simulated = _simulated_reach(calibration)
    return sentence + (f"; in simulated studies at this design, {simulated}." if simulated else ".")


def _simulated_reach(calibration: pd.DataFrame | None) -> str:
    """The smallest planted difference detected with 80% power per simulated scenario."""
    if calibration is None or calibration.empty:
        return ""
    primary = calibration[calibration["read"] == "primary"]
    reach = simulated_mdd(primary)
    largest = primary["true_difference"].max()
    parts = [
        f"{format_value(value)} ({scenario} variance)"
        if not is_missing(value)
        else f"more than {format_value(largest)} ({scenario} variance)"
        for (scenario, *_), value in reach.items()
    ]
    return f"{', '.join(parts)} (`results/metrics/calibration_simulation.tsv`)"


def conclusion(
    primary: pd.DataFrame, calibration: pd.DataFrame | None = None, data_source: str = "folder"
) -> str:
    """The conclusion: what the design can decide, then the primary family's verdicts, one
    sentence per comparison, then the caveats."""
    if primary.empty:
        lines = [
            "Only one arm was evaluated, so there is nothing to compare: no conclusion about "
            "synthetic data can be drawn."
        ]
    else:
        first = primary.iloc[0]
        metric = METRIC_LABELS.get(first["metric"], first["metric"])
        verdicts = primary["verdict"]
        if (verdicts == UNDEFINED).all():
            headline = "**No conclusion can be drawn** from this run"
        elif (verdicts == DIFFERENCE).any():
            shown = int((verdicts == DIFFERENCE).sum())
            headline = f"**{shown} of {len(primary)} comparisons show a difference**"
        else:
            headline = "**No comparison shows a difference**"
        lines = [
            design_reach(primary, calibration),
            "",
            f"{headline}. Primary endpoint: {metric} on the test split, seed-averaged, "
            f"{family_description(primary)}, Bonferroni over the "
            f"{int(first['family_size'])} comparison(s) at family-wise α = "
            f"{first['alpha']:g}; each verdict and its interval come from the same test.",
            "",
            *(_comparison_sentence(row) for row in primary.itertuples()),
            *realization_caveat(primary),
        ]
    if data_source == "demo":
        lines += [
            "",
            "**Demo caveat:** these numbers come from the procedurally generated demo data "
            "(`data.source: demo`), a pipeline check: they show that the workflow runs end to "
            "end and say nothing about whether synthetic patches help on real histology.",
        ]
    return "\n".join(lines).strip() + "\n"


def family_description(primary: pd.DataFrame) -> str:
    """What the primary family compares, from its rows: generators vs the baseline, vs the
    classic augmentation arm chosen on val, combined arms vs their classic augmentation."""
    kinds = [
        (Arm.parse(a).kind, Arm.parse(b).kind, b)
        for a, b in zip(primary["arm_a"], primary["arm_b"], strict=True)
    ]
    parts = []
    if ("generator", "baseline", BASELINE) in kinds:
        parts.append("each generator vs the baseline")
    best = [b for a, kind, b in kinds if a == "generator" and kind == "classic"]
    if best:
        parts.append(
            f"each generator vs {best[0]}, the classic augmentation arm with the best val "
            "score (chosen on val, so no test data is spent on the choice)"
        )
    if any(a == "combined" for a, _, _ in kinds):
        parts.append("each generator on top of a classic augmentation vs that augmentation alone")
    return "; ".join(parts) or "the generators against each other"


def realization_caveat(primary: pd.DataFrame) -> list[str]:
    """Which verdicts rest on one trained generator: every seed's classifier trained on patches
    of that one training run, so the test's seed variance holds none of the generator's."""
    single = primary[(primary["generator_realizations"] == 1) & (primary["n_seeds"] > 1)]
    if single.empty:
        return []
    names = [f"{arm}'s" for arm in dict.fromkeys(single["arm_a"])]
    arms = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    verdicts = "verdicts rest" if len(names) > 1 else "verdict rests"
    return [
        "",
        f"**One generator realization:** {arms} {verdicts} on one trained generator (per "
        "class): every seed's classifier trained on its patches, so a verdict holds for that "
        "training run, and another run of the generator's training could differ. "
        "`synthetic.generator_realizations: per_draw` trains one generator per draw (seed + "
        "draw) and puts their training variance into the test.",
    ]


def methods(calibration: pd.DataFrame | None, alpha: float) -> str:
    """The methods paragraph, with the calibration simulation at this design."""
    text = [
        "The unit of inference is the test patient; classifier seeds (and the synthetic draws "
        "nested in them) are replicates of training, crossed with the patients (every seed's "
        "model predicts every patient). Each score is pooled over a patient's patches as the "
        "field reports it; each comparison's effect is the seed-averaged difference. Every "
        "score is recomputed without each test patient in turn, and its jackknife "
        "pseudovalues (Dorfman, Berbaum & Metz 1992; Hillis et al. 2005) enter a crossed "
        "seed × patient random-effects model, pooled over the arms as a multi-reader "
        "multi-case analysis pools its modalities (Hillis 2007). The p-value is the "
        "generalized p-value of that model's mean (Tsui & Weerahandi 1989), exact Student t "
        "where one variance component dominates and conservative where several do; it has "
        "no resampling floor. The primary family is each generator vs the baseline and vs "
        "the best classic augmentation arm (stain jitter, class rebalancing or mixup, "
        "whichever scores best on val), and each generator on top of a classic augmentation "
        f"vs that augmentation, Bonferroni-corrected at family-wise α = {alpha:g}; each "
        "decision interval is the same test inverted at α/k, so a verdict and its interval "
        "cannot disagree. Generator vs generator, classic arms vs the baseline and every other "
        "metric are secondary: effects and unadjusted intervals, no decision. The per-seed "
        "McNemar tests are clustered by patient (Durkalski et al. 2003) and descriptive.",
    ]
    if calibration is not None and not calibration.empty:
        first = calibration.iloc[0]
        studies = int(first["n_studies"])
        null = calibration[calibration["true_difference"] == 0]
        tolerance = 3 * math.sqrt(alpha * (1 - alpha) / studies)
        wide = null.pivot_table(index="scenario", columns="read", values="rejection_rate")
        power = calibration[
            (calibration["read"] == "primary") & (calibration["true_difference"] > 0)
        ].pivot_table(index="scenario", columns="true_difference", values="rejection_rate")
        power.columns = [f"power at +{value:g}" for value in power.columns]
        table = wide.rename(columns=lambda read: f"false positives: {read}").join(power)
        text += [
            "",
            f"**Calibration at this design** (`results/metrics/calibration_simulation.tsv`, "
            f"{studies} simulated studies per cell, {int(first['n_patients'])} test patients, "
            f"{int(first['n_seeds'])} seeds, {int(first['family_size'])} comparison(s); "
            "scenarios: demo-like variance, full-scale-like unequal patch counts and skewed "
            "prevalence with heavy-tailed arm effects, seed-dominated variance): family-wise "
            f"false-positive rate of each decision with no true difference (α = {alpha:g}, "
            f"Monte Carlo allowance {tolerance:.3f}) and the primary decision's power at "
            "planted differences in balanced accuracy.",
            "",
            markdown_table(table.reset_index()),
        ]
    return "\n".join(text) + "\n"


def secondary_table(tests: pd.DataFrame) -> pd.DataFrame:
    rows = tests[tests["role"] == "secondary"]
    return pd.DataFrame(
        {
            "comparison": rows["comparison"],
            "metric": [METRIC_LABELS.get(metric, metric) for metric in rows["metric"]],
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
        if arm == "baseline":
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
    baseline = summary_ci[summary_ci["arm"] == "baseline"].set_index("metric")["mean"]
    if len(baseline):
        rows.append(
            {
                "arm": "baseline",
                "trained on": "real (reference)",
                "seeds": int(summary_ci.loc[summary_ci["arm"] == "baseline", "n_seeds"].iloc[0]),
                "ROC AUC": baseline.get("roc_auc", math.nan),
                "balanced accuracy": baseline.get("balanced_accuracy", math.nan),
                "note": "",
            }
        )
    return pd.DataFrame(rows)


def build_summary(
    *,
    summary_ci: pd.DataFrame,
    tests: pd.DataFrame,
    primary: pd.DataFrame,
    variance: pd.DataFrame | None,
    calibration: pd.DataFrame | None,
    tstr: pd.DataFrame | None,
    image_quality: pd.DataFrame | None,
    costs: pd.DataFrame,
    alpha: float,
    data_source: str,
    arms: Sequence[str] | None = None,
    patient_spread: pd.DataFrame | None = None,
    probability_calibration: pd.DataFrame | None = None,
    robustness: pd.DataFrame | None = None,
    steps: pd.DataFrame | None = None,
    efficiency: pd.DataFrame | None = None,
    efficiency_contrasts: pd.DataFrame | None = None,
    efficiency_equivalents: pd.DataFrame | None = None,
    memorization: pd.DataFrame | None = None,
    split_info: dict | None = None,
) -> str:
    level = percent(summary_ci["confidence_level"].iloc[0]) if len(summary_ci) else "–"
    arms = list(arms) if arms is not None else list(dict.fromkeys(summary_ci["arm"]))
    patients = int(summary_ci["n_patients"].iloc[0]) if len(summary_ci) else 0
    quality = quality_table(image_quality)
    tstr_rows = tstr_table(tstr, summary_ci)
    sections = [
        "# IDC-Synth: summary",
        "",
        f"Arms: {', '.join(arms)}. Metrics on the held-out test split ({patients} test "
        f"patient(s), patient-level split), mean over training seeds with the {level} "
        "interval of that mean over patients and seeds (unadjusted).",
        "",
        markdown_table(headline_table(summary_ci)),
        "",
        _undefined_note(summary_ci),
        "",
        *split_section(split_info, summary_ci),
        "## Primary endpoint",
        "",
        markdown_table(primary_table(primary)) if not primary.empty else "_(no comparison)_",
        "",
        "## Conclusion",
        "",
        conclusion(primary, calibration, data_source),
        "## Methods",
        "",
        methods(calibration, alpha),
        "## Secondary metrics",
        "",
        f"Secondary: effects (A − B, seed-averaged) and their unadjusted {level} intervals; no "
        "p-values and no decision.",
        "",
        markdown_table(secondary_table(tests)),
        "",
        "## Variance components",
        "",
        "Of each comparison's difference in the primary metric (`results/metrics/variance.tsv`): "
        "`variance` per seed, per patient and per seed × patient cell, `variance_of_mean` its "
        "part of the variance of the seed-averaged difference and `share` that part's share. A "
        "large seed share is narrowed by more classifier seeds, a large patient share by more "
        "test patients.",
        "",
        markdown_table(variance, digits=5) if variance is not None else "_(not computed)_",
        "",
        "## Train on synthetic, test on real",
        "",
        "Classifiers trained on one generator's patches only, tested on the real test split, "
        "next to the real-trained baseline. Caveat: their epoch and decision threshold are "
        "chosen on the real validation split, so threshold metrics borrow real data; ROC AUC "
        "(threshold-free) is the headline. Few seeds, no test: descriptive only.",
        "",
        markdown_table(tstr_rows) if tstr_rows is not None else "_Not run._",
        "",
        "## Clustered McNemar (descriptive)",
        "",
        "Per seed, Durkalski's McNemar for patches clustered in patients; descriptive only, "
        "it decides nothing.",
        "",
        markdown_table(descriptive_table(tests)),
        "",
        "## Image quality",
        "",
        quality_spaces(image_quality),
        "Each value with its patient-level bootstrap interval (train and val patients "
        "resampled whole); spectral distance and spike ratio on the pixel rows.",
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
        "Optimizer steps per classifier (its `info.json`):",
        "",
        markdown_table(steps) if steps is not None else "_(not recorded)_",
        "",
        *generalization_section(patient_spread),
        *calibration_section(probability_calibration),
        *robustness_section(robustness),
        *efficiency_section(efficiency, efficiency_contrasts, efficiency_equivalents),
        *discussion_section(
            arms_of_kind(arms, "generator"),
            primary=primary,
            image_quality=image_quality,
            tstr=tstr,
            costs=costs,
            robustness=robustness,
            probability_calibration=probability_calibration,
            efficiency_contrasts=efficiency_contrasts,
            memorization=memorization,
        ),
    ]
    return "\n".join(sections)


def spread_reading(row: dict) -> str:
    """'narrows' / 'widens' only on a verdict of difference; else what the verdict says."""
    if row["verdict"] == DIFFERENCE:
        return "widens" if row["spread_difference"] > 0 else "narrows"
    if row["verdict"] == NO_DIFFERENCE:
        return "is not shown to change"
    return "has an undefined effect on"


def generalization_section(spread: pd.DataFrame | None) -> list[str]:
    """Worst and median test patient per arm, and whether each generator narrows or widens the
    spread over patients (results/metrics/patient_spread.tsv)."""
    lines = ["## Generalization across test patients", ""]
    if spread is None or spread.empty:
        return [*lines, "_Not computed._", ""]
    spread = spread.fillna({"comparison": "", "note": "", "worst_patient": ""})
    metric = METRIC_LABELS.get(spread["metric"].iloc[0], spread["metric"].iloc[0])
    arms = spread[spread["comparison"] == ""]
    table = pd.DataFrame(
        {
            "arm": arms["arm"],
            "patients": arms["n_patients"],
            "worst patient": arms["worst_patient"].astype(str),
            f"worst {metric}": arms["worst"],
            f"median {metric}": arms["median"],
            "SD over patients": arms["spread_sd"],
        }
    )
    lines += [
        f"The primary metric ({metric}) per test patient (`results/metrics/per_patient.tsv`; "
        "patients with one class have none and are left out); worst and median of the "
        "seed-averaged values. Spread = SD over patients per seed, averaged over seeds. Each "
        "generator vs the baseline, and each combined arm vs its classic augmentation, is "
        "decided as the primary endpoint is (its own family, Bonferroni over those "
        "comparisons, the interval the inverted test).",
        "",
        markdown_table(table),
        "",
    ]
    for row in spread[spread["comparison"] != ""].to_dict("records"):
        lines.append(
            f"- {row['comparison']}: SD difference {signed(row['spread_difference'])}, "
            f"{percent(row['decision_level'])} CI "
            f"{interval(row['ci_low'], row['ci_high'], row['note'])}: {row['arm']} "
            f"{spread_reading(row)} the spread over patients ({row['verdict']})."
        )
    return [*lines, ""]


def calibration_section(calibration: pd.DataFrame | None) -> list[str]:
    """Brier score and ECE per arm, mean over seeds with its interval over patients and seeds
    (results/metrics/probability_calibration.tsv)."""
    lines = ["## Calibration", ""]
    if calibration is None or calibration.empty:
        return [*lines, "_Not computed._", ""]
    level = percent(calibration["confidence_level"].iloc[0])
    means = calibration[calibration["seed"].astype(str) == "mean"]
    means = means.fillna({"note": ""})
    binning = means.loc[means["metric"] == "ece", "binning"].iloc[0]
    rows = []
    for arm, group in means.groupby("arm", sort=False):
        cells = {"arm": arm}
        for record in group.to_dict("records"):
            name = {"brier": "Brier", "ece": "ECE"}[record["metric"]]
            cells[name] = f"{format_value(record['value'])} " + interval(
                record["ci_low"], record["ci_high"], str(record["note"])
            )
        rows.append(cells)
    lines += [
        f"Mean over seeds with the unadjusted {level} interval over patients and seeds; lower "
        f"is better. ECE: {binning}, |IDC share − mean probability| weighted by the bin's "
        "share of patches. Reliability diagrams: `figures/reliability`. Secondary: synthetic "
        "data may change calibration while accuracy stays put.",
        "",
        markdown_table(pd.DataFrame(rows)),
        "",
    ]
    return lines


def robustness_section(robustness: pd.DataFrame | None) -> list[str]:
    """Per perturbation at its strongest strength: each arm's primary metric and degradation,
    and each generator's difference in degradation vs the baseline with its verdict (the
    declared family); weaker strengths are in the table only (results/metrics/robustness.tsv)."""
    lines = ["## Robustness to stain and acquisition shift", ""]
    if robustness is None or robustness.empty:
        return [*lines, "_Not run (no `robustness.perturbations` strengths)._", ""]
    robustness = robustness.fillna({"comparison": "", "note": "", "verdict": "", "role": ""})
    metric = METRIC_LABELS.get(robustness["metric"].iloc[0], robustness["metric"].iloc[0])
    level = percent(robustness["confidence_level"].iloc[0])
    decisions = robustness[robustness["role"] == "decision"]
    strongest = decisions[["perturbation", "strength"]].drop_duplicates()
    rows = robustness.merge(strongest, on=["perturbation", "strength"])
    table = pd.DataFrame(
        {
            "perturbation": rows["perturbation"],
            "strength": rows["strength"].map(lambda value: f"{value:g}"),
            "arm": rows["arm"],
            metric: [
                f"{format_value(r['mean'])} {interval(r['ci_low'], r['ci_high'])}"
                for r in rows.to_dict("records")
            ],
            "degradation": [
                f"{signed(r['degradation'])} "
                + interval(r["degradation_ci_low"], r["degradation_ci_high"])
                for r in rows.to_dict("records")
            ],
        }
    )
    lines += [
        f"The primary metric ({metric}) on the test patches perturbed in memory, at each "
        "perturbation's strongest configured strength (all strengths: "
        "`results/metrics/robustness.tsv`, `figures/robustness`); degradation = perturbed − "
        f"clean, paired by patient and seed, unadjusted {level} intervals.",
        "",
        markdown_table(table),
        "",
        "Difference in degradation vs the baseline (positive: the arm loses less), decided for "
        "every generator at every perturbation's strongest strength, Bonferroni over "
        f"{len(decisions)} comparison(s); the interval is the inverted test:",
        "",
    ]
    for r in decisions.to_dict("records"):
        lines.append(
            f"- {r['perturbation']} {r['strength']:g}, {r['comparison']}: "
            f"{signed(r['degradation_difference'])}, {percent(r['difference_ci_level'])} CI "
            f"{interval(r['difference_ci_low'], r['difference_ci_high'], r['note'])}, "
            f"adjusted p {format_value(r['p_adjusted'])}: {r['verdict']}."
        )
    return [*lines, ""]
