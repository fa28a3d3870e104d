"""Rule write_summary: results/summary.md from the statistics, quality and cost tables, and its
HTML rendering, the HTML report's front page (report/workflow.rst)."""

import json
from pathlib import Path

import pandas as pd

from idc_synth.report_format import markdown_html
from idc_synth.runtime import rule_logging
from idc_synth.summary import build_summary


def _read(path: Path | None, **options) -> pd.DataFrame | None:
    return pd.read_csv(path, sep="\t", **options) if path is not None else None


def main(
    *,
    tables: dict[str, Path | None],
    costs: Path,
    steps: Path,
    summary_path: Path,
    html_path: Path,
    alpha: float,
    data_source: str,
    arms: list[str],
    log: Path | None,
    split_info: Path | None = None,
) -> None:
    """`tables`: summary_ci, tests, primary, variance, calibration, tstr, image_quality,
    memorization, patient_spread, probability_calibration, robustness, efficiency,
    efficiency_contrasts and efficiency_equivalents paths (None when not run)."""
    with rule_logging(log) as logger:
        frames = {
            name: _read(
                path,
                dtype={
                    "seed": str,
                    "label": str,
                    "worst_patient": str,
                    "patient": str,
                    "note": str,
                },
                keep_default_na=True,
            )
            for name, path in tables.items()
        }
        for name, path in tables.items():
            logger.info("read %s: %s", name, path)
        frames["tests"]["note"] = frames["tests"]["note"].fillna("")
        frames["primary"]["note"] = frames["primary"]["note"].fillna("")
        logger.info("read %s, %s and %s", costs, steps, split_info)
        text = build_summary(
            **frames,
            costs=pd.read_csv(costs, sep="\t"),
            steps=pd.read_csv(steps, sep="\t"),
            split_info=json.loads(split_info.read_text()) if split_info else None,
            alpha=alpha,
            data_source=data_source,
            arms=arms,
        )
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(text)
        html_path.write_text(markdown_html(text))
        logger.info("wrote %s and %s:\n%s", summary_path, html_path, text)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    names = (
        "summary_ci",
        "tests",
        "primary",
        "variance",
        "calibration",
        "tstr",
        "image_quality",
        "memorization",
        "patient_spread",
        "probability_calibration",
        "robustness",
        "efficiency",  # these three only when the data-efficiency sweep runs
        "efficiency_contrasts",
        "efficiency_equivalents",
    )
    main(
        tables={
            name: Path(getattr(sm.input, name)) if getattr(sm.input, name, None) else None
            for name in names
        },
        costs=Path(sm.input.costs),
        steps=Path(sm.input.steps),
        split_info=Path(sm.input.split_info),
        summary_path=Path(sm.output.summary),
        html_path=Path(sm.output.html),
        alpha=float(sm.params.alpha),
        data_source=str(sm.params.data_source),
        arms=list(sm.params.arms),
        log=Path(sm.log[0]),
    )
