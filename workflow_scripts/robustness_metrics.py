"""Rule robustness_metrics: the primary metric under each perturbation and strength, its
degradation and the difference in degradation vs the baseline (see idc_synth.robustness)."""

from pathlib import Path

import pandas as pd

from idc_synth.robustness import robustness_table
from idc_synth.runtime import rule_logging
from idc_synth.statistics import Settings


def main(
    *,
    clean_paths: list[Path],
    perturbed_paths: list[Path],
    table: Path,
    settings: Settings,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        clean = pd.concat([pd.read_parquet(path) for path in clean_paths], ignore_index=True)
        perturbed = pd.concat(
            [pd.read_parquet(path) for path in perturbed_paths], ignore_index=True
        )
        logger.info(
            "read %d clean and %d perturbed prediction files",
            len(clean_paths),
            len(perturbed_paths),
        )
        result = robustness_table(clean, perturbed, settings)
        table.parent.mkdir(parents=True, exist_ok=True)
        result.to_csv(table, sep="\t", index=False)
        logger.info("wrote %s (%d rows):\n%s", table, len(result), result.to_string())


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        clean_paths=[Path(path) for path in sm.input.clean],
        perturbed_paths=[Path(path) for path in sm.input.perturbed],
        table=Path(sm.output.table),
        settings=Settings(
            bootstrap_samples=int(sm.params.bootstrap_samples),
            bootstrap_seed=int(sm.params.bootstrap_seed),
            confidence_level=float(sm.params.confidence_level),
            alpha=float(sm.params.alpha),
            primary_metric=str(sm.params.primary_metric),
        ),
        log=Path(sm.log[0]),
    )
