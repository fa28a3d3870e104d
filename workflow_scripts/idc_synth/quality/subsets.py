"""Seeded subsets of a class's patches, shared by image_quality.tsv and quality over training."""

from __future__ import annotations

import zlib

import numpy as np

MIN_PATCHES = 10  # a set with fewer patches of a class gets a skipped row, not a tiny n


def subsample(rows: np.ndarray, n: int, seed: int, name: str, label: int) -> np.ndarray:
    """``n`` of ``rows`` (sorted), drawn from (seed, set name, class): the same train subsample
    in every job, and a different but fixed one per candidate set."""
    rows = np.asarray(rows)
    if n >= len(rows):
        return rows
    rng = np.random.default_rng([seed, zlib.crc32(name.encode()), label])
    return np.sort(rng.choice(rows, size=n, replace=False))
