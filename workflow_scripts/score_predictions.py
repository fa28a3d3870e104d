"""Rule metrics: one row of test metrics for one (arm, seed) prediction file."""

from pathlib import Path

import pandas as pd

from idc_synth.metrics import METRIC_COLUMNS, classification_metrics
from idc_synth.runtime import rule_logging


def _single_value(predictions: pd.DataFrame, column: str, source: Path) -> str | int | float:
    """A column that is constant by construction (one arm, seed and threshold per file)."""
    values = predictions[column].unique().tolist()
    if len(values) != 1:
        raise ValueError(f"{source}: expected one {column}, found {values}")
    return values[0]


def main(*, predictions: Path, metrics: Path, log: Path | None) -> None:
    with rule_logging(log) as logger:
        table = pd.read_parquet(predictions)
        logger.info("read %s (%d rows)", predictions, len(table))
        row = {
            "arm": _single_value(table, "arm", predictions),
            "seed": _single_value(table, "seed", predictions),
            **classification_metrics(
                table["label"].to_numpy(),
                table["probability"].to_numpy(),
                _single_value(table, "threshold", predictions),
            ),
        }
        metrics.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([row], columns=list(METRIC_COLUMNS)).to_csv(metrics, sep="\t", index=False)
        logger.info("wrote %s: %s", metrics, row)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        predictions=Path(sm.input.predictions), metrics=Path(sm.output.metrics), log=Path(sm.log[0])
    )
