"""Rule pack: decode one split's patches (or the held-out train patches) into a uint8 .npy and
its row table."""

from pathlib import Path

import pandas as pd

from idc_synth.pack import Holdout, pack_split
from idc_synth.runtime import rule_logging


def main(
    *,
    root: Path,
    manifest_path: Path,
    split_path: Path,
    split_name: str,
    images_path: Path,
    table_path: Path,
    workers: int,
    holdout: Holdout | None,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        manifest = pd.read_parquet(manifest_path)
        split = pd.read_parquet(split_path)
        logger.info(
            "packing %s from %s with %d workers (holdout %s)", split_name, root, workers, holdout
        )
        pack_split(
            root, manifest, split, split_name, images_path, table_path, workers, holdout=holdout
        )
        logger.info("wrote %s and %s", images_path, table_path)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        root=Path(sm.input.root),
        manifest_path=Path(sm.input.manifest),
        split_path=Path(sm.input.split),
        split_name=sm.wildcards.split,
        images_path=Path(sm.output.images),
        table_path=Path(sm.output.table),
        workers=sm.threads,
        holdout=Holdout(**sm.params.holdout) if sm.params.holdout else None,
        log=Path(sm.log[0]),
    )
