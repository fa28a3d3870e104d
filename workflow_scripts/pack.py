"""Rule pack: gather one split's patches (or the held-out train patches) from the manifest's
pixel array into a uint8 .npy and its row table (no decode)."""

from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.pack import Holdout, pack_split
from idc_synth.runtime import rule_logging


def main(
    *,
    manifest_path: Path,
    pixels_path: Path,
    split_path: Path,
    split_name: str,
    images_path: Path,
    table_path: Path,
    holdout: Holdout | None,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        manifest = pd.read_parquet(manifest_path)
        pixels = np.load(pixels_path, mmap_mode="r")
        split = pd.read_parquet(split_path)
        logger.info("packing %s from %s (holdout %s)", split_name, pixels_path, holdout)
        pack_split(manifest, pixels, split, split_name, images_path, table_path, holdout=holdout)
        logger.info("wrote %s and %s", images_path, table_path)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        manifest_path=Path(sm.input.manifest),
        pixels_path=Path(sm.input.pixels),
        split_path=Path(sm.input.split),
        split_name=sm.wildcards.split,
        images_path=Path(sm.output.images),
        table_path=Path(sm.output.table),
        holdout=Holdout(**sm.params.holdout) if sm.params.holdout else None,
        log=Path(sm.log[0]),
    )
