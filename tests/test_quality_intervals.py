"""Patient-level bootstrap intervals of the image-quality rows."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from idc_synth.quality.intervals import (
    MIN_PATIENTS,
    PATCH_UNITS,
    TRAIN_UNITS,
    VAL_UNITS,
    FeatureSet,
    bootstrap_interval,
    distribution_statistic,
    study_intervals,
)
from idc_synth.quality.metrics import ball_metrics, fid, kid, manifold_metrics
from idc_synth.quality.neighbours import Neighbours, distances


def clusters(n: int, dim: int, shift: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, (n, dim))


@pytest.mark.parametrize("n", [40, 400])  # fewer and more rows than dimensions
def test_fid_matches_clean_fid_on_both_routes(n):
    from cleanfid.fid import fid_from_feats

    x, y = clusters(n, 64, 0.0, 0), clusters(n, 64, 0.3, 1)
    if n > 64:
        assert fid(x, y) == pytest.approx(fid_from_feats(x, y), rel=1e-6)
    else:  # singular covariances: scipy's sqrtm is unreliable, the nuclear norm is exact
        ref = fid(np.repeat(x, 3, 0), np.repeat(y, 3, 0))
        assert fid(x, y) == pytest.approx(ref, rel=0.05)
    weights = np.random.default_rng(2).integers(0, 3, n).astype(float)
    expanded = np.repeat(x, weights.astype(int), axis=0)
    assert fid(x, y, weights) == pytest.approx(fid(expanded, y), rel=1e-6)


def test_kid_of_many_weightings_at_once_equals_each_weighting_alone(monkeypatch):
    from cleanfid.fid import kernel_distance

    from idc_synth.quality import neighbours

    x, y = clusters(60, 16, 0.0, 0), clusters(50, 16, 0.5, 1)
    np.random.seed(0)  # noqa: NPY002  (clean-fid draws its subsets from the global RNG)
    subsets = kernel_distance(x, y, num_subsets=200, max_subset_size=50)
    assert kid(x, y) == pytest.approx(subsets, rel=0.1) and kid(x, y) > 0.01
    weights = np.random.default_rng(3).integers(0, 3, (4, 60)).astype(float)
    together = kid(x, y, weights, np.ones((4, 50)))
    alone = [kid(x, y, w, np.ones(50)) for w in weights]
    np.testing.assert_allclose(together, alone)
    monkeypatch.setattr(neighbours, "DISTANCE_BUDGET_BYTES", 8 * 60 * 7)  # blocks of 7 rows
    np.testing.assert_allclose(kid(x, y, weights, np.ones((4, 50))), alone)


def test_weighted_manifold_metrics_at_unit_weights_equal_the_plain_ones_and_ignore_repeats():
    real, fake = clusters(80, 8, 0.0, 0), clusters(70, 8, 0.7, 1)
    real_nb, fake_nb, cross = Neighbours.of(real), Neighbours.of(fake), distances(fake, real)

    def weighted_manifold_metrics(w_real, w_fake, k):
        radii = real_nb.radii(w_real > 0, k), fake_nb.radii(w_fake > 0, k)
        return ball_metrics(*radii, lambda rows: cross[rows], w_real, w_fake, k)

    plain = manifold_metrics(real, fake, k=3)
    assert weighted_manifold_metrics(np.ones(80), np.ones(70), 3) == pytest.approx(plain)
    # a repeated real point is still one ball centre: its k-NN radius is not zero
    repeats = np.ones(80)
    repeats[:10] = 4
    values = weighted_manifold_metrics(repeats, np.ones(70), 3)
    assert all(0 < values[m] <= 1 for m in ("precision", "recall", "coverage"))
    assert values["density"] > 0
    # a fake point drawn twice counts twice: density is its plain value on the expanded set
    twice = np.ones(70)
    twice[:5] = 2
    expanded = np.concatenate([fake, fake[:5]])
    density = weighted_manifold_metrics(np.ones(80), twice, 3)["density"]
    expected = manifold_metrics(real, expanded, k=3)["density"]
    assert density == pytest.approx(expected)


def test_bootstrap_interval_removes_the_bootstrap_bias_and_keeps_the_skew():
    # replicates 10-14 around an estimate of 10: the statistic reads ~2 high, so the
    # interval of the true value lies below the estimate, [q_low - 2 b, q_high - 2 b]
    draws = 10.0 + np.linspace(0, 4, 1001)
    assert bootstrap_interval(10.0, draws, 0.95) == pytest.approx((6.1, 9.9))
    assert bootstrap_interval(10.0, draws, 0.95, (7.0, np.inf)) == pytest.approx((7.0, 9.9))
    assert np.isnan(bootstrap_interval(10.0, np.full(10, np.nan), 0.95)).all()
    # a long upper tail stays above: no lower bound at 0 for a distance far from 0
    skewed = 3.0 + np.random.default_rng(0).gamma(1.0, 1.0, 2000)
    low, high = bootstrap_interval(3.5, skewed, 0.95, (0.0, np.inf))
    assert 0.5 < low < 3.5 < high


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


def test_fid_intervals_cover_a_known_distance_and_exclude_0_far_above_the_floor():
    """Seeded studies of Gaussian features with a known FID (benchmarks/realism_coverage.py
    prints the full table): far above the floor no interval reaches 0, and most intervals hold
    the truth, far from 0 and at 0."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from realism_coverage import Design, one_study

    design = Design("test", n=150, patients=20, dim=16)
    floor = np.median([one_study(design, 0.0, 100 + i, 2, 0.95)["floor"] for i in range(5)])
    for true_fid in (0.0, 28 * floor):
        studies = [one_study(design, true_fid, seed, 100, 0.95) for seed in range(8)]
        held = [low <= true_fid <= high for low, high in (s["new"] for s in studies)]
        assert sum(held) >= 6, (true_fid, [s["new"] for s in studies])
        if true_fid:
            assert all(s["new"][0] > 0 for s in studies), [s["new"] for s in studies]
