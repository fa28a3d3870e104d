"""Decode a split's patches once into a uint8 (N, 50, 50, 3) .npy plus a row table.

Decoding runs in worker processes over small chunks written straight into a memory-mapped
.npy, so memory stays bounded by a few chunks whatever the split's size (the full IDC train
split is ~1.5 GB of pixels).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from idc_synth.layout import PATCH_SIZE

log = logging.getLogger(__name__)

PAD_VALUE = 255  # slide background is white; edge patches are cut off at the slide border
TABLE_COLUMNS = ["row", "path", "patient", "x", "y", "label"]


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
) -> float:
    """Pack one split; returns the decode throughput in images per second."""
    patients = split.loc[split["split"] == split_name, "patient"]
    rows = manifest[manifest["patient"].isin(patients)].sort_values(["patient", "y", "x", "label"])
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
