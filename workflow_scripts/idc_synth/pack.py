"""Pack a split's patches into a uint8 (N, 50, 50, 3) .npy plus a row table.

The train patients' patches are packed as two disjoint sets: ``train`` and ``holdout``, a
seeded share of each train patient's patches per class that no generator or classifier sees
(the image-quality floor). Val and test are packed whole.

Nothing is decoded here: the manifest step decoded every patch once into its pixel array (row
i = manifest row i), and packing gathers a set's rows from that memory map a block at a time
into the set's .npy, so memory stays bounded by a block whatever the split's size (the full IDC
train split is ~1.5 GB of pixels).
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.layout import PATCH_SIZE
from idc_synth.manifest import write_rows

log = logging.getLogger(__name__)

TABLE_COLUMNS = ["row", "path", "patient", "x", "y", "label"]
HOLDOUT = "holdout"  # the packed set of held-out train patches


@dataclass(frozen=True)
class Holdout:
    """A share ``fraction`` of each train patient's patches of each class, drawn from ``seed``."""

    fraction: float
    seed: int

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError(f"holdout fraction must be in [0, 1), got {self.fraction}")


def holdout_mask(rows: pd.DataFrame, holdout: Holdout) -> np.ndarray:
    """Bool per row (train patients' patches, in pack order): held out or not.

    Per (patient, class) round(fraction x count) patches, from a stream seeded by
    (seed, patient name), so a patient's choice does not depend on the other patients."""
    mask = np.zeros(len(rows), dtype=bool)
    if holdout.fraction == 0:
        return mask
    positions = pd.Series(np.arange(len(rows)), index=rows.index)
    for (patient, _label), group in rows.groupby(["patient", "label"], sort=True):
        rng = np.random.default_rng([holdout.seed, zlib.crc32(str(patient).encode()), int(_label)])
        count = round(holdout.fraction * len(group))
        chosen = rng.choice(positions[group.index].to_numpy(), size=count, replace=False)
        mask[chosen] = True
    return mask


def pack_split(
    manifest: pd.DataFrame,
    pixels: np.ndarray,
    split: pd.DataFrame,
    split_name: str,
    images_path: Path,
    table_path: Path,
    holdout: Holdout | None = None,
) -> float:
    """Pack one split, or ``holdout`` (the held-out share of the train patients' patches; train
    then excludes them), from ``pixels`` (the manifest step's array, row i = manifest row i);
    returns the gather throughput in images per second."""
    manifest = manifest.reset_index(drop=True)  # the index is the pixel row
    if len(pixels) != len(manifest):
        raise ValueError(
            f"the pixel array holds {len(pixels)} patches but the manifest lists "
            f"{len(manifest)}; delete results/data/manifest.parquet and rerun the manifest rule"
        )
    source = "train" if split_name == HOLDOUT else split_name
    patients = split.loc[split["split"] == source, "patient"]
    rows = manifest[manifest["patient"].isin(patients)].sort_values(["patient", "y", "x", "label"])
    if source == "train":
        held = holdout_mask(rows, holdout or Holdout(0.0, 0))
        rows = rows[held] if split_name == HOLDOUT else rows[~held]
        log.info(
            "%s: %d patches (%d held out of the train patients')", split_name, len(rows), held.sum()
        )
    positions = rows.index.to_numpy()
    table = rows.reset_index(drop=True).rename_axis("row").reset_index()[TABLE_COLUMNS]
    partial = images_path.with_name(images_path.name + ".partial")
    start_time = time.perf_counter()
    write_rows(pixels, positions, partial)
    seconds = time.perf_counter() - start_time
    os.replace(partial, images_path)  # a killed job never leaves a complete-looking array
    table.to_parquet(table_path, index=False)
    rate = len(table) / seconds if seconds > 0 else float("inf")
    log.info(
        "packed %s: %d patches gathered in %.2f s (%.0f images/s), no decode",
        split_name,
        len(table),
        seconds,
        rate,
    )
    return rate


def load_packed(images_path: Path, table_path: Path) -> tuple[np.ndarray, pd.DataFrame]:
    """A packed split as a read-only memory map and its table, checked to agree."""
    images = np.load(images_path, mmap_mode="r")
    table = pd.read_parquet(table_path)
    if images.dtype != np.uint8 or images.shape[1:] != (PATCH_SIZE, PATCH_SIZE, 3):
        raise ValueError(
            f"{images_path} holds {images.dtype} {images.shape}, not uint8 (N, 50, 50, 3); "
            "delete it and rerun the pack rule"
        )
    if len(images) != len(table):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {table_path} lists {len(table)}; "
            "delete both and rerun the pack rule"
        )
    return images, table
