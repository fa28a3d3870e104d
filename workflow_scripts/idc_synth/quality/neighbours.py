"""Euclidean distances between feature sets, in memory-bounded blocks: nearest neighbours (near
copies) and k-NN radii (the balls of precision, recall, density and coverage)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

DISTANCE_BUDGET_BYTES = 1 << 28  # largest block of pairwise distances held at once (256 MiB)


def blocks(n_queries: int, n_reference: int) -> Iterator[slice]:
    """Row slices of the queries whose distances to the reference fit the budget."""
    rows = max(1, DISTANCE_BUDGET_BYTES // (8 * max(1, n_reference)))
    for start in range(0, n_queries, rows):
        yield slice(start, start + rows)


def distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(len(x), len(y)) Euclidean distances, float64."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    squared = (x**2).sum(1)[:, None] + (y**2).sum(1)[None, :] - 2 * x @ y.T
    return np.sqrt(np.clip(squared, 0, None))


def nearest_neighbours(queries: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each query's Euclidean distance to its nearest reference point, and that point's index."""
    if not len(queries) or not len(reference):
        return np.empty(0), np.empty(0, np.int64)
    found, index = [], []
    for block in blocks(len(queries), len(reference)):
        d = distances(queries[block], reference)
        nearest = d.argmin(axis=1)
        found.append(d[np.arange(len(d)), nearest])
        index.append(nearest)
    return np.concatenate(found), np.concatenate(index).astype(np.int64)


def knn_radii(feats: np.ndarray, k: int) -> np.ndarray:
    """Each point's distance to its k-th nearest other point of the same set (NaN everywhere
    when the set has k points or fewer): the radii of every point taking part, blockwise."""
    n = len(feats)
    if n <= k:
        return np.full(n, math.nan)
    radii = []
    for block in blocks(n, n):
        d = distances(feats[block], feats)
        d[np.arange(len(d)), np.arange(n)[block]] = np.inf  # not its own neighbour
        radii.append(np.partition(d, k - 1, axis=1)[:, k - 1])
    return np.concatenate(radii)


@dataclass
class Neighbours:
    """A set's pairwise distances, each row's other points sorted by distance (self last), for
    the radii of many weightings of one set (the bootstrap replicates)."""

    distances: np.ndarray
    order: np.ndarray

    @classmethod
    def of(cls, feats: np.ndarray) -> Neighbours:
        pairwise = distances(feats, feats)
        np.fill_diagonal(pairwise, np.inf)
        return cls(pairwise, np.argsort(pairwise, axis=1, kind="stable"))

    def radii(self, active: np.ndarray, k: int) -> np.ndarray:
        """Each active point's distance to its k-th nearest other active point (NaN rows for
        inactive points); NaN everywhere when k or fewer points are active: `knn_radii` of the
        active points (a repeated point is one point of the manifold, not a zero-radius ball)."""
        rows = np.flatnonzero(active)
        if len(rows) <= k:
            return np.full(len(active), math.nan)
        hits = np.cumsum(active[self.order[rows]], axis=1)
        column = np.argmax(hits >= k, axis=1)
        radii = np.full(len(active), math.nan)
        radii[rows] = self.distances[rows, self.order[rows, column]]
        return radii
