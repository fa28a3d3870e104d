"""Rule patient_metrics: per-test-patient metrics of every arm and seed, and the spread of the
primary metric over patients (see idc_synth.generalization)."""

from pathlib import Path

from idc_synth.generalization import patient_spread, per_patient_metrics
from idc_synth.runtime import read_parquets, rule_logging, write_tsv
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
        table = per_patient_metrics(read_parquets(prediction_paths, logger))
        write_tsv(per_patient, table, logger)
        write_tsv(spread, patient_spread(table, settings), logger)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        prediction_paths=[Path(path) for path in sm.input.predictions],
        per_patient=Path(sm.output.per_patient),
        spread=Path(sm.output.spread),
        settings=Settings.from_params(sm.params),
        log=Path(sm.log[0]),
    )
