"""Each distribution metric once, in its weighted form: FID, KID and the k-NN ball metrics
(precision, recall, density, coverage) of two feature sets whose rows carry weights
(multiplicities). A row's value is the unit-weight call; a bootstrap replicate is the same call
with the replicate's multiplicities (idc_synth.quality.intervals), so an interval and the value
it surrounds come from one implementation. Weights may be one vector or a (replicates, rows)
matrix where a metric is cheap to evaluate for many weightings at once (KID)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from idc_synth.quality.neighbours import blocks, distances, knn_radii

MANIFOLD_METRICS = ("precision", "recall", "density", "coverage")  # k-NN ball metrics
FID_INF_POINTS = 5  # subset sizes from n/2 to n for the 1/N fit
FID_INF_DRAWS = 2  # FID draws averaged per subset size


def _ones(n: int, weights: np.ndarray | None) -> np.ndarray:
    return np.ones(n) if weights is None else np.asarray(weights, float)


# ---------------------------------------------------------------------------------------------
# FID


def _moments(feats: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and the weighted-deviation rows A with A^T A = the covariance (ddof 1)."""
    total = weights.sum()
    mean = weights @ feats / total
    return mean, (feats - mean) * np.sqrt(weights / max(total - 1.0, 1e-12))[:, None]


def fid(
    x: np.ndarray, y: np.ndarray, wx: np.ndarray | None = None, wy: np.ndarray | None = None
) -> float:
    """Frechet distance between Gaussians fitted to two (weighted) feature sets; unit weights
    give clean-fid's FID. tr sqrt(S1 S2) is the nuclear norm of A2 A1^T (S = A^T A), so a set
    smaller than the feature dimension (a singular covariance) needs no matrix square root;
    larger sets take the D x D eigen route."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    wx, wy = _ones(len(x), wx), _ones(len(y), wy)
    x, wx, y, wy = x[wx > 0], wx[wx > 0], y[wy > 0], wy[wy > 0]
    if min(len(x), len(y)) < 2:
        return math.nan
    mean_x, a_x = _moments(x, wx)
    mean_y, a_y = _moments(y, wy)
    if min(len(x), len(y)) < x.shape[1]:
        cross = np.linalg.svd(a_y @ a_x.T, compute_uv=False).sum()
    else:
        values, vectors = np.linalg.eigh(a_x.T @ a_x)
        root = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
        cross = np.sqrt(np.clip(np.linalg.eigvalsh(root @ (a_y.T @ a_y) @ root), 0, None)).sum()
    trace = (a_x**2).sum() + (a_y**2).sum()
    return float(((mean_x - mean_y) ** 2).sum() + trace - 2 * cross)


def fid_infinity(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    """FID extrapolated to n -> infinity (Chong & Forsyth 2020): FID of seeded subsets of
    ``FID_INF_POINTS`` sizes from n/2 to n (``FID_INF_DRAWS`` draws each), a least-squares line
    in 1/N, its intercept. NaN when the sets are too small for three sizes."""
    n = min(len(x), len(y))
    sizes = np.unique(np.linspace(n // 2, n, FID_INF_POINTS).astype(int))
    if len(sizes) < 3 or sizes[0] < 2:
        return math.nan
    rng = np.random.default_rng(seed)
    values = []
    for size in sizes:
        draws = [
            fid(
                x[rng.choice(len(x), size, replace=False)],
                y[rng.choice(len(y), size, replace=False)],
            )
            for _ in range(FID_INF_DRAWS)
        ]
        values.append(np.mean(draws))
    values = np.asarray(values)
    if not np.isfinite(values).all():
        return math.nan
    _, intercept = np.polyfit(1.0 / sizes, values, 1)
    return float(intercept)


# ---------------------------------------------------------------------------------------------
# KID: the unbiased MMD^2 with the cubic kernel (x.y / d + 1)^3 (clean-fid's kernel_distance)


def _kernel_sums(x: np.ndarray, y: np.ndarray, wx: np.ndarray, wy: np.ndarray) -> np.ndarray:
    """sum_ij wx[b, i] k(x_i, y_j) wy[b, j] for every weighting b, the kernel built blockwise."""
    total = np.zeros(len(wx))
    for block in blocks(len(x), len(y)):
        kernel = (x[block] @ y.T / x.shape[1] + 1.0) ** 3
        total += ((wx[:, block] @ kernel) * wy).sum(axis=1)
    return total


def _within(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mean kernel over pairs of distinct rows of a weighted set (the U-statistic)."""
    diagonal = ((x**2).sum(1) / x.shape[1] + 1.0) ** 3
    pairs = w.sum(1) ** 2 - (w**2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, (_kernel_sums(x, x, w, w) - (w**2) @ diagonal) / pairs, np.nan)


def kid(
    x: np.ndarray, y: np.ndarray, wx: np.ndarray | None = None, wy: np.ndarray | None = None
) -> float | np.ndarray:
    """KID of two (weighted) feature sets; one value per weighting when the weights are
    (weightings, rows) matrices. Unit weights give the U-statistic over every patch."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    single = wx is None or np.ndim(wx) == 1
    wx, wy = np.atleast_2d(_ones(len(x), wx)), np.atleast_2d(_ones(len(y), wy))
    cross = _kernel_sums(x, y, wx, wy) / (wx.sum(1) * wy.sum(1))
    values = _within(x, wx) + _within(y, wy) - 2 * cross
    return float(values[0]) if single else values


def kid_subset(n: int, subset_size: int) -> int:
    """Subsets of at most half the set, so they differ and kid_std measures something."""
    return min(subset_size, n // 2)


def kid_spread(
    x: np.ndarray, y: np.ndarray, subset_size: int, n_subsets: int, seed: int
) -> tuple[float, int]:
    """KID's standard deviation over seeded random subsets of ``subset_size`` patches per set
    (the ``KID +- std`` of the literature: subset weights 0/1), and that size."""
    size = min(len(x), len(y), subset_size)
    if size < 2 or n_subsets < 2:
        return (math.nan if size < 2 else 0.0), size
    rng = np.random.default_rng(seed)

    def indicators(n: int) -> np.ndarray:
        w = np.zeros((n_subsets, n))
        for row in w:
            row[rng.choice(n, size, replace=False)] = 1.0
        return w

    values = kid(x, y, indicators(len(x)), indicators(len(y)))
    return float(np.std(values, ddof=1)), size


# ---------------------------------------------------------------------------------------------
# k-NN ball metrics

CrossRows = Callable[[np.ndarray], np.ndarray]  # fake row indices -> their distances to real


def ball_metrics(
    real_radii: np.ndarray,
    fake_radii: np.ndarray,
    cross_rows: CrossRows,
    w_real: np.ndarray,
    w_fake: np.ndarray,
    k: int,
) -> dict[str, float]:
    """Precision, recall, density and coverage of weighted sets, from each set's k-NN radii (NaN
    for rows of weight 0) and the fake-to-real distances: improved precision (fake inside real's
    balls) and recall (real inside fake's balls), Kynkaanniemi et al. 2019; density (real balls
    holding a fake point, per fake point, over k: about 1 for a sample of the real distribution)
    and coverage (real balls holding any fake point), Naeem et al. 2020. The balls are around
    the rows of positive weight; a row counts with its weight. A point on a boundary is inside."""
    real_on, fake_on = w_real > 0, w_fake > 0
    if np.isnan(real_radii[real_on]).all() or np.isnan(fake_radii[fake_on]).all():
        return dict.fromkeys(MANIFOLD_METRICS, math.nan)
    centres, queries = np.flatnonzero(real_on), np.flatnonzero(fake_on)
    balls = np.zeros(len(queries))  # per fake row: real balls holding it
    covered = np.zeros(len(centres), bool)  # per real ball: holds a fake row
    recalled = np.zeros(len(w_real), bool)  # per real row: inside a fake ball
    for block in blocks(len(queries), len(w_real)):
        rows = queries[block]
        cross = cross_rows(rows)
        inside = cross[:, centres] <= real_radii[centres][None, :]
        balls[block] = inside.sum(axis=1)
        covered |= inside.any(axis=0)
        recalled |= (cross <= fake_radii[rows][:, None]).any(axis=0)
    w_queries, w_centres = w_fake[queries], w_real[centres]
    return {
        "precision": float(w_queries @ (balls > 0) / w_queries.sum()),
        "recall": float(w_centres @ recalled[centres] / w_centres.sum()),
        "density": float(w_queries @ balls / (k * w_queries.sum())),
        "coverage": float(w_centres @ covered / w_centres.sum()),
    }


def manifold_metrics(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """The k-NN ball metrics of ``fake`` against ``real``: `ball_metrics` at unit weights, every
    distance computed blockwise (no n x n matrix is held)."""
    real, fake = np.asarray(real, float), np.asarray(fake, float)
    if min(len(real), len(fake)) <= k:
        return dict.fromkeys(MANIFOLD_METRICS, math.nan)
    return ball_metrics(
        knn_radii(real, k),
        knn_radii(fake, k),
        lambda rows: distances(fake[rows], real),
        np.ones(len(real)),
        np.ones(len(fake)),
        k,
    )
