"""Rule split: assign every patient to exactly one of train, val and test."""

from pathlib import Path

import pandas as pd

from idc_synth.runtime import rule_logging
from idc_synth.split import split_from_lists, stratified_split, summarize


def main(
    *,
    manifest_path: Path,
    fractions: dict[str, float],
    seed: int,
    patient_lists: dict[str, str] | None,
    split_path: Path,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        manifest = pd.read_parquet(manifest_path, columns=["patient", "label"])
        if patient_lists:
            logger.info("split from patient lists %s", patient_lists)
            table = split_from_lists(manifest, {k: Path(v) for k, v in patient_lists.items()})
        else:
            logger.info("stratified patient split: fractions %s, seed %d", fractions, seed)
            table = stratified_split(manifest, fractions, seed)
        table.to_parquet(split_path, index=False)
        logger.info("wrote %s:\n%s", split_path, summarize(table).to_string())


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        manifest_path=Path(sm.input.manifest),
        fractions=sm.params.fractions,
        seed=sm.params.seed,
        patient_lists={
            name.removeprefix("list_"): path
            for name, path in sm.input.items()
            if name.startswith("list_")
        },
        split_path=Path(sm.output.split),
        log=Path(sm.log[0]),
    )
