"""Rule score_calibration: Brier score and ECE per arm and seed with patient-bootstrap
intervals (see idc_synth.generalization)."""

from pathlib import Path

from idc_synth.generalization import calibration_table
from idc_synth.runtime import read_parquets, rule_logging, write_tsv
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
        predictions = read_parquets(prediction_paths, logger)
        write_tsv(table, calibration_table(predictions, n_bins, settings), logger)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        prediction_paths=[Path(path) for path in sm.input.predictions],
        table=Path(sm.output.table),
        n_bins=int(sm.params.ece_bins),
        settings=Settings.from_params(sm.params),
        log=Path(sm.log[0]),
    )
