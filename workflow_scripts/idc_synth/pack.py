"""Decode a split's patches once into a uint8 (N, 50, 50, 3) .npy plus a row table.

The train patients' patches are packed as two disjoint sets: ``train`` and ``holdout``, a
seeded share of each train patient's patches per class that no generator or classifier sees
(the image-quality floor). Val and test are packed whole.

Decoding runs in worker processes over small chunks written straight into a memory-mapped
.npy, so memory stays bounded by a few chunks whatever the split's size (the full IDC train
split is ~1.5 GB of pixels).
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from idc_synth.layout import PATCH_SIZE

log = logging.getLogger(__name__)

PAD_VALUE = 255  # slide background is white; edge patches are cut off at the slide border
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


def decode_patch(path: Path) -> np.ndarray:
    """RGB uint8 (50, 50, 3); smaller edge patches are padded right/bottom with white."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    height, width = pixels.shape[:2]
    if (height, width) == (PATCH_SIZE, PATCH_SIZE):
        return pixels
    padded = np.full((PATCH_SIZE, PATCH_SIZE, 3), PAD_VALUE, dtype=np.uint8)
    padded[:height, :width] = pixels
    return padded


def _decode_chunk(paths: list[Path]) -> np.ndarray:
    return np.stack([decode_patch(path) for path in paths])


def decode_chunks_in_order(chunks: list[list[Path]], workers: int) -> Iterator[np.ndarray]:
    """Decoded chunks in order, with at most 2 per worker in flight.

    Executor.map would submit every chunk at once and could pile up decoded pixels faster than
    they are written; the window keeps memory bounded on the full dataset.
    """
    window = 2 * max(1, workers)
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        pending: deque[Future] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_decode_chunk, chunk))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def pack_split(
    root: Path,
    manifest: pd.DataFrame,
    split: pd.DataFrame,
    split_name: str,
    images_path: Path,
    table_path: Path,
    workers: int = 1,
    chunk_size: int = 512,
    holdout: Holdout | None = None,
) -> float:
    """Pack one split, or ``holdout`` (the held-out share of the train patients' patches; train
    then excludes them); returns the decode throughput in images per second."""
    source = "train" if split_name == HOLDOUT else split_name
    patients = split.loc[split["split"] == source, "patient"]
    rows = manifest[manifest["patient"].isin(patients)].sort_values(["patient", "y", "x", "label"])
    if source == "train":
        held = holdout_mask(rows, holdout or Holdout(0.0, 0))
        rows = rows[held] if split_name == HOLDOUT else rows[~held]
        log.info(
            "%s: %d patches (%d held out of the train patients')", split_name, len(rows), held.sum()
        )
    table = rows.reset_index(drop=True).rename_axis("row").reset_index()[TABLE_COLUMNS]
    paths = [root / path for path in table["path"]]
    chunks = [paths[start : start + chunk_size] for start in range(0, len(paths), chunk_size)]
    partial = images_path.with_name(images_path.name + ".partial")
    images = np.lib.format.open_memmap(
        partial, mode="w+", dtype=np.uint8, shape=(len(paths), PATCH_SIZE, PATCH_SIZE, 3)
    )
    start_time = time.perf_counter()
    offset = 0
    for block in decode_chunks_in_order(chunks, workers):
        images[offset : offset + len(block)] = block
        offset += len(block)
    images.flush()
    del images
    seconds = time.perf_counter() - start_time
    os.replace(partial, images_path)  # a killed job never leaves a complete-looking array
    table.to_parquet(table_path, index=False)
    rate = len(paths) / seconds if seconds > 0 else float("inf")
    log.info(
        "packed %s: %d patches in %.1f s (%.0f images/s)", split_name, len(paths), seconds, rate
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
