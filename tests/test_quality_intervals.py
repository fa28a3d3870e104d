"""Patient-level bootstrap intervals of the image-quality rows."""

from __future__ import annotations

import numpy as np
import pytest

from idc_synth.quality import kid, manifold_metrics
from idc_synth.quality_intervals import (
    MIN_PATIENTS,
    PATCH_UNITS,
    TRAIN_UNITS,
    VAL_UNITS,
    FeatureSet,
    Neighbours,
    _distances,
    basic_interval,
    distribution_statistic,
    frechet_distance,
    polynomial_kernel,
    study_intervals,
    weighted_kid,
    weighted_manifold_metrics,
)


def clusters(n: int, dim: int, shift: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, (n, dim))


@pytest.mark.parametrize("n", [40, 400])  # fewer and more rows than dimensions
def test_frechet_distance_matches_clean_fid_on_both_routes(n):
    from cleanfid.fid import fid_from_feats

    x, y = clusters(n, 64, 0.0, 0), clusters(n, 64, 0.3, 1)
    if n > 64:
        assert frechet_distance(x, y) == pytest.approx(fid_from_feats(x, y), rel=1e-6)
    else:  # singular covariances: scipy's sqrtm is unreliable, the nuclear norm is exact
        ref = frechet_distance(np.repeat(x, 3, 0), np.repeat(y, 3, 0))
        assert frechet_distance(x, y) == pytest.approx(ref, rel=0.05)
    weights = np.random.default_rng(2).integers(0, 3, n).astype(float)
    expanded = np.repeat(x, weights.astype(int), axis=0)
    assert frechet_distance(x, y, weights) == pytest.approx(frechet_distance(expanded, y), rel=1e-6)


def test_weighted_kid_at_unit_weights_is_the_full_u_statistic():
    x, y = clusters(60, 16, 0.0, 0), clusters(50, 16, 0.5, 1)
    ones_x, ones_y = np.ones(60), np.ones(50)
    value = weighted_kid(
        polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y), ones_x, ones_y
    )
    subsets, _, _ = kid(x, y, subset_size=50, n_subsets=200, seed=0)  # clean-fid's estimate
    assert value == pytest.approx(subsets, rel=0.1)
    assert value > 0.01


def test_weighted_manifold_metrics_at_unit_weights_equal_the_plain_ones_and_ignore_repeats():
    real, fake = clusters(80, 8, 0.0, 0), clusters(70, 8, 0.7, 1)
    args = Neighbours.of(real), Neighbours.of(fake), _distances(fake, real)
    plain = manifold_metrics(real, fake, k=3)
    assert weighted_manifold_metrics(*args, np.ones(80), np.ones(70), 3) == pytest.approx(plain)
    # a repeated real point is still one ball centre: its k-NN radius is not zero
    repeats = np.ones(80)
    repeats[:10] = 4
    values = weighted_manifold_metrics(*args, repeats, np.ones(70), 3)
    assert all(0 < values[m] <= 1 for m in ("precision", "recall", "coverage"))
    assert values["density"] > 0
    # a fake point drawn twice counts twice: density is its plain value on the expanded set
    twice = np.ones(70)
    twice[:5] = 2
    expanded = np.concatenate([fake, fake[:5]])
    density = weighted_manifold_metrics(*args, np.ones(80), twice, 3)["density"]
    expected = manifold_metrics(real, expanded, k=3)["density"]
    assert density == pytest.approx(expected)


def test_basic_interval_reverses_the_bootstrap_bias():
    # replicates 10-14 around an estimate of 10: the statistic reads ~2 high, so the
    # interval of the true value lies below the estimate, [2 t - q_high, 2 t - q_low]
    draws = 10.0 + np.linspace(0, 4, 1001)
    assert basic_interval(10.0, draws, 0.95) == pytest.approx((6.1, 9.9))
    assert basic_interval(10.0, draws, 0.95, bounds=(7.0, np.inf)) == pytest.approx((7.0, 9.9))
    assert np.isnan(basic_interval(10.0, np.full(10, np.nan), 0.95)).all()


def patient_sets(patient_sd: float, shift: float, seed: int, n_patients: int = 12):
    """Train and held-out rows of the same patients (patient means N(0, patient_sd)), val rows of
    other patients, and generator patches shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    dim, per = 6, 12
    means = rng.normal(0, patient_sd, (2 * n_patients, dim))

    def rows(patients, count):
        units = np.repeat(patients, count)
        return units, means[units] + rng.normal(0, 1, (len(units), dim))

    train_units, train = rows(np.arange(n_patients), per)
    floor_units, floor = rows(np.arange(n_patients), per // 2)
    val_units, val = rows(np.arange(n_patients, 2 * n_patients), per // 2)
    fake = rng.normal(shift, 1.0, (n_patients * per // 2, dim))
    reference = FeatureSet(train_units, TRAIN_UNITS, feats=train)
    candidates = {
        "gan": FeatureSet(np.arange(len(fake)), PATCH_UNITS, feats=fake),
        "holdout": FeatureSet(floor_units, TRAIN_UNITS, feats=floor),
        "real_val": FeatureSet(val_units - n_patients, VAL_UNITS, feats=val),
    }
    factory = lambda r, c: distribution_statistic(r, c, 3)  # noqa: E731
    groups = {("classifier", 0): (reference, candidates, factory)}
    return groups, {TRAIN_UNITS: n_patients, VAL_UNITS: n_patients}


def run(groups, pools):
    table = study_intervals(groups, pools, "holdout", "real_val", 200, 0, 0.95)
    return table.set_index("generator")


def test_a_shifted_generator_is_above_the_floor_and_a_faithful_one_is_not():
    shifted = run(*patient_sets(0.3, 1.0, 0))
    assert shifted.loc["gan", "fid_vs_floor_low"] > 0
    assert shifted.loc["gan", "precision_vs_floor_high"] < 0
    faithful = run(*patient_sets(0.0, 0.0, 0))
    assert faithful.loc["gan", "fid_vs_floor_low"] < 0 < faithful.loc["gan", "fid_vs_floor_high"]
    assert np.isnan(faithful.loc["holdout", "fid_vs_floor_low"])  # the floor itself
    assert faithful.loc["gan", "fid_low"] <= faithful.loc["gan", "fid_high"]


def test_resampling_patients_not_patches_widens_the_intervals_when_patients_differ():
    groups, pools = patient_sets(1.0, 0.0, 1)
    reference, candidates, factory = groups[("classifier", 0)]
    # the same rows with each patch its own unit: what a patch-level bootstrap would do
    as_patches = {
        name: FeatureSet(np.arange(len(data.units)), data.pool, feats=data.feats)
        for name, data in candidates.items()
        if name != "holdout"
    }
    train = FeatureSet(np.arange(len(reference.units)), TRAIN_UNITS, feats=reference.feats)
    patch_pools = {TRAIN_UNITS: len(train.units), VAL_UNITS: len(as_patches["real_val"].units)}

    def width(table):  # the generator against the val shift: a difference, never clipped
        return table.loc["gan", "fid_vs_shift_high"] - table.loc["gan", "fid_vs_shift_low"]

    patients = run(groups, pools)
    patches = run({("classifier", 0): (train, as_patches, factory)}, patch_pools)
    assert width(patients) > 1.5 * width(patches)


def test_too_few_patients_make_intervals_undefined_with_the_reason():
    groups, pools = patient_sets(0.3, 1.0, 0, n_patients=MIN_PATIENTS - 1)
    table = run(groups, pools)
    assert table[["fid_low", "fid_vs_floor_low"]].isna().all().all()
    assert table["interval_note"].str.contains(f"{MIN_PATIENTS - 1} train patients").all()
