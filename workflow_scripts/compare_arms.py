"""Rule compare_arms: every table read from the clean test predictions, in one job (each alone
would not pay for its Python start and its read of the predictions): the primary comparison,
secondary effects, per-arm intervals and variance components (idc_synth.statistics);
per-test-patient metrics and their spread, and probability calibration (idc_synth.generalization).
"""

from pathlib import Path

from idc_synth.generalization import calibration_table, patient_spread, per_patient_metrics
from idc_synth.runtime import read_parquets, rule_logging, write_tsv
from idc_synth.statistics import Settings, TestPredictions, compare_arms

COMPARISON_TABLES = ("tests", "summary_ci", "primary", "variance")
TABLES = (*COMPARISON_TABLES, "per_patient", "patient_spread", "probability_calibration")


def main(
    *,
    prediction_paths: list[Path],
    outputs: dict[str, Path],
    settings: Settings,
    ece_bins: int,
    log: Path | None,
) -> None:
    """`outputs` maps each of TABLES to its TSV path; `ece_bins`: equal-width bins of the ECE."""
    with rule_logging(log) as logger:
        study = TestPredictions(read_parquets(prediction_paths, logger))
        logger.info("settings: %s", settings)
        result = compare_arms(study, settings)
        for name in COMPARISON_TABLES:
            write_tsv(outputs[name], getattr(result, name), logger)
        per_patient = per_patient_metrics(study)
        write_tsv(outputs["per_patient"], per_patient, logger)
        write_tsv(outputs["patient_spread"], patient_spread(per_patient, settings), logger)
        calibration = calibration_table(study, ece_bins, settings)
        write_tsv(outputs["probability_calibration"], calibration, logger)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        prediction_paths=[Path(path) for path in sm.input.predictions],
        outputs={name: Path(getattr(sm.output, name)) for name in TABLES},
        settings=Settings.from_params(sm.params),
        ece_bins=int(sm.params.ece_bins),
        log=Path(sm.log[0]),
    )
