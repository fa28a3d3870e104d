"""Block-mean pixels, the feature space every job can afford (numpy only): the copy space of
image_quality.tsv and the space of quality over training (idc_synth.progress)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from idc_synth.layout import PATCH_SIZE

PIXEL_BLOCK = 5  # 50 px -> 10 x 10 block means


def image_batches(
    images: np.ndarray, rows: np.ndarray | None, batch_size: int
) -> Iterator[np.ndarray]:
    """Consecutive uint8 batches of ``images[rows]``; from a memory map only these rows are read."""
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    for start in range(0, len(rows), batch_size):
        yield np.ascontiguousarray(images[rows[start : start + batch_size]])


def pixel_features(
    images: np.ndarray, rows: np.ndarray | None = None, block: int = PIXEL_BLOCK
) -> np.ndarray:
    """(N, 3 (50 / block)^2) float32: RGB in [0, 1] averaged over block x block px, a
    pixel-level space that ignores single-pixel noise (5 px: the copy space, 300 values)."""
    side = PATCH_SIZE // block
    blocks = [
        batch.reshape(len(batch), side, block, side, block, 3).mean(axis=(2, 4)) / 255.0
        for batch in image_batches(images, rows, 4096)
    ]
    if not blocks:
        return np.empty((0, 3 * side * side), np.float32)
    return np.concatenate(blocks).reshape(-1, 3 * side * side).astype(np.float32)
