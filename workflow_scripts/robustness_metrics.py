"""Rule robustness_metrics: the primary metric under each perturbation and strength, its
degradation and the difference in degradation vs the baseline (see idc_synth.robustness)."""

from pathlib import Path

from idc_synth.robustness import robustness_table
from idc_synth.runtime import read_parquets, rule_logging, write_tsv
from idc_synth.statistics import Settings, TestPredictions


def main(
    *,
    clean_paths: list[Path],
    perturbed_paths: list[Path],
    table: Path,
    settings: Settings,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        clean = TestPredictions(read_parquets(clean_paths, logger))
        perturbed = read_parquets(perturbed_paths, logger)
        write_tsv(table, robustness_table(clean, perturbed, settings), logger)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        clean_paths=[Path(path) for path in sm.input.clean],
        perturbed_paths=[Path(path) for path in sm.input.perturbed],
        table=Path(sm.output.table),
        settings=Settings.from_params(sm.params),
        log=Path(sm.log[0]),
    )
