"""Rule collect_metrics: one tidy table, a row per arm and seed, from the per-seed tables."""

from pathlib import Path

import pandas as pd

from idc_synth.metrics import METRIC_COLUMNS
from idc_synth.runtime import rule_logging


def main(*, metric_paths: list[Path], table_path: Path, log: Path | None) -> None:
    with rule_logging(log) as logger:
        table = pd.concat([pd.read_csv(path, sep="\t") for path in metric_paths])
        table = table[list(METRIC_COLUMNS)].sort_values(["arm", "seed"], ignore_index=True)
        if table.duplicated(["arm", "seed"]).any():
            raise ValueError(f"duplicate arm/seed rows in {metric_paths}")
        table.to_csv(table_path, sep="\t", index=False)
        logger.info("wrote %s (%d rows):\n%s", table_path, len(table), table.to_string())


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        metric_paths=[Path(path) for path in sm.input.metrics],
        table_path=Path(sm.output.table),
        log=Path(sm.log[0]),
    )
