"""Rule compare_arms: the primary comparison, secondary effects, per-arm intervals and variance
components (see idc_synth.statistics)."""

from pathlib import Path

from idc_synth.runtime import read_parquets, rule_logging, write_tsv
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
        predictions = read_parquets(prediction_paths, logger)
        logger.info("settings: %s", settings)
        result = compare_arms(predictions, settings)
        for name, path in outputs.items():
            write_tsv(path, getattr(result, name), logger)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        prediction_paths=[Path(path) for path in sm.input.predictions],
        outputs={
            name: Path(getattr(sm.output, name))
            for name in ("tests", "summary_ci", "primary", "variance")
        },
        settings=Settings.from_params(sm.params),
        log=Path(sm.log[0]),
    )
