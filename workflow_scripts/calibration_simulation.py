"""Rule calibration_simulation: how often the decisions reject in simulated studies at this
run's design (its test patients, seeds and generator comparisons), with and without a planted
difference, under each variance scenario of idc_synth.simulation. Its figure is a figure family
(rule plot_calibration_simulation, idc_synth.figures)."""

from pathlib import Path

import pandas as pd

from idc_synth.runtime import rule_logging, write_tsv
from idc_synth.simulation import VARIANCE_SCENARIOS, design_grid


def simulate(
    *,
    split_path: Path,
    table_path: Path,
    n_seeds: int,
    family_size: int,
    differences: list[float],
    n_studies: int,
    alpha: float,
    seed: int,
    log: Path | None,
) -> None:
    """`split_path`: the split table, whose test patients set the simulated design;
    `family_size`: the comparisons the primary family decides, simulated as that many arms
    each compared with one reference."""
    with rule_logging(log) as logger:
        split = pd.read_parquet(split_path, columns=["split"])
        n_patients = int((split["split"] == "test").sum())
        logger.info(
            "design: %d test patients, %d seeds, %d primary comparison(s); scenarios %s; "
            "planted differences %s; %d studies each; seed %d",
            n_patients,
            n_seeds,
            family_size,
            list(VARIANCE_SCENARIOS),
            differences,
            n_studies,
            seed,
        )
        table = design_grid(
            patients=(n_patients,),
            seeds=(n_seeds,),
            differences=differences,
            n_studies=n_studies,
            alpha=alpha,
            family_size=max(1, family_size),
            scenarios=VARIANCE_SCENARIOS,
            reads=("primary", "spread", "contrast"),
            seed=seed,
        )
        write_tsv(table_path, table, logger)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    simulate(
        split_path=Path(sm.input.split),
        table_path=Path(sm.output.table),
        n_seeds=int(sm.params.n_seeds),
        family_size=int(sm.params.family_size),
        differences=[float(value) for value in sm.params.differences],
        n_studies=int(sm.params.studies),
        alpha=float(sm.params.alpha),
        seed=int(sm.params.seed),
        log=Path(sm.log[0]),
    )
