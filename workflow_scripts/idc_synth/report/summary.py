"""results/summary.md: read the study's tables, build the template's context (the summary's
tables and the readings), render summary.md.j2. Every sentence is in the template; every
number and decision comes from a table."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import pandas as pd

from idc_synth.arms import arms_of_kind
from idc_synth.inference import POWER
from idc_synth.presets import SPLITS
from idc_synth.report import readings, tables
from idc_synth.report.format import (
    format_value,
    interval,
    is_missing,
    markdown_table,
    p_value,
    percent,
    signed,
)

TEMPLATE = Path(__file__).with_name("summary.md.j2")
# Where each reading's source table lives (Reading.source -> path the summary cites).
SOURCES = {
    name: f"results/metrics/{name}.tsv"
    for name in (
        "primary",
        "image_quality",
        "memorization",
        "tstr",
        "cost",
        "robustness",
        "probability_calibration",
        "efficiency_contrasts",
    )
}
HEADINGS = {
    readings.ADVANTAGE: "Advantages",
    readings.LIMITATION: "Limitations",
    readings.NEUTRAL: "Neither shown (no difference, secondary or descriptive)",
    readings.NOT_MEASURED: "Not measured or not decidable",
}
# Text columns that pandas would otherwise parse as numbers or leave as NaN.
TEXT_COLUMNS = {"seed": str, "label": str, "worst_patient": str, "patient": str, "note": str}


def read_tables(paths: Mapping[str, Path | None]) -> dict[str, pd.DataFrame | None]:
    """The study's TSV tables by name (None where a table was not produced)."""
    frames = {
        name: pd.read_csv(path, sep="\t", dtype=TEXT_COLUMNS) if path is not None else None
        for name, path in paths.items()
    }
    for name in ("tests", "primary"):
        frames[name]["note"] = frames[name]["note"].fillna("")
    return frames


def _metric(frame: pd.DataFrame) -> str:
    return tables.metric_label(frame["metric"].iloc[0])


def _design_simulation(calibration: pd.DataFrame | None, alpha: float) -> dict | None:
    if calibration is None or calibration.empty:
        return None
    first = calibration.iloc[0]
    studies = int(first["n_studies"])
    return {
        "studies": studies,
        "patients": int(first["n_patients"]),
        "seeds": int(first["n_seeds"]),
        "family_size": int(first["family_size"]),
        "tolerance": 3 * math.sqrt(alpha * (1 - alpha) / studies),
        "table": tables.design_calibration_table(calibration),
    }


def _spread(spread: pd.DataFrame | None) -> dict | None:
    if spread is None or spread.empty:
        return None
    spread = spread.fillna({"comparison": "", "note": "", "worst_patient": ""})
    compared = spread[spread["comparison"] != ""].to_dict("records")
    return {
        "metric": _metric(spread),
        "table": tables.spread_table(spread, _metric(spread)),
        "comparisons": [row | {"change": readings.spread_change(row)} for row in compared],
    }


def _probability_calibration(calibration: pd.DataFrame | None) -> dict | None:
    if calibration is None or calibration.empty:
        return None
    means = calibration[calibration["seed"].astype(str) == "mean"]
    return {
        "level": percent(calibration["confidence_level"].iloc[0]),
        "binning": means.loc[means["metric"] == "ece", "binning"].iloc[0],
        "table": tables.probability_calibration_table(calibration),
    }


def _robustness(robustness: pd.DataFrame | None) -> dict | None:
    if robustness is None or robustness.empty:
        return None
    robustness = robustness.fillna({"comparison": "", "note": "", "verdict": "", "role": ""})
    return {
        "metric": _metric(robustness),
        "level": percent(robustness["confidence_level"].iloc[0]),
        "table": tables.robustness_table(robustness, _metric(robustness)),
        "decisions": robustness[robustness["role"] == "decision"].to_dict("records"),
    }


def _efficiency(
    efficiency: pd.DataFrame | None,
    contrasts: pd.DataFrame | None,
    equivalents: pd.DataFrame | None,
) -> dict | None:
    if efficiency is None or efficiency.empty:
        return None
    by_arm: dict[str, list[dict]] = {}
    for row in readings.contrast_rows(contrasts) if contrasts is not None else []:
        by_arm.setdefault(row["arm"], []).append(row)
    return {
        "metric": _metric(efficiency),
        "table": tables.efficiency_table(efficiency, _metric(efficiency)),
        "contrasts": by_arm,
        "equivalents": []
        if equivalents is None
        else equivalents.fillna({"note": ""}).to_dict("records"),
    }


def context(
    frames: Mapping[str, pd.DataFrame | None],
    *,
    alpha: float,
    data_source: str,
    arms: Sequence[str] | None = None,
    split_info: dict | None = None,
) -> dict:
    """Everything the template prints: the summary's tables, the readings and the scalars."""
    summary_ci, primary = frames["summary_ci"], frames["primary"]
    arms = list(arms) if arms is not None else list(dict.fromkeys(summary_ci["arm"]))
    generators = arms_of_kind(arms, "generator")
    preset = split_info.get("preset") if split_info else None
    return {
        "arms": arms,
        "patients": int(summary_ci["n_patients"].iloc[0]) if len(summary_ci) else 0,
        "level": percent(summary_ci["confidence_level"].iloc[0]) if len(summary_ci) else "–",
        "alpha": alpha,
        "data_source": data_source,
        "headline_table": tables.headline_table(summary_ci),
        "headline_undefined": readings.headline_undefined(summary_ci),
        "split": split_info,
        "shortfalls": readings.split_shortfalls(split_info),
        "split_names": SPLITS,
        "published": tables.published_table(preset, summary_ci) if preset else None,
        "primary_table": tables.primary_table(primary) if len(primary) else None,
        "design": None
        if primary.empty
        else readings.design(primary, frames.get("calibration"))
        | {"metric": primary["metric"].iloc[0]},
        "headline": readings.headline(primary),
        "family": readings.family(primary) if len(primary) else None,
        "comparisons": readings.comparison_readings(primary),
        "single_realization": readings.single_realization_arms(primary),
        "simulation": _design_simulation(frames.get("calibration"), alpha),
        "secondary_table": tables.secondary_table(frames["tests"]),
        "descriptive_table": tables.descriptive_table(frames["tests"]),
        "variance": frames.get("variance"),
        "tstr_table": tables.tstr_table(frames.get("tstr"), summary_ci),
        "quality_spaces": tables.quality_spaces(frames.get("image_quality")),
        "quality_table": tables.quality_table(frames.get("image_quality")),
        "costs": frames["costs"],
        "steps": frames.get("steps"),
        "spread": _spread(frames.get("patient_spread")),
        "probability_calibration": _probability_calibration(frames.get("probability_calibration")),
        "robustness": _robustness(frames.get("robustness")),
        "efficiency": _efficiency(
            frames.get("efficiency"),
            frames.get("efficiency_contrasts"),
            frames.get("efficiency_equivalents"),
        ),
        "discussion": {
            arm: readings.generator_readings(arm, generators, frames) for arm in generators
        },
        "headings": HEADINGS,
        "sources": SOURCES,
        "cost_margin": readings.COST_MARGIN,
        "power": POWER,
        "calibration_names": {"brier": "Brier", "ece": "ECE"},
    }


def environment() -> jinja2.Environment:
    """The template's environment: Markdown out (no HTML escaping), block tags on lines of
    their own leave no blank lines, and the number formats of idc_synth.report.format."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters |= {
        "fmt": format_value,
        "signed": signed,
        "pvalue": p_value,
        "percent": percent,
        "num": lambda value, spec: format(value, spec),
        "metric": tables.metric_label,
        "table": lambda frame, digits=3: markdown_table(frame, digits),
        "strip": lambda text, prefix: str(text).removeprefix(prefix),
    }
    env.tests["missing"] = is_missing
    env.globals["interval"] = interval
    return env


def render(values: Mapping) -> str:
    """The template rendered, ending in exactly one newline."""
    text = environment().get_template(TEMPLATE.name).render(**values)
    return text.rstrip("\n") + "\n"


def build_summary(
    frames: Mapping[str, pd.DataFrame | None],
    *,
    alpha: float,
    data_source: str,
    arms: Sequence[str] | None = None,
    split_info: dict | None = None,
) -> str:
    """The summary's Markdown: tables -> context -> template."""
    values = context(frames, alpha=alpha, data_source=data_source, arms=arms, split_info=split_info)
    return render(values)


def read_split_info(path: Path | None) -> dict | None:
    return json.loads(Path(path).read_text()) if path is not None else None
