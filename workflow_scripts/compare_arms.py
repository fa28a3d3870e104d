"""Rule compare_arms: the primary comparison, secondary effects, per-arm intervals and variance
components (see idc_synth.statistics)."""

from pathlib import Path

import pandas as pd

from idc_synth.runtime import rule_logging
from idc_synth.statistics import Settings, compare_arms


def main(
    *,
    prediction_paths: list[Path],
    outputs: dict[str, Path],
    settings: Settings,
    log: Path | None,
) -> None:
    """`outputs` maps tests, summary_ci, primary and variance to their TSV paths."""
    with rule_logging(log) as logger:
        predictions = pd.concat(
            [pd.read_parquet(path) for path in prediction_paths], ignore_index=True
        )
        logger.info("read %d prediction files (%d rows)", len(prediction_paths), len(predictions))
        logger.info("settings: %s", settings)
        result = compare_arms(predictions, settings)
        for name, path in outputs.items():
            table = getattr(result, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            table.to_csv(path, sep="\t", index=False)
            logger.info("wrote %s (%d rows):\n%s", path, len(table), table.to_string())


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        prediction_paths=[Path(path) for path in sm.input.predictions],
        outputs={
            name: Path(getattr(sm.output, name))
            for name in ("tests", "summary_ci", "primary", "variance")
        },
        settings=Settings(
            bootstrap_samples=int(sm.params.bootstrap_samples),
            bootstrap_seed=int(sm.params.bootstrap_seed),
            confidence_level=float(sm.params.confidence_level),
            alpha=float(sm.params.alpha),
            primary_metric=str(sm.params.primary_metric),
        ),
        log=Path(sm.log[0]),
    )
