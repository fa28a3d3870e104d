"""Rule collect_metrics: two tidy tables from the per-seed tables (one job: each alone would not
pay for its Python start).

classification.tsv: a row per arm and seed. tstr.tsv (train on synthetic, test on real): a row
per synthetic-only arm and seed, headed by ROC AUC (threshold-free, so the val-chosen threshold
does not enter it), next to the real-trained baseline's rows on the same test patches; an arm
that cannot be trained is one 'skipped: <reason>' row.
"""

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from idc_synth.metrics import METRIC_COLUMNS, METRIC_KEYS
from idc_synth.runtime import rule_logging

TSTR_HEADLINE = "roc_auc"
TSTR_COLUMNS = (
    "arm",
    "seed",
    "training_data",
    TSTR_HEADLINE,
    *(key for key in METRIC_KEYS if key != TSTR_HEADLINE),
    "status",
    "note",
)
TSTR_NOTE = (
    "trained on synthetic patches only; epoch and decision threshold chosen on real val "
    "patches; tested on real test patches; headline: roc_auc"
)
BASELINE_NOTE = "reference: trained on real train patches, same val and test patches"


def read_metrics(paths: list[Path]) -> pd.DataFrame:
    if not paths:
        return pd.DataFrame(columns=list(METRIC_COLUMNS))
    table = pd.concat([pd.read_csv(path, sep="\t") for path in paths])
    table = table[list(METRIC_COLUMNS)].sort_values(["arm", "seed"], ignore_index=True)
    if table.duplicated(["arm", "seed"]).any():
        raise ValueError(f"duplicate arm/seed rows in {paths}")
    return table


def tstr_table(
    tstr_paths: list[Path], baseline_paths: list[Path], skipped: Mapping[str, str]
) -> pd.DataFrame:
    """TSTR rows, then the baseline's, then one row per skipped arm with its reason."""
    tstr = read_metrics(tstr_paths).assign(
        training_data="synthetic only", status="ok", note=TSTR_NOTE
    )
    baseline = read_metrics(baseline_paths).assign(
        training_data="real train", status="ok", note=BASELINE_NOTE
    )
    skipped_rows = pd.DataFrame(
        {
            "arm": list(skipped),
            "training_data": "synthetic only",
            "status": [f"skipped: {reason}" for reason in skipped.values()],
            "note": TSTR_NOTE,
        }
    )
    parts = [part for part in (tstr, baseline, skipped_rows) if len(part)]
    if not parts:
        return pd.DataFrame(columns=list(TSTR_COLUMNS))
    return pd.concat(parts, ignore_index=True).reindex(columns=list(TSTR_COLUMNS))


def main(
    *,
    metric_paths: list[Path],
    tstr_paths: list[Path],
    baseline_paths: list[Path],
    skipped: Mapping[str, str],
    classification: Path,
    tstr: Path,
    log: Path | None,
) -> None:
    """classification.tsv from `metric_paths` (every arm and seed); tstr.tsv from the
    synthetic-only arms' `tstr_paths`, the baseline's `baseline_paths` and the `skipped` arms."""
    with rule_logging(log) as logger:
        for path, table in (
            (classification, read_metrics(metric_paths)),
            (tstr, tstr_table(tstr_paths, baseline_paths, skipped)),
        ):
            table.to_csv(path, sep="\t", index=False)
            logger.info("wrote %s (%d rows):\n%s", path, len(table), table.to_string())


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        metric_paths=[Path(path) for path in sm.input.metrics],
        tstr_paths=[Path(path) for path in sm.input.tstr],
        baseline_paths=[Path(path) for path in sm.input.baseline],
        skipped=dict(sm.params.skipped),
        classification=Path(sm.output.classification),
        tstr=Path(sm.output.tstr),
        log=Path(sm.log[0]),
    )
