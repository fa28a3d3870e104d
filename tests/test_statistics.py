"""The primary comparison, its bootstrap, Holm and the clustered McNemar (idc_synth.statistics).

The calibration of the primary test is proven by simulation in test_inference_calibration.py.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from idc_synth.metrics import classification_metrics
from idc_synth.statistics import (
    PRIMARY_COLUMNS,
    SUMMARY_COLUMNS,
    TESTS_COLUMNS,
    VARIANCE_COLUMNS,
    Settings,
    bootstrap_p_value,
    clustered_mcnemar,
    compare_arms,
    comparisons,
    decide,
    expanded_tail,
    holm,
    iter_patient_bootstrap,
    mcnemar_test,
    min_patients,
    patient_confusion,
    patient_resamples,
    percentile_interval,
    resample_indices,
    seed_average,
    threshold_metrics,
    weighted_metrics,
)


def test_patch_mcnemar_exact_on_a_small_table():
    correct_a = np.r_[np.ones(50), np.ones(10), np.zeros(2), np.zeros(5)].astype(bool)
    correct_b = np.r_[np.ones(50), np.zeros(10), np.ones(2), np.zeros(5)].astype(bool)
    result = mcnemar_test(correct_a, correct_b)
    # Exact binomial: 2 * P(X <= 2), X ~ Binomial(12, 1/2) = 2 * (1 + 12 + 66) / 4096.
    assert (result["b"], result["c"]) == (10, 2)
    assert result["p_value"] == pytest.approx(158 / 4096)


def test_clustered_mcnemar_by_hand():
    # Patient 0: 3 patches only A right; patient 1: 1 only B right; patient 2: 2 only A right.
    correct_a = np.array([1, 1, 1, 0, 1, 1, 1], bool)
    correct_b = np.array([0, 0, 0, 1, 1, 0, 0], bool)
    codes = np.array([0, 0, 0, 1, 1, 2, 2])
    result = clustered_mcnemar(correct_a, correct_b, codes)
    # excess per patient: 3, -1, 2 -> X = 4^2 / (9 + 1 + 4)
    assert result["statistic"] == pytest.approx(16 / 14)
    assert result["p_value"] == pytest.approx(stats.chi2.sf(16 / 14, 1))
    same = clustered_mcnemar(correct_a, correct_a, codes)
    assert same["p_value"] == 1.0


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


def test_threshold_metrics_from_patient_counts_equal_the_patch_weights():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 90)
    probabilities = rng.random(90)
    codes = rng.integers(0, 6, 90)
    counts = patient_resamples(6, 25, seed=3)
    by_patch = weighted_metrics(labels, probabilities, 0.4, counts[:, codes])
    confusion = patient_confusion(labels, probabilities >= 0.4, codes, 6)
    by_patient = threshold_metrics(*(counts @ confusion).T)
    for name, values in by_patient.items():
        np.testing.assert_allclose(values, by_patch[name], atol=1e-12)


def test_comparisons_are_generators_vs_baseline_then_generator_pairs():
    assert comparisons(["baseline"]) == []
    assert comparisons(["baseline", "diffusion"]) == [("diffusion", "baseline")]
    assert comparisons(["baseline", "dcgan", "diffusion"]) == [
        ("dcgan", "baseline"),
        ("diffusion", "baseline"),
        ("diffusion", "dcgan"),
    ]
    assert comparisons(["dcgan", "diffusion"]) == [("diffusion", "dcgan")]


def test_min_patients_is_where_a_patient_level_test_can_reach_alpha():
    for alpha in (0.05, 0.01, 0.1):
        n = min_patients(alpha)
        assert 2 / 2**n < alpha <= 2 / 2 ** (n - 1)
    assert min_patients(0.05) == 6


def test_expanded_tail_is_narrower_for_few_units_and_vanishes_for_many():
    assert expanded_tail(0.025, 6) < 0.01
    assert expanded_tail(0.025, 10_000) == pytest.approx(0.025, abs=1e-3)


def test_zero_width_and_empty_intervals_are_undefined():
    low, high, reason = percentile_interval(np.full(50, 0.02), 0.95)
    assert math.isnan(low) and math.isnan(high) and "zero width" in reason
    low, high, reason = percentile_interval(np.full(5, np.nan), 0.95)
    assert math.isnan(low) and "no resample" in reason


def test_bootstrap_p_value_inverts_the_interval():
    rng = np.random.default_rng(0)
    for shift in (0.0, 0.5, 1.0, 2.0, 3.0):
        samples = rng.normal(shift, 1.0, 4000)
        p = bootstrap_p_value(samples, 30)
        for level in (0.9, 0.95, 0.99):
            low, high, _ = percentile_interval(samples, level, 30)
            excludes = low > 0 or high < 0
            if abs(p - (1 - level)) > 0.005:  # away from the boundary they must agree
                assert excludes == (p < 1 - level), (shift, level, p, low, high)
    assert bootstrap_p_value(np.ones(99)) == pytest.approx(2 / 100)  # never 0


def test_seed_average_weights_resampled_seeds_and_skips_nan():
    per_seed = np.array([[1.0, 1.0, np.nan], [3.0, 5.0, 2.0]])
    np.testing.assert_allclose(seed_average(per_seed), [2.0, 3.0, 2.0])
    counts = np.array([[2, 0], [1, 1], [0, 2]])
    np.testing.assert_allclose(seed_average(per_seed, counts), [1.0, 3.0, 2.0])


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
    predictions = fake_predictions(["baseline", "dcgan", "diffusion"], [0, 1, 2], n_patients=10)
    result = compare_arms(predictions, Settings(bootstrap_samples=200))
    tests, primary = result.tests, result.primary
    assert list(tests.columns) == TESTS_COLUMNS and list(primary.columns) == PRIMARY_COLUMNS
    assert list(result.summary_ci.columns) == SUMMARY_COLUMNS
    assert list(result.variance.columns) == VARIANCE_COLUMNS
    assert list(primary["comparison"]) == [
        "dcgan vs baseline",
        "diffusion vs baseline",
        "diffusion vs dcgan",
    ]
    assert set(tests["role"]) == {"primary", "secondary", "descriptive"}
    # Only the primary endpoint has p-values that count; only it is Holm-corrected.
    assert tests.loc[tests["role"] == "secondary", ["p_value", "p_holm"]].isna().all().all()
    assert tests.loc[tests["role"] == "descriptive", "p_holm"].isna().all()
    rows = tests[tests["role"] == "primary"]
    assert set(rows["metric"]) == {"balanced_accuracy"}
    np.testing.assert_allclose(rows["p_holm"], primary["p_holm"])
    assert (primary["p_holm"] >= primary["p_value"] - 1e-12).all()
    assert (primary["ci_low"] < primary["ci_high"]).all() and (primary["mdd"] > 0).all()
    assert set(tests.loc[tests["role"] == "descriptive", "seed"]) == {"0", "1", "2"}
    assert len(result.summary_ci) == 3 * 7 and (result.summary_ci["n_patients"] == 10).all()
    assert (result.summary_ci["ci_low"] <= result.summary_ci["ci_high"]).all()


def test_the_primary_metric_is_configurable():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1], n_patients=8)
    result = compare_arms(predictions, Settings(bootstrap_samples=50, primary_metric="roc_auc"))
    assert list(result.primary["metric"]) == ["roc_auc"]
    assert result.tests.loc[result.tests["role"] == "primary", "metric"].tolist() == ["roc_auc"]
    with pytest.raises(ValueError, match="primary_metric"):
        Settings(primary_metric="accuracy")


def test_a_planted_effect_is_found_and_agrees_with_its_interval():
    predictions = fake_predictions(
        ["baseline", "dcgan"], [0, 1, 2], n_patients=12, shift={"dcgan": 0.25}
    )
    primary = compare_arms(predictions, Settings(bootstrap_samples=400)).primary.iloc[0]
    assert primary["verdict"] == "difference" and primary["ci_low"] > 0
    assert primary["p_holm"] < 0.05 and primary["difference"] > 0


def test_too_few_test_patients_make_everything_undefined():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1], n_patients=1, per_patient=40)
    result = compare_arms(predictions, Settings(bootstrap_samples=50))
    primary = result.primary.iloc[0]
    assert primary["verdict"] == "undefined" and "fewer than the 6 needed" in primary["note"]
    assert math.isnan(primary["ci_low"]) and math.isnan(primary["p_holm"])
    assert math.isnan(primary["mdd"])
    assert result.summary_ci[["ci_low", "ci_high"]].isna().all().all()
    patient = result.variance[result.variance["component"] == "patient"]
    assert patient["variance"].isna().all() and patient["note"].str.contains("one test").all()
    three = compare_arms(
        fake_predictions(["baseline", "dcgan"], [0, 1], n_patients=3), Settings(50)
    )
    assert three.primary["verdict"].tolist() == ["undefined"]


def test_decide_separates_agreement_conflict_and_undefined():
    rows = pd.DataFrame(
        {
            "p_value": [0.001, 0.4, 0.001, 0.03, np.nan],
            "ci_low": [0.01, -0.02, -0.01, 0.005, np.nan],
            "ci_high": [0.05, 0.03, 0.04, 0.03, np.nan],
        }
    )
    decided = decide(rows, alpha=0.05)
    # Holm over 4 defined p-values: 0.004, 0.4, 0.004 (tie), 0.06.
    assert decided["verdict"].tolist() == [
        "difference",
        "no difference",
        "conflict",  # significant, but the interval covers 0
        "conflict",  # the interval excludes 0, but Holm's p is 0.06
        "undefined",
    ]


def test_variance_components_follow_the_synthetic_draws():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1, 2, 3], n_patients=8)
    settings = Settings(bootstrap_samples=50)
    without = compare_arms(predictions, settings).variance
    assert set(without["component"]) == {"seed+synthetic_draw", "patient"}
    assert without["note"].str.contains("no synthetic_draw column").any()
    draws = np.where(predictions["arm"] == "baseline", -1, predictions["seed"] // 2)
    nested = compare_arms(predictions.assign(synthetic_draw=draws), settings).variance
    dcgan = nested[nested["arm"] == "dcgan"].set_index("component")
    assert {"synthetic_draw", "seed", "patient"} <= set(dcgan.index)
    assert dcgan.loc["synthetic_draw", "n"] == 2 and (nested["variance"].dropna() >= 0).all()
    assert nested.loc[nested["arm"] == "baseline", "note"].eq("no synthetic data").any()
    per_seed = predictions.assign(synthetic_draw=np.where(draws < 0, -1, predictions["seed"]))
    confounded = compare_arms(per_seed, settings).variance
    assert confounded["note"].str.contains("confounded").any()


def test_compare_arms_rejects_predictions_on_different_patches():
    predictions = fake_predictions(["baseline", "dcgan"], [0])
    predictions.loc[predictions["arm"] == "dcgan", "row"] += 1
    with pytest.raises(ValueError, match="same test patches"):
        compare_arms(predictions, Settings(bootstrap_samples=10))


def test_a_single_arm_has_nothing_to_compare():
    result = compare_arms(fake_predictions(["baseline"], [0, 1], n_patients=8), Settings(30))
    assert result.primary.empty and list(result.primary.columns) == PRIMARY_COLUMNS
    assert result.tests.empty and len(result.summary_ci) == 7


def test_settings_from_params_takes_the_fields_a_rule_passes():
    params = SimpleNamespace(confidence_level=0.9, alpha=0.01, seed=3)  # seed: not a setting
    settings = Settings.from_params(params)
    assert (settings.confidence_level, settings.alpha) == (0.9, 0.01)
    assert settings.bootstrap_samples == Settings().bootstrap_samples
