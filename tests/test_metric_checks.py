"""Self-checks of the image-quality metrics on feature sets whose answer is known.

Each case pins what a metric must say for a reason that can be read off the construction:
identical sets, disjoint sets, a generator collapsed onto one mode, a generator covering a subset
of the real modes (which fails if precision and recall are swapped, torch-fidelity issue 58) and
duplicated points (distance-0 ties, where prdc issue 7 scored identical sets density = coverage =
0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from idc_synth.quality.assess import distribution_row
from idc_synth.quality.metrics import fid, kid, manifold_metrics
from idc_synth.quality.table import QualitySettings

K = 3
MODES = 5


def gaussian(n: int, dim: int = 16, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)) + shift


def mixture(n: int, modes: list[int], seed: int, spread: float = 1.0) -> np.ndarray:
    """``n`` points spread evenly over well-separated Gaussians at 20 e_mode (few dimensions:
    k-NN balls of 200 points per mode fill their mode)."""
    rng = np.random.default_rng(seed)
    centres = 20.0 * np.eye(MODES)[np.resize(modes, n)]
    return centres + spread * rng.normal(size=(n, MODES))


def test_identical_sets_score_a_perfect_match():
    x = gaussian(600)
    assert abs(fid(x, x)) < 1e-6
    same, shifted = kid(x, x), kid(x, gaussian(600, shift=1.0, seed=1))
    assert abs(same) < 0.05 * shifted  # the U-statistic is unbiased: "0" is relative to a shift
    scores = manifold_metrics(x, x, K)
    assert scores["precision"] == scores["recall"] == scores["coverage"] == 1.0
    # each real ball holds its own copy and its k neighbours' copies: (k + 1) / k, not 1
    assert scores["density"] == pytest.approx((K + 1) / K)


def test_a_fresh_sample_of_the_real_distribution_has_density_near_one():
    real, fake = gaussian(2000, dim=4, seed=0), gaussian(2000, dim=4, seed=1)
    scores = manifold_metrics(real, fake, K)
    assert scores["density"] == pytest.approx(1.0, abs=0.1)
    # Naeem et al. 2020: coverage of an equal-size sample of the same law is ~ 1 - 2^-k
    assert scores["coverage"] == pytest.approx(1 - 0.5**K, abs=0.05)


@pytest.mark.parametrize("offset", [0.0, 1e3])  # at 1e3 float32 rounding: copies not at 0
def test_duplicates_sit_inside_their_zero_radius_balls(offset):
    """Every real point four times: each k-NN radius is 0 and a generated copy lies exactly on
    the boundary. It is inside, so the identical sets are not scored 0 (prdc issue 7)."""
    x = np.repeat(gaussian(50, seed=2) + offset, 4, axis=0)
    scores = manifold_metrics(x, x, K)
    assert scores["precision"] == scores["recall"] == scores["coverage"] == 1.0
    assert scores["density"] == pytest.approx(4 / K)  # four zero-radius balls hold each copy


def test_disjoint_sets_score_nothing_in_common():
    real, fake = gaussian(300), gaussian(300, shift=50, seed=1)
    scores = manifold_metrics(real, fake, K)
    assert scores == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    assert fid(real, fake) > 1e4  # 16 dimensions x 50^2 from the means alone


def test_a_generator_collapsed_onto_one_mode_is_precise_but_neither_recalls_nor_covers():
    real = mixture(1000, list(range(MODES)), seed=0)
    collapsed = mixture(1000, [0], seed=1, spread=0.3)  # all near the centre of mode 0
    scores = manifold_metrics(real, collapsed, K)
    assert scores["precision"] > 0.9
    assert scores["recall"] < 0.1  # tiny generated balls around one centre hold few real points
    assert scores["coverage"] < 1 / MODES + 0.05  # at most mode 0's real balls


def test_precision_and_recall_keep_their_orientation_in_the_table_row():
    """A generator covering two of five real modes: its patches are all plausible (precision
    high), most real patches have no generated neighbour (recall low). Swapping the two, as
    torch-fidelity once did (issue 58), fails here; so does swapping real and fake at the call."""
    real = mixture(1000, list(range(MODES)), seed=0)
    subset = mixture(1000, [0, 1], seed=1)
    settings = QualitySettings(kid_subset_size=200, kid_subsets=5, pr_k=K)
    row = distribution_row("classifier", "dcgan", 1, subset, real, settings)
    assert row["precision"] > 0.9
    assert row["recall"] == pytest.approx(2 / MODES, abs=0.1)
    assert row["coverage"] == pytest.approx(2 / MODES, abs=0.1)
    # the mirror image: a generator spreading beyond the real modes recalls, but is not precise
    mirror = manifold_metrics(mixture(1000, [0, 1], seed=0), real, K)
    assert mirror["recall"] > 0.9 and mirror["precision"] < 0.5
    assert not math.isnan(row["density"])
