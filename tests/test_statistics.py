"""Paired tests, effect sizes, Holm and the patient bootstrap (idc_synth.statistics)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from idc_synth.metrics import classification_metrics
from idc_synth.statistics import (
    TESTS_COLUMNS,
    Settings,
    compare_arms,
    comparisons,
    holm,
    iter_patient_bootstrap,
    mcnemar_test,
    paired_tests,
    patient_resamples,
    resample_indices,
    weighted_metrics,
)


def correctness_from_table(both: int, only_a: int, only_b: int, neither: int):
    """Per-patch correctness of two classifiers with the given 2x2 McNemar table."""
    correct_a = np.r_[np.ones(both), np.ones(only_a), np.zeros(only_b), np.zeros(neither)]
    correct_b = np.r_[np.ones(both), np.zeros(only_a), np.ones(only_b), np.zeros(neither)]
    return correct_a.astype(bool), correct_b.astype(bool)


def test_mcnemar_exact_on_a_small_table():
    result = mcnemar_test(*correctness_from_table(50, 10, 2, 5))
    # Exact binomial: 2 * P(X <= 2), X ~ Binomial(12, 1/2) = 2 * (1 + 12 + 66) / 4096.
    assert result["exact"] and result["statistic"] == 2
    assert result["p_value"] == pytest.approx(158 / 4096)
    assert result["effect_size"] == pytest.approx(10 / 12 - 0.5)


def test_mcnemar_chi_square_on_a_large_table():
    result = mcnemar_test(*correctness_from_table(100, 30, 12, 50))
    assert not result["exact"]
    assert result["statistic"] == pytest.approx((abs(30 - 12) - 1) ** 2 / 42)
    assert result["p_value"] == pytest.approx(stats.chi2.sf(289 / 42, 1))


def test_mcnemar_without_discordant_patches_is_p_one():
    result = mcnemar_test(*correctness_from_table(20, 0, 0, 4))
    assert result["p_value"] == 1.0 and "no discordant" in result["note"]


def test_paired_tests_match_scipy_and_the_effect_sizes():
    b = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    a = b + np.array([1.0, 2.0, -1.0, 3.0, 3.0])
    t_row, w_row = paired_tests(a, b)
    t_ref, w_ref = stats.ttest_rel(a, b), stats.wilcoxon(a, b)
    assert t_row["statistic"] == pytest.approx(t_ref.statistic)
    assert t_row["p_value"] == pytest.approx(t_ref.pvalue)
    assert w_row["statistic"] == pytest.approx(w_ref.statistic)
    assert w_row["p_value"] == pytest.approx(w_ref.pvalue)
    differences = a - b
    assert t_row["effect_size"] == pytest.approx(differences.mean() / differences.std(ddof=1))
    # |d| ranks: 1 and -1 tie (1.5 each), 2 -> 3, the two 3s -> 4.5: R+ = 13.5, R- = 1.5.
    assert w_row["effect_size"] == pytest.approx((13.5 - 1.5) / 15)
    assert t_row["mean_difference"] == pytest.approx(1.6) and t_row["n"] == 5


@pytest.mark.parametrize(
    ("a", "b", "note"),
    [([0.9], [0.8], "needs at least 2"), ([0.9, 0.8, 0.7], [0.9, 0.8, 0.7], "zero")],
)
def test_undefined_paired_tests_give_nan_with_a_note(a, b, note):
    for row in paired_tests(a, b):
        assert np.isnan(row["p_value"]) and note in row["note"]


def test_holm_against_a_known_example():
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    with_nan = holm([0.01, np.nan, 0.04])
    np.testing.assert_allclose(with_nan, [0.02, np.nan, 0.04])


def test_patient_bootstrap_keeps_patients_whole_and_is_seeded():
    patients = np.repeat(["p1", "p2", "p3", "p4", "p5"], [3, 7, 1, 4, 5])
    resamples = list(iter_patient_bootstrap(patients, 200, seed=7))
    for rows in resamples:
        copies = np.bincount(rows, minlength=len(patients))
        drawn = 0
        for patient in np.unique(patients):
            per_patch = copies[patients == patient]
            assert (per_patch == per_patch[0]).all()  # all of a patient's patches, or none
            drawn += per_patch[0]
        assert drawn == 5  # as many patient draws as patients
    again = list(iter_patient_bootstrap(patients, 200, seed=7))
    assert all(np.array_equal(x, y) for x, y in zip(resamples, again, strict=True))
    other = list(iter_patient_bootstrap(patients, 200, seed=8))
    assert not all(np.array_equal(x, y) for x, y in zip(resamples, other, strict=True))


def test_weighted_metrics_equal_the_metrics_of_the_explicit_resample():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 120)
    probabilities = np.round(np.clip(rng.random(120) * 0.7 + labels * 0.25, 0, 1), 2)  # ties
    codes = rng.integers(0, 8, 120)
    counts = patient_resamples(8, 30, seed=1)
    metrics = weighted_metrics(labels, probabilities, 0.5, counts[:, codes])
    for sample, patient_counts in enumerate(counts):
        rows = resample_indices(codes, patient_counts)
        expected = classification_metrics(labels[rows], probabilities[rows], 0.5)
        for name, values in metrics.items():
            np.testing.assert_allclose(values[sample], expected[name], atol=1e-12)


def test_comparisons_only_of_present_arms():
    assert comparisons(["baseline"]) == []
    assert comparisons(["baseline", "diffusion"]) == [("diffusion", "baseline")]
    assert len(comparisons(["diffusion", "dcgan", "baseline"])) == 3


def fake_predictions(arms, seeds, n_patients=6, per_patient=20, shift=None) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = n_patients * per_patient
    labels = rng.integers(0, 2, n)
    frames = []
    for arm in arms:
        for seed in seeds:
            noise = rng.normal(0, 0.25, n) + (shift or {}).get(arm, 0.0) * (2 * labels - 1)
            frames.append(
                pd.DataFrame(
                    {
                        "arm": arm,
                        "seed": seed,
                        "row": np.arange(n),
                        "patient": np.repeat([f"p{i}" for i in range(n_patients)], per_patient),
                        "x": 0,
                        "y": 0,
                        "label": labels,
                        "probability": np.clip(0.3 + 0.4 * labels + noise, 0, 1),
                        "threshold": 0.5,
                    }
                )
            )
    table = pd.concat(frames, ignore_index=True)
    return table.assign(predicted=(table["probability"] >= 0.5).astype(int))


def test_compare_arms_writes_the_tidy_tables():
    predictions = fake_predictions(["baseline", "dcgan", "diffusion"], [0, 1, 2])
    tests, summary = compare_arms(predictions, Settings(bootstrap_samples=50))
    assert list(tests.columns) == TESTS_COLUMNS
    assert set(tests["comparison"]) == {
        "dcgan vs baseline",
        "diffusion vs baseline",
        "diffusion vs dcgan",
    }
    assert set(tests["test"]) == {"mcnemar", "paired_t", "wilcoxon"}
    assert set(tests.loc[tests["test"] == "mcnemar", "seed"]) == {"0", "1", "2"}
    defined = tests.dropna(subset=["p_value"])
    assert (defined["p_holm"] >= defined["p_value"] - 1e-12).all()
    assert (tests["ci_low"] <= tests["ci_high"]).all()
    assert len(summary) == 3 * 7 and (summary["ci_low"] <= summary["ci_high"]).all()
    assert (summary["n_patients"] == 6).all()


def test_compare_arms_with_one_seed_notes_instead_of_failing():
    tests, summary = compare_arms(fake_predictions(["baseline", "dcgan"], [0]), Settings(20))
    across = tests[tests["seed"] == "all"]
    assert across["p_value"].isna().all() and across["note"].str.contains("at least 2").all()
    assert tests.loc[tests["test"] == "mcnemar", "p_value"].notna().all()
    assert summary["std"].isna().all()


def test_compare_arms_rejects_predictions_on_different_patches():
    predictions = fake_predictions(["baseline", "dcgan"], [0])
    predictions.loc[predictions["arm"] == "dcgan", "row"] += 1
    with pytest.raises(ValueError, match="same test patches"):
        compare_arms(predictions, Settings(bootstrap_samples=10))
