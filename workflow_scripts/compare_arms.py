"""Rule compare_arms: paired tests between arms and bootstrap CIs (see idc_synth.statistics)."""

from pathlib import Path

import pandas as pd

from idc_synth.runtime import rule_logging
from idc_synth.statistics import Settings, compare_arms


def main(
    *,
    prediction_paths: list[Path],
    tests_path: Path,
    summary_path: Path,
    settings: Settings,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        predictions = pd.concat(
            [pd.read_parquet(path) for path in prediction_paths], ignore_index=True
        )
        logger.info("read %d prediction files (%d rows)", len(prediction_paths), len(predictions))
        logger.info("settings: %s", settings)
        tests, summary = compare_arms(predictions, settings)
        for path in (tests_path, summary_path):
            path.parent.mkdir(parents=True, exist_ok=True)
        tests.to_csv(tests_path, sep="\t", index=False)
        summary.to_csv(summary_path, sep="\t", index=False)
        logger.info("wrote %s (%d rows):\n%s", tests_path, len(tests), tests.to_string())
        logger.info("wrote %s (%d rows):\n%s", summary_path, len(summary), summary.to_string())


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        prediction_paths=[Path(path) for path in sm.input.predictions],
        tests_path=Path(sm.output.tests),
        summary_path=Path(sm.output.summary_ci),
        settings=Settings(
            bootstrap_samples=int(sm.params.bootstrap_samples),
            bootstrap_seed=int(sm.params.bootstrap_seed),
            confidence_level=float(sm.params.confidence_level),
            mcnemar_exact_below=int(sm.params.mcnemar_exact_below),
        ),
        log=Path(sm.log[0]),
    )
