"""Rule score_calibration: Brier score and ECE per arm and seed with patient-bootstrap
intervals (see idc_synth.generalization)."""

from pathlib import Path

import pandas as pd

from idc_synth.generalization import calibration_table
from idc_synth.runtime import rule_logging
from idc_synth.statistics import Settings


def main(
    *,
    prediction_paths: list[Path],
    table: Path,
    n_bins: int,
    settings: Settings,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        predictions = pd.concat(
            [pd.read_parquet(path) for path in prediction_paths], ignore_index=True
        )
        logger.info("read %d prediction files (%d rows)", len(prediction_paths), len(predictions))
        result = calibration_table(predictions, n_bins, settings)
        table.parent.mkdir(parents=True, exist_ok=True)
        result.to_csv(table, sep="\t", index=False)
        logger.info("wrote %s (%d rows):\n%s", table, len(result), result.to_string())


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        prediction_paths=[Path(path) for path in sm.input.predictions],
        table=Path(sm.output.table),
        n_bins=int(sm.params.ece_bins),
        settings=Settings(
            bootstrap_samples=int(sm.params.bootstrap_samples),
            bootstrap_seed=int(sm.params.bootstrap_seed),
            confidence_level=float(sm.params.confidence_level),
        ),
        log=Path(sm.log[0]),
    )
