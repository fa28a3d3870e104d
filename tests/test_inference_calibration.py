"""The primary test is calibrated, and the per-patch McNemar it replaced is not: a seeded
simulation of whole studies (idc_synth.simulation) with per-patient difficulty, arm-by-patient
model bias and per-seed noise, several patches per patient.

Monte Carlo tolerance: with N simulated null studies the observed rejection rate of a test
whose true rate is alpha has a binomial standard error sqrt(alpha (1 - alpha) / N); the test
may exceed alpha by at most 3 such errors (one-sided, a chance of about 0.1% to fail when the
test is exactly calibrated).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from idc_synth.simulation import Design, null_tolerance, rejection_rates, simulate_study
from idc_synth.statistics import Settings

ALPHA = 0.05
NULL_STUDIES = 300
EFFECT_STUDIES = 150
PLANTED = 0.8  # on the logit scale: about +0.09 balanced accuracy
SETTINGS = Settings(bootstrap_samples=400, alpha=ALPHA)
DESIGN = Design(n_patients=20, patches_per_patient=30, n_seeds=3)


@pytest.fixture(scope="module")
def null_rates() -> pd.Series:
    table = rejection_rates(DESIGN, [0.0], NULL_STUDIES, SETTINGS, seed=1)
    return table.set_index("method")["rejection_rate"]


def test_primary_test_holds_alpha_under_the_null(null_rates):
    assert null_rates["two_level_bootstrap"] <= ALPHA + null_tolerance(ALPHA, NULL_STUDIES)


def test_per_patch_mcnemar_over_rejects_in_the_same_studies(null_rates):
    # Far beyond any Monte Carlo allowance: patches of one patient are not independent.
    assert null_rates["patch_mcnemar"] > 4 * ALPHA
    assert null_rates["patch_mcnemar"] > null_rates["two_level_bootstrap"] + 0.2


def test_primary_test_finds_a_planted_effect_most_of_the_time():
    table = rejection_rates(
        DESIGN, [PLANTED], EFFECT_STUDIES, SETTINGS, seed=2, methods=("two_level_bootstrap",)
    )
    row = table.iloc[0]
    assert 0.05 < row["true_difference"] < 0.15
    assert row["rejection_rate"] >= 0.7


def test_the_simulation_is_seeded_and_has_the_stated_structure():
    design = Design(n_patients=4, patches_per_patient=5, n_seeds=2)
    first = simulate_study(np.random.default_rng(5), design, 0.0)
    again = simulate_study(np.random.default_rng(5), design, 0.0)
    assert all(np.array_equal(first[key], again[key]) for key in first)
    assert first["a"].shape == (2, 20) and list(np.bincount(first["codes"])) == [5] * 4
    assert ((first["a"] >= 0) & (first["a"] <= 1)).all()


def test_primary_test_holds_alpha_with_few_patients_too():
    # Where the plain percentile bootstrap is too narrow, the expanded one must still hold.
    design = Design(n_patients=8, patches_per_patient=30, n_seeds=3)
    table = rejection_rates(
        design, [0.0], NULL_STUDIES, SETTINGS, seed=3, methods=("two_level_bootstrap",)
    )
    assert table["rejection_rate"].iloc[0] <= ALPHA + null_tolerance(ALPHA, NULL_STUDIES)
