"""Rule write_summary: results/summary.md from the metric, test, quality and benchmark tables."""

from pathlib import Path

import pandas as pd

from idc_synth.runtime import rule_logging
from idc_synth.summary import benchmark_costs, build_summary


def main(
    *,
    summary_ci_path: Path,
    tests_path: Path,
    image_quality_path: Path | None,
    benchmark_dir: Path,
    summary_path: Path,
    alpha: float,
    data_source: str,
    arms: list[str],
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        summary_ci = pd.read_csv(summary_ci_path, sep="\t")
        tests = pd.read_csv(tests_path, sep="\t", dtype={"seed": str}, keep_default_na=True)
        tests["note"] = tests["note"].fillna("")
        image_quality = (
            pd.read_csv(image_quality_path, sep="\t", dtype={"label": str})
            if image_quality_path is not None
            else None
        )
        costs = benchmark_costs(benchmark_dir)
        logger.info("benchmarks under %s: %d rule families", benchmark_dir, len(costs))
        text = build_summary(
            summary_ci=summary_ci,
            tests=tests,
            image_quality=image_quality,
            costs=costs,
            alpha=alpha,
            data_source=data_source,
            arms=arms,
        )
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(text)
        logger.info("wrote %s:\n%s", summary_path, text)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        summary_ci_path=Path(sm.input.summary_ci),
        tests_path=Path(sm.input.tests),
        image_quality_path=(
            Path(sm.input.image_quality) if getattr(sm.input, "image_quality", None) else None
        ),
        benchmark_dir=Path(sm.params.benchmarks),
        summary_path=Path(sm.output.summary),
        alpha=float(sm.params.alpha),
        data_source=str(sm.params.data_source),
        arms=list(sm.params.arms),
        log=Path(sm.log[0]),
    )
