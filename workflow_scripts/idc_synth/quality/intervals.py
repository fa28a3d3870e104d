"""Patient-level bootstrap intervals of the image-quality rows (image_quality.tsv).

Patches of one patient are not independent, so an interval of FID & co. must resample patients
whole. The resampled units:
- train patients: their train patches (the reference every row is measured against) and their
  held-out patches (the floor row) move together, as they are the same patients;
- val patients: the shift row's patches;
- a generator's patches, one by one: independent draws of one trained generator (the variance of
  training another generator is not in these intervals).

A replicate is a multiplicity per unit, passed as weights to the very functions that compute
the rows (idc_synth.quality.metrics; spectra as weighted sums of per-patient sums), so no feature
is recomputed and the unresampled statistic t (unit weights) is the row's own value: FID from
weighted means and covariances, KID as a weighted U-statistic for every replicate at once,
precision, recall, density and coverage from k-NN balls around the distinct drawn points (a
repeated point is one point of the manifold, not a zero-radius ball). Each row gets the interval
of its own value and of its paired difference from the floor row and from the shift row (the
same replicate, so shared train patients cancel).

The intervals are bias-corrected percentile intervals, [q_low - 2 b, q_high - 2 b] with
b = mean(t*) - t (`bootstrap_interval`): FID, KID, precision and recall are biased at finite n,
and a draw with repeats holds fewer distinct patches, so plain percentiles would sit beside the
estimate. Shifting them by twice the bootstrap bias centres them where the basic interval
[2 t - q_high, 2 t - q_low] was, on t - b, while keeping the replicates' skew the right way
round. benchmarks/realism_coverage.py measures their coverage. Above ``max_patches`` rows per
set, a seeded subsample is resampled (the interval is then of the statistic at that n).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from idc_synth.quality import keys
from idc_synth.quality.metrics import ball_metrics, fid, kid
from idc_synth.quality.neighbours import Neighbours, distances
from idc_synth.quality.table import BOUNDS, INTERVAL_COLUMNS, MIN_PATIENTS, ROW_COLUMNS
from idc_synth.spectrum import SpectralFeatures, spectral_distance, spike_ratio

MIN_FINITE_SHARE = 0.95  # replicates where a statistic is defined, else the interval is not
TRAIN_UNITS, VAL_UNITS, PATCH_UNITS = "train patients", "val patients", "patches"


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

# (reference weights, candidate weights), each (weightings, rows) -> {metric: (weightings,)}
Statistic = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]


def distribution_statistic(reference: FeatureSet, candidate: FeatureSet, pr_k: int) -> Statistic:
    """FID, KID and the k-NN ball metrics (idc_synth.quality.metrics) of a candidate against
    the reference, as a function of both sets' weights (distances and neighbour orders are
    computed once; the balls are around the distinct drawn points)."""
    r, c = reference.feats, candidate.feats
    real, fake, cross = Neighbours.of(r), Neighbours.of(c), distances(c, r)

    def balls(w_ref: np.ndarray, w_cand: np.ndarray) -> dict[str, float]:
        real_radii = real.radii(w_ref > 0, pr_k)
        fake_radii = fake.radii(w_cand > 0, pr_k)
        return ball_metrics(real_radii, fake_radii, lambda rows: cross[rows], w_ref, w_cand, pr_k)

    def values(w_ref: np.ndarray, w_cand: np.ndarray) -> dict[str, np.ndarray]:
        pairs = list(zip(w_ref, w_cand, strict=True))
        manifold = [balls(wr, wc) for wr, wc in pairs]
        return {
            "fid": np.array([fid(c, r, wc, wr) for wr, wc in pairs]),
            "kid": kid(c, r, w_cand, w_ref),
            **{m: np.array([row[m] for row in manifold]) for m in manifold[0]},
        }

    return values


def spectral_statistic(reference: FeatureSet, candidate: FeatureSet) -> Statistic:
    def values(w_ref: np.ndarray, w_cand: np.ndarray) -> dict[str, np.ndarray]:
        pairs = list(zip(w_ref, w_cand, strict=True))
        return {
            "spectral_distance": np.array(
                [
                    spectral_distance(candidate.spectra, reference.spectra, wc, wr)
                    for wr, wc in pairs
                ]
            ),
            "spike_ratio": np.array([spike_ratio(candidate.spectra, wc) for _, wc in pairs]),
        }

    return values


@dataclass
class Replicates:
    """A row's statistics: ``point`` on the unresampled rows (unit weights), ``draws``
    (samples,) per metric."""

    point: dict[str, float]
    draws: dict[str, np.ndarray]


def replicate(
    statistic: Statistic,
    reference: FeatureSet,
    candidate: FeatureSet,
    draws: Draws,
    w_ref: np.ndarray,
) -> Replicates:
    point = statistic(np.ones((1, len(reference.units))), np.ones((1, len(candidate.units))))
    return Replicates(
        {metric: float(value[0]) for metric, value in point.items()},
        statistic(w_ref, draws.weights(candidate)),
    )


def bootstrap_interval(
    point: float, draws: np.ndarray, level: float, bounds=(-math.inf, math.inf)
) -> tuple[float, float]:
    """The bias-corrected percentile interval [q_low - 2 b, q_high - 2 b], b = mean(t*) - t,
    clipped to the statistic's range; NaN when the point is undefined or too few replicates
    are. Centred, like the basic interval, on the bias-corrected estimate t - b, but it keeps
    the skew of the replicates where the basic interval mirrors it: a distance far above its
    floor has a long upper tail, which the basic interval turned into a lower bound at 0."""
    finite = draws[np.isfinite(draws)]
    if not math.isfinite(point) or len(finite) < MIN_FINITE_SHARE * len(draws):
        return math.nan, math.nan
    shift = 2 * (finite.mean() - point)
    q_low, q_high = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return float(np.clip(q_low - shift, *bounds)), float(np.clip(q_high - shift, *bounds))


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
        out[f"{metric}_low"], out[f"{metric}_high"] = bootstrap_interval(
            point, draws, level, BOUNDS.get(metric, (-math.inf, math.inf))
        )
        for name, other in (("floor", floor), ("shift", shift)):
            if other == candidate or other not in rows:
                continue
            theirs = rows[other]
            out[f"{metric}_vs_{name}_low"], out[f"{metric}_vs_{name}_high"] = bootstrap_interval(
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


def with_intervals(frame: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """The rows with their interval columns (before status and note); an undefined interval's
    reason joins the row's note."""
    on = ["feature_space", "generator", "label"]
    merged = frame.merge(intervals, on=on, how="left", validate="one_to_one")
    reason = merged["interval_note"].fillna("")
    merged["note"] = [
        "; ".join(part for part in (str(note) if pd.notna(note) else "", why) if part)
        for note, why in zip(merged["note"], reason, strict=True)
    ]
    columns = [c for c in ROW_COLUMNS if c not in ("status", "note")]
    return merged[[*columns, *INTERVAL_COLUMNS, "status", "note"]]
