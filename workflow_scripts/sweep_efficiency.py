"""Rule sweep_efficiency: the data-efficiency map, every sweep cell against its fraction's
real-only classifier, the map's declared contrasts, and each generator cell as real train
patients on the baseline's learning curve (see idc_synth.sweep)."""

from pathlib import Path

import pandas as pd

from idc_synth.runtime import rule_logging, write_tsv
from idc_synth.statistics import Settings
from idc_synth.sweep import (
    EfficiencyMap,
    efficiency_contrasts,
    efficiency_table,
    real_patient_equivalents,
)


def main(
    *,
    prediction_paths: list[Path],
    cells: list[dict],
    settings: Settings,
    table: Path,
    contrasts: Path,
    equivalents: Path,
    log: Path | None,
) -> None:
    """``cells[i]`` names the classifier whose predictions are ``prediction_paths[i]``; the
    train patient and patch counts come from each fraction's packed train table."""
    with rule_logging(log) as logger:
        logger.info("settings: %s", settings)
        predictions = [pd.read_parquet(path) for path in prediction_paths]
        logger.info("read %d prediction files", len(predictions))
        efficiency_map = EfficiencyMap(cells, predictions, settings)
        cells = efficiency_table(efficiency_map)
        write_tsv(table, cells, logger)
        write_tsv(contrasts, efficiency_contrasts(efficiency_map), logger)
        write_tsv(equivalents, real_patient_equivalents(cells), logger)


def described_cells(cells: list[dict], train_tables: list[str]) -> list[dict]:
    """Each cell with its fraction's train patient and patch counts (train_tables[i] is the
    packed train table cell i trained on)."""
    counts = {}
    for path in dict.fromkeys(train_tables):
        patients = pd.read_parquet(path, columns=["patient"])["patient"]
        counts[path] = {"train_patients": patients.nunique(), "real_train_patches": len(patients)}
    return [{**cell, **counts[path]} for cell, path in zip(cells, train_tables, strict=True)]


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        prediction_paths=[Path(path) for path in sm.input.predictions],
        cells=described_cells(list(sm.params.cells), list(sm.input.train_tables)),
        settings=Settings.from_params(sm.params),
        table=Path(sm.output.table),
        contrasts=Path(sm.output.contrasts),
        equivalents=Path(sm.output.equivalents),
        log=Path(sm.log[0]),
    )
