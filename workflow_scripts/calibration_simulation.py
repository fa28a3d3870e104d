"""Rules calibration_simulation and plot_calibration: how often the primary test and the
per-patch McNemar test reject in simulated studies, with and without a planted effect (see
idc_synth.simulation), and the figure of that table."""

from pathlib import Path

import pandas as pd

from idc_synth.runtime import rule_logging
from idc_synth.simulation import Design, plot_rejection_rates, rejection_rates
from idc_synth.statistics import Settings


def simulate(
    *,
    table_path: Path,
    design: Design,
    effects: list[float],
    n_studies: int,
    settings: Settings,
    seed: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        logger.info("%s, effects %s, %d studies each, seed %d", design, effects, n_studies, seed)
        table = rejection_rates(design, effects, n_studies, settings, seed)
        table_path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(table_path, sep="\t", index=False)
        logger.info("wrote %s:\n%s", table_path, table.to_string())


def plot(*, table_path: Path, figure_path: Path, dpi: int, log: Path | None) -> None:
    with rule_logging(log) as logger:
        figure_path.parent.mkdir(parents=True, exist_ok=True)
        plot_rejection_rates(pd.read_csv(table_path, sep="\t"), figure_path, dpi)
        logger.info("read %s, wrote %s", table_path, figure_path)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    if sm.rule == "plot_calibration":
        plot(
            table_path=Path(sm.input.table),
            figure_path=Path(sm.output.figure),
            dpi=int(sm.params.dpi),
            log=Path(sm.log[0]),
        )
    else:
        simulate(
            table_path=Path(sm.output.table),
            design=Design(
                n_patients=int(sm.params.patients),
                patches_per_patient=int(sm.params.patches_per_patient),
                n_seeds=int(sm.params.n_seeds),
            ),
            effects=[float(effect) for effect in sm.params.effects],
            n_studies=int(sm.params.studies),
            settings=Settings.from_params(sm.params),
            seed=int(sm.params.seed),
            log=Path(sm.log[0]),
        )
