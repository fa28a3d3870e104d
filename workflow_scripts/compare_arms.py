"""Rule compare_arms: every table read from the clean test predictions, in one job (each alone
would not pay for its Python start and its read of the predictions): the primary comparison,
secondary effects, per-arm intervals and variance components (idc_synth.statistics);
per-test-patient metrics and their spread, and probability calibration (idc_synth.generalization).
"""

import json
from pathlib import Path

from idc_synth.generalization import calibration_table, patient_spread, per_patient_metrics
from idc_synth.runtime import read_parquets, rule_logging, write_tsv
from idc_synth.statistics import Settings, StudyPredictions, best_classic_arm, compare_arms

COMPARISON_TABLES = ("tests", "summary_ci", "primary", "variance")
TABLES = (*COMPARISON_TABLES, "per_patient", "patient_spread", "probability_calibration")


def main(
    *,
    prediction_paths: list[Path],
    classic_infos: dict[str, list[Path]],
    outputs: dict[str, Path],
    settings: Settings,
    ece_bins: int,
    log: Path | None,
) -> None:
    """`outputs` maps each of TABLES to its TSV path; `classic_infos`: the info.json of every
    seed of each classic augmentation arm (their val scores choose the one the generators are
    compared with); `ece_bins`: equal-width bins of the ECE."""
    with rule_logging(log) as logger:
        study = StudyPredictions(read_parquets(prediction_paths, logger))
        logger.info("settings: %s", settings)
        val_scores = {
            arm: [
                json.loads(path.read_text())["val_scores"][settings.primary_metric]
                for path in paths
            ]
            for arm, paths in classic_infos.items()
        }
        best_classic = best_classic_arm(val_scores)
        logger.info(
            "val %s of the classic arms: %s; compared with: %s",
            settings.primary_metric,
            val_scores,
            best_classic,
        )
        result = compare_arms(study, settings, best_classic)
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
        classic_infos={
            arm: [Path(path) for path in paths] for arm, paths in sm.params.classic_infos.items()
        },
        outputs={name: Path(getattr(sm.output, name)) for name in TABLES},
        settings=Settings.from_params(sm.params),
        ece_bins=int(sm.params.ece_bins),
        log=Path(sm.log[0]),
    )
