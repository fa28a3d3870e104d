"""Spectral fidelity: the periodic-spike ratio and the azimuthally averaged spectrum distance."""

from __future__ import annotations

import numpy as np
import pytest

from idc_synth.spectrum import (
    CROP,
    PERIOD_FREQUENCIES,
    SpectralFeatures,
    grey_centred,
    spectral_distance,
    spectral_features,
    spike_ratio,
)


def smooth_patches(n: int = 32, seed: int = 0) -> np.ndarray:
    """Blobs: white noise blurred by a box filter, no periodic structure."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (n, 54, 54, 3))
    blurred = sum(noise[:, i : i + 50, j : j + 50] for i in range(5) for j in range(5)) / 5
    return np.clip(150 + 25 * blurred, 0, 255).astype(np.uint8)


def with_grid(patches: np.ndarray, period: int, amplitude: float) -> np.ndarray:
    """A checkerboard of the given period printed over the patches."""
    y, x = np.mgrid[:50, :50]
    grid = np.where((x // (period // 2) + y // (period // 2)) % 2, amplitude, -amplitude)
    return np.clip(patches + grid[None, :, :, None], 0, 255).astype(np.uint8)


def test_period_frequencies_are_the_period_2_and_4_bins_once_each():
    assert CROP % 4 == 0
    assert len(PERIOD_FREQUENCIES) == 9  # 15 nonzero points of {0, 12, 24, 36}^2, paired
    assert (CROP // 2, CROP // 2) in PERIOD_FREQUENCIES and (0, 0) not in PERIOD_FREQUENCIES


def test_a_checkerboard_spikes_and_smooth_patches_do_not():
    smooth = smooth_patches()
    assert spike_ratio(spectral_features(smooth)) < 2
    for period in (2, 4):
        gridded = spike_ratio(spectral_features(with_grid(smooth, period, 6)))
        assert gridded > 20, period


def test_spike_ratio_is_finite_for_a_noise_free_grid():
    flat = np.full((4, 50, 50, 3), 128, np.uint8)
    assert np.isfinite(spike_ratio(spectral_features(with_grid(flat, 2, 10))))


def test_grey_centred_crops_and_removes_the_mean():
    grey = grey_centred(smooth_patches(3))
    assert grey.shape == (3, CROP, CROP)
    assert np.allclose(grey.mean(axis=(1, 2)), 0, atol=1e-3)


def test_spectral_distance_is_zero_for_a_set_and_grows_with_blur():
    patches = smooth_patches(40)
    sharp = spectral_features(patches)
    assert spectral_distance(sharp, sharp) == 0
    blurred = ((patches[:, :-1, :-1].astype(int) + patches[:, 1:, 1:]) // 2).astype(np.uint8)
    slightly = spectral_distance(spectral_features(blurred), sharp)
    noisy = np.clip(patches + np.random.default_rng(1).normal(0, 20, patches.shape), 0, 255)
    assert slightly > 0
    assert spectral_distance(spectral_features(noisy.astype(np.uint8)), sharp) > 0.1


def test_grouped_sums_and_weights_reproduce_the_per_patch_means():
    features = spectral_features(smooth_patches(12))
    groups = np.repeat(["a", "b", "c"], 4)
    names, grouped = features.grouped(groups)
    assert names.tolist() == ["a", "b", "c"] and grouped.counts.tolist() == [4, 4, 4]
    for a, b in zip(grouped.mean(), features.mean(), strict=True):
        assert np.allclose(a, b)
    # weight 2 on group a = its patches twice
    rows = np.r_[np.arange(12), np.arange(4)]
    doubled = SpectralFeatures(features.profiles[rows], features.stencils[rows], np.ones(16))
    assert spike_ratio(grouped, np.array([2, 1, 1])) == pytest.approx(spike_ratio(doubled))
    round_trip = SpectralFeatures.from_arrays(grouped.arrays("x"), "x")
    assert np.allclose(round_trip.mean()[0], grouped.mean()[0], rtol=1e-5)
