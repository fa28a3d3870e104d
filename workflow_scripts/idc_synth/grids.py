"""Preview grids: many patches tiled into one PNG for a quick look."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image


def tile(images: np.ndarray, columns: int = 8, gap: int = 2) -> np.ndarray:
    """uint8 (N, H, W, 3) patches tiled row-major on a white background."""
    count, height, width, _ = images.shape
    rows = math.ceil(count / columns)
    canvas = np.full(
        (rows * (height + gap) - gap, columns * (width + gap) - gap, 3), 255, dtype=np.uint8
    )
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        canvas[top : top + height, left : left + width] = image
    return canvas


def save_grid(images: np.ndarray, path: Path, columns: int = 8, scale: int = 2) -> None:
    grid = Image.fromarray(tile(images, columns))
    grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
