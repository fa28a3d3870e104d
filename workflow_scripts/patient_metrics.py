"""Rule patient_metrics: per-test-patient metrics of every arm and seed, and the spread of the
primary metric over patients (see idc_synth.generalization)."""

from pathlib import Path

import pandas as pd

from idc_synth.generalization import patient_spread, per_patient_metrics
from idc_synth.runtime import rule_logging
from idc_synth.statistics import Settings


def main(
    *,
    prediction_paths: list[Path],
    per_patient: Path,
    spread: Path,
    settings: Settings,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        predictions = pd.concat(
            [pd.read_parquet(path) for path in prediction_paths], ignore_index=True
        )
        logger.info("read %d prediction files (%d rows)", len(prediction_paths), len(predictions))
        table = per_patient_metrics(predictions)
        spread_table = patient_spread(table, settings)
        for path, frame in ((per_patient, table), (spread, spread_table)):
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(path, sep="\t", index=False)
            logger.info("wrote %s (%d rows)", path, len(frame))
        logger.info("spread:\n%s", spread_table.to_string())


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        prediction_paths=[Path(path) for path in sm.input.predictions],
        per_patient=Path(sm.output.per_patient),
        spread=Path(sm.output.spread),
        settings=Settings(
            bootstrap_samples=int(sm.params.bootstrap_samples),
            bootstrap_seed=int(sm.params.bootstrap_seed),
            confidence_level=float(sm.params.confidence_level),
            alpha=float(sm.params.alpha),
            primary_metric=str(sm.params.primary_metric),
        ),
        log=Path(sm.log[0]),
    )
