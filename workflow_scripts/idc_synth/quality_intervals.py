"""Patient-level bootstrap intervals of the image-quality rows (image_quality.tsv).

Patches of one patient are not independent, so an interval of FID & co. must resample patients
whole. The resampled units:
- train patients: their train patches (the reference every row is measured against) and their
  held-out patches (the floor row) move together, as they are the same patients;
- val patients: the shift row's patches;
- a generator's patches, one by one: independent draws of one trained generator (the variance of
  training another generator is not in these intervals).

A replicate is a multiplicity per unit, so no feature is recomputed: FID from weighted means and
covariances, KID as a weighted U-statistic of kernel matrices computed once, precision, recall,
density and coverage from k-NN balls around the distinct drawn points (a repeated point is one
point of the manifold, not a zero-radius ball), spectra as weighted sums of per-patient sums.
Each row gets the interval of its own value and of its paired difference from the floor row and
from the shift row (the same replicate, so shared train patients cancel).

The intervals are basic bootstrap intervals, [2 t - q_high, 2 t - q_low] around the statistic t
of the unresampled rows: FID, KID, precision and recall are biased at finite n, and a draw with
repeats holds fewer distinct patches, so plain percentiles would sit beside the estimate; the
basic interval removes that bias to first order. Above ``max_patches`` rows per set, a seeded
subsample is resampled (the interval is then of the statistic at that n).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from idc_synth import quality_keys as keys
from idc_synth.quality import MANIFOLD_METRICS
from idc_synth.spectrum import SpectralFeatures, spectral_distance, spike_ratio

MIN_PATIENTS = 5  # fewer units than this make a bootstrap interval meaningless: undefined
MIN_FINITE_SHARE = 0.95  # replicates where a statistic is defined, else the interval is not
DISTRIBUTION_METRICS = ("fid", "kid", *MANIFOLD_METRICS)
SPECTRAL_METRICS = ("spectral_distance", "spike_ratio")
METRICS = DISTRIBUTION_METRICS + SPECTRAL_METRICS
BOUNDS = dict.fromkeys(("precision", "recall", "coverage"), (0.0, 1.0)) | dict.fromkeys(
    ("fid", "density", "spectral_distance", "spike_ratio"), (0.0, math.inf)
)
SUFFIXES = ("low", "high", "vs_floor_low", "vs_floor_high", "vs_shift_low", "vs_shift_high")
INTERVAL_COLUMNS = tuple(f"{metric}_{suffix}" for metric in METRICS for suffix in SUFFIXES)
TRAIN_UNITS, VAL_UNITS, PATCH_UNITS = "train patients", "val patients", "patches"


# ---------------------------------------------------------------------------------------------
# Weighted statistics (weights: multiplicities of rows in a replicate)


def _moments(feats: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and the weighted-deviation rows A with A^T A = the covariance (ddof 1)."""
    total = weights.sum()
    mean = weights @ feats / total
    return mean, (feats - mean) * np.sqrt(weights / max(total - 1.0, 1e-12))[:, None]


def frechet_distance(
    x: np.ndarray, y: np.ndarray, wx: np.ndarray | None = None, wy: np.ndarray | None = None
) -> float:
    """FID between Gaussians fitted to two weighted feature sets. tr sqrt(S1 S2) is the nuclear
    norm of A2 A1^T (S = A^T A), so a set smaller than the feature dimension (a singular
    covariance) needs no matrix square root; larger sets take the D x D eigen route."""
    wx = np.ones(len(x)) if wx is None else np.asarray(wx, float)
    wy = np.ones(len(y)) if wy is None else np.asarray(wy, float)
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


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's cubic kernel (x.y / d + 1)^3, as clean-fid's kernel_distance."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _within(kernel: np.ndarray, w: np.ndarray) -> float:
    """Mean kernel over pairs of distinct rows of a weighted set (the U-statistic)."""
    pairs = w.sum() ** 2 - (w**2).sum()
    return (w @ kernel @ w - (w**2) @ np.diag(kernel)) / pairs if pairs > 0 else math.nan


def weighted_kid(k_xx, k_yy, k_xy, wx: np.ndarray, wy: np.ndarray) -> float:
    """Unbiased MMD^2 with the cubic kernel (KID) of weighted sets, from their kernel matrices."""
    return float(
        _within(k_xx, wx) + _within(k_yy, wy) - 2 * (wx @ k_xy @ wy) / (wx.sum() * wy.sum())
    )


@dataclass
class Neighbours:
    """A set's pairwise distances, each row's other points sorted by distance (self last)."""

    distances: np.ndarray
    order: np.ndarray

    @classmethod
    def of(cls, feats: np.ndarray) -> Neighbours:
        distances = _distances(feats, feats)
        np.fill_diagonal(distances, np.inf)
        return cls(distances, np.argsort(distances, axis=1, kind="stable"))

    def radii(self, active: np.ndarray, k: int) -> np.ndarray:
        """Each active point's distance to its k-th nearest other active point (NaN rows for
        inactive points); NaN everywhere when k or fewer points are active."""
        rows = np.flatnonzero(active)
        if len(rows) <= k:
            return np.full(len(active), math.nan)
        hits = np.cumsum(active[self.order[rows]], axis=1)
        column = np.argmax(hits >= k, axis=1)
        radii = np.full(len(active), math.nan)
        radii[rows] = self.distances[rows, self.order[rows, column]]
        return radii


def _distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    squared = (x**2).sum(1)[:, None] + (y**2).sum(1)[None, :] - 2 * x @ y.T
    return np.sqrt(np.clip(squared, 0, None))


def _coverage(cross: np.ndarray, radii: np.ndarray, centres: np.ndarray, w: np.ndarray) -> float:
    """Weighted share of query rows inside a ball around an active centre."""
    inside = (cross[:, centres] <= radii[centres][None, :]).any(axis=1)
    return float(w @ inside / w.sum())


def weighted_manifold_metrics(
    real: Neighbours, fake: Neighbours, cross: np.ndarray, w_real, w_fake, k: int
) -> dict[str, float]:
    """Precision, recall, density and coverage (idc_synth.quality.manifold_metrics) of weighted
    sets; ``cross`` holds fake-to-real distances. The balls are around the distinct drawn
    points; a drawn point counts with its multiplicity."""
    real_on, fake_on = w_real > 0, w_fake > 0
    real_radii, fake_radii = real.radii(real_on, k), fake.radii(fake_on, k)
    if np.isnan(real_radii[real_on]).all() or np.isnan(fake_radii[fake_on]).all():
        return dict.fromkeys(MANIFOLD_METRICS, math.nan)
    centres = np.flatnonzero(real_on)
    inside = cross[fake_on][:, centres] <= real_radii[centres][None, :]  # fake x real balls
    w_queries, w_centres = w_fake[fake_on], w_real[centres]
    balls = inside.sum(axis=1)
    return {
        "precision": float(w_queries @ (balls > 0) / w_queries.sum()),
        "recall": _coverage(cross.T[real_on], fake_radii, np.flatnonzero(fake_on), w_centres),
        "density": float(w_queries @ balls / (k * w_queries.sum())),
        "coverage": float(w_centres @ inside.any(axis=0) / w_centres.sum()),
    }


# ---------------------------------------------------------------------------------------------
# The sets of one study: features, their units, and the replicate draws


@dataclass
class FeatureSet:
    """One set's rows of one feature space and class (or its spectral sums): features, and the
    unit each row belongs to (a patient name; for generator patches, the row itself)."""

    units: np.ndarray  # int index into the unit pool of ``pool``
    pool: str  # TRAIN_UNITS | VAL_UNITS | PATCH_UNITS
    feats: np.ndarray | None = None
    spectra: SpectralFeatures | None = None


def unit_index(names: np.ndarray, pool_names: np.ndarray) -> np.ndarray:
    return np.searchsorted(pool_names, np.asarray(names).astype(str))


def cap_rows(n: int, cap: int | None, seed: int, name: str) -> np.ndarray:
    """All rows, or a seeded subsample of ``cap`` (sorted) when there are more."""
    if cap is None or n <= cap:
        return np.arange(n)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    return np.sort(rng.choice(n, cap, replace=False))


class Draws:
    """Multiplicities per replicate: one draw of train and val patients per replicate shared by
    every set, and a fresh draw of a generator's patches per set."""

    def __init__(self, pools: Mapping[str, int], samples: int, seed: int) -> None:
        rng = np.random.default_rng([seed, zlib.crc32(b"patient bootstrap")])
        self.samples = samples
        self.rng = rng
        self.pools = {
            pool: rng.multinomial(size, np.full(size, 1.0 / size), size=samples)
            for pool, size in pools.items()
            if size
        }

    def weights(self, data: FeatureSet) -> np.ndarray:
        """(samples, rows) multiplicities of a set's rows."""
        if data.pool == PATCH_UNITS:
            n = len(data.units)
            return self.rng.multinomial(n, np.full(n, 1.0 / n), size=self.samples).astype(float)
        return self.pools[data.pool][:, data.units].astype(float)


# ---------------------------------------------------------------------------------------------
# Statistics of every set per replicate, then the interval columns

# (reference weights, candidate weights) -> {metric: value}
Statistic = Callable[[np.ndarray, np.ndarray], dict[str, float]]


def distribution_statistic(reference: FeatureSet, candidate: FeatureSet, pr_k: int) -> Statistic:
    """FID, KID and the k-NN ball metrics of a candidate against the reference, as a function
    of both sets' weights (kernels and distances are computed once)."""
    r, c = reference.feats, candidate.feats
    k_rr, k_cc, k_cr = polynomial_kernel(r, r), polynomial_kernel(c, c), polynomial_kernel(c, r)
    real, fake, cross = Neighbours.of(r), Neighbours.of(c), _distances(c, r)

    def values(w_ref: np.ndarray, w_cand: np.ndarray) -> dict[str, float]:
        return {
            "fid": frechet_distance(c, r, w_cand, w_ref),
            "kid": weighted_kid(k_cc, k_rr, k_cr, w_cand, w_ref),
            **weighted_manifold_metrics(real, fake, cross, w_ref, w_cand, pr_k),
        }

    return values


def spectral_statistic(reference: FeatureSet, candidate: FeatureSet) -> Statistic:
    def values(w_ref: np.ndarray, w_cand: np.ndarray) -> dict[str, float]:
        return {
            "spectral_distance": spectral_distance(
                candidate.spectra, reference.spectra, w_cand, w_ref
            ),
            "spike_ratio": spike_ratio(candidate.spectra, w_cand),
        }

    return values


@dataclass
class Replicates:
    """A row's statistics: ``point`` on the unresampled rows, ``draws`` (samples,) per metric."""

    point: dict[str, float]
    draws: dict[str, np.ndarray]


def replicate(
    statistic: Statistic,
    reference: FeatureSet,
    candidate: FeatureSet,
    draws: Draws,
    w_ref: np.ndarray,
) -> Replicates:
    w_cand = draws.weights(candidate)
    point = statistic(np.ones(len(reference.units)), np.ones(len(candidate.units)))
    rows = [statistic(w_ref[b], w_cand[b]) for b in range(draws.samples)]
    return Replicates(point, {m: np.array([row[m] for row in rows]) for m in point})


def basic_interval(
    point: float, draws: np.ndarray, level: float, bounds=(-math.inf, math.inf)
) -> tuple[float, float]:
    """[2 t - q_high, 2 t - q_low], clipped to the statistic's range; NaN when the point is
    undefined or too few replicates are."""
    finite = draws[np.isfinite(draws)]
    if not math.isfinite(point) or len(finite) < MIN_FINITE_SHARE * len(draws):
        return math.nan, math.nan
    q_low, q_high = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return float(np.clip(2 * point - q_high, *bounds)), float(np.clip(2 * point - q_low, *bounds))


def interval_columns(
    rows: Mapping[str, Replicates],
    candidate: str,
    floor: str,
    shift: str,
    level: float,
) -> dict[str, float]:
    """The interval columns of ``candidate``'s row: its own, and its paired differences from the
    floor and shift rows (absent rows or the row itself: NaN)."""
    out = {}
    ours = rows[candidate]
    for metric, draws in ours.draws.items():
        point = ours.point[metric]
        out[f"{metric}_low"], out[f"{metric}_high"] = basic_interval(
            point, draws, level, BOUNDS.get(metric, (-math.inf, math.inf))
        )
        for name, other in (("floor", floor), ("shift", shift)):
            if other == candidate or other not in rows:
                continue
            theirs = rows[other]
            out[f"{metric}_vs_{name}_low"], out[f"{metric}_vs_{name}_high"] = basic_interval(
                point - theirs.point[metric], draws - theirs.draws[metric], level
            )
    return out


def undefined_reason(pool_sizes: Mapping[str, int], pool: str) -> str | None:
    """Why a set's intervals are undefined: too few train (or, for val, val) patients."""
    needed = [TRAIN_UNITS] + ([VAL_UNITS] if pool == VAL_UNITS else [])
    for name in needed:
        if pool_sizes.get(name, 0) < MIN_PATIENTS:
            return (
                f"intervals undefined: {pool_sizes.get(name, 0)} {name}, a patient bootstrap "
                f"needs at least {MIN_PATIENTS}"
            )
    return None


def study_intervals(
    groups: Mapping[tuple[str, int], tuple[FeatureSet, Mapping[str, FeatureSet], Callable]],
    pool_sizes: Mapping[str, int],
    floor: str,
    shift: str,
    samples: int,
    seed: int,
    level: float,
) -> pd.DataFrame:
    """One row per (feature space, set, class) with the interval columns and a note for the
    undefined ones. ``groups`` maps (space, label) to the reference set, the candidate sets by
    name and a statistic factory (reference, candidate) -> Statistic."""
    draws = Draws(pool_sizes, samples, seed)
    out = []
    for (space, label), (reference, candidates, factory) in groups.items():
        resampled = undefined_reason(pool_sizes, TRAIN_UNITS) is None
        if resampled:
            w_ref = draws.weights(reference)
            rows = {
                name: replicate(factory(reference, candidate), reference, candidate, draws, w_ref)
                for name, candidate in candidates.items()
            }
        for name, candidate in candidates.items():
            reason = undefined_reason(pool_sizes, candidate.pool)
            values = {} if reason else interval_columns(rows, name, floor, shift, level)
            if not reason and shift in rows and undefined_reason(pool_sizes, VAL_UNITS):
                values = {k: v for k, v in values.items() if "_vs_shift_" not in k}
            out.append(
                {
                    "feature_space": space,
                    "generator": name,
                    "label": label,
                    **values,
                    "interval_note": reason or "",
                }
            )
    frame = pd.DataFrame(out)
    for column in INTERVAL_COLUMNS:
        if column not in frame:
            frame[column] = math.nan
    return frame


# ---------------------------------------------------------------------------------------------
# From the quality jobs' .npz files


def _pool_of(name: str, floor: str, shift: str) -> str:
    return {floor: TRAIN_UNITS, shift: VAL_UNITS}.get(name, PATCH_UNITS)


def _names(arrays: Mapping[str, np.ndarray], keys) -> set[str]:
    return {str(name) for key in keys if key in arrays for name in arrays[key]}


def unit_pools(
    reference: Mapping[str, np.ndarray], sets: Mapping[str, Mapping[str, np.ndarray]], floor, shift
) -> dict[str, np.ndarray]:
    """The sorted names of the train patients (reference and floor) and of the val patients."""
    group_keys = keys.patient_name_keys(reference)
    train = _names(reference, group_keys)
    if floor in sets:
        train |= _names(sets[floor], keys.patient_name_keys(sets[floor]))
    val = _names(sets.get(shift, {}), keys.patient_name_keys(sets.get(shift, {})))
    return {TRAIN_UNITS: np.array(sorted(train)), VAL_UNITS: np.array(sorted(val))}


def _units(arrays, key: str, n: int, pool: str, pools) -> np.ndarray:
    """Each row's unit: its index in the pool of patient names, or itself (a patch)."""
    if pool == PATCH_UNITS:
        return np.arange(n)
    return unit_index(arrays[key], pools[pool])


def study_groups(
    reference: Mapping[str, np.ndarray],
    sets: Mapping[str, Mapping[str, np.ndarray]],
    spaces: tuple[str, ...],
    floor: str,
    shift: str,
    max_patches: int | None,
    seed: int,
    pr_k: int,
) -> tuple[dict, dict[str, int]]:
    """``study_intervals``' groups and unit-pool sizes from the reference .npz and each set's
    features .npz: per distribution space and class, the reference subsample and every set that
    has a row there (capped at ``max_patches`` rows); per class, the spectral sums (``pixels``)."""
    pools = unit_pools(reference, sets, floor, shift)
    train_pool = pools[TRAIN_UNITS]
    groups = {}
    for label in (0, 1):
        for space in spaces:
            key = keys.key(space, keys.REFERENCE, label)
            if key not in reference:
                continue
            keep = cap_rows(len(reference[key]), max_patches, seed, key)
            patients = unit_index(
                reference[keys.key(space, keys.REFERENCE_GROUPS, label)], train_pool
            )
            ref = FeatureSet(
                patients[keep], TRAIN_UNITS, feats=np.asarray(reference[key], float)[keep]
            )
            candidates = {}
            for name, arrays in sets.items():
                if keys.key(space, keys.FEATURES, label) not in arrays:
                    continue
                feats = np.asarray(arrays[keys.key(space, keys.FEATURES, label)], float)
                rows = cap_rows(len(feats), max_patches, seed, f"{name}/{space}/{label}")
                pool = _pool_of(name, floor, shift)
                units = _units(arrays, keys.key(space, keys.GROUPS, label), len(feats), pool, pools)
                candidates[name] = FeatureSet(units[rows], pool, feats=feats[rows])
            if candidates:
                factory = lambda r, c: distribution_statistic(r, c, pr_k)  # noqa: E731
                groups[(space, label)] = (ref, candidates, factory)
        prefix = keys.spectral_prefix(label, train=True)
        if f"{prefix}_counts" not in reference:
            continue
        ref = FeatureSet(
            unit_index(reference[keys.spectral_groups(prefix)], train_pool),
            TRAIN_UNITS,
            spectra=SpectralFeatures.from_arrays(reference, prefix),
        )
        candidates = {}
        for name, arrays in sets.items():
            own = keys.spectral_prefix(label)
            if f"{own}_counts" not in arrays:
                continue
            pool = _pool_of(name, floor, shift)
            spectra = SpectralFeatures.from_arrays(arrays, own)
            units = _units(arrays, keys.spectral_groups(own), len(spectra), pool, pools)
            candidates[name] = FeatureSet(units, pool, spectra=spectra)
        if candidates:
            groups[("pixels", label)] = (ref, candidates, spectral_statistic)
    return groups, {pool: len(names) for pool, names in pools.items()}
