"""Rule cost_table: the cost per rule family from the DAG's benchmark files, and the optimizer
steps each classifier took."""

from pathlib import Path

from idc_synth.report.costs import benchmark_costs, classifier_steps
from idc_synth.runtime import rule_logging


def main(
    *,
    benchmarks: list[Path],
    pool_benchmarks: list[Path],
    infos: list[Path],
    costs: Path,
    steps: Path,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        table = benchmark_costs(benchmarks, pool_benchmarks)
        logger.info(
            "read %d benchmark files (%d of selection pools): %d rule families",
            len(benchmarks) + len(pool_benchmarks),
            len(pool_benchmarks),
            len(table) - 1,
        )
        steps_table = classifier_steps(infos)
        logger.info("read %d classifier info.json files", len(infos))
        costs.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(costs, sep="\t", index=False)
        steps_table.to_csv(steps, sep="\t", index=False)
        logger.info("wrote %s, %s", costs, steps)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        benchmarks=[Path(path) for path in sm.input.benchmarks],
        pool_benchmarks=[Path(path) for path in sm.input.get("pool_benchmarks", [])],
        infos=[Path(path) for path in sm.input.infos],
        costs=Path(sm.output.costs),
        steps=Path(sm.output.steps),
        log=Path(sm.log[0]),
    )
