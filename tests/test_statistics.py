"""The primary comparison (idc_synth.statistics) and its machinery (idc_synth.inference): the
leave-one-patient-out pseudovalues, the crossed seed x patient model, the generalized p-value,
Bonferroni and the decision interval, and the clustered McNemar.

The calibration and power of the decisions are measured by simulation in
test_inference_calibration.py.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from idc_synth.inference import (
    DIFFERENCE,
    P_BOUND,
    SCORE_RANGE,
    UNDEFINED,
    Family,
    adjust,
    crossed,
    decide,
    jackknife_weights,
    pseudovalues,
    sd_pseudovalues,
)
from idc_synth.metrics import classification_metrics
from idc_synth.report.format import p_value
from idc_synth.report.tables import primary_table
from idc_synth.statistics import (
    PRIMARY_COLUMNS,
    SUMMARY_COLUMNS,
    TESTS_COLUMNS,
    VARIANCE_COLUMNS,
    Settings,
    StudyPredictions,
    class_lost,
    clustered_mcnemar,
    compare_arms,
    comparisons,
    threshold_metrics,
    weighted_metrics,
)


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
    # one patient: X = excess^2 / excess^2 = 1 whatever the data, so no statistic
    one = clustered_mcnemar(correct_a, correct_b, np.zeros(7, int))
    assert np.isnan(one["statistic"]) and np.isnan(one["p_value"]) and one["excess"] == 4


def test_jackknife_weights_give_the_metrics_without_each_patient():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 120)
    probabilities = np.round(np.clip(rng.random(120) * 0.7 + labels * 0.25, 0, 1), 2)  # ties
    codes = rng.integers(0, 8, 120)
    metrics = weighted_metrics(labels, probabilities, 0.5, jackknife_weights(codes, 8))
    expected = [classification_metrics(labels, probabilities, 0.5)]
    expected += [
        classification_metrics(labels[codes != i], probabilities[codes != i], 0.5) for i in range(8)
    ]
    for row, values in enumerate(expected):
        for name, computed in metrics.items():
            np.testing.assert_allclose(computed[row], values[name], atol=1e-12)


def test_threshold_metrics_from_patient_counts_equal_the_patch_weights():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 90)
    probabilities = rng.random(90)
    codes = rng.integers(0, 6, 90)
    weights = jackknife_weights(codes, 6)
    by_patch = weighted_metrics(labels, probabilities, 0.4, weights)
    predicted = probabilities >= 0.4
    cells = (labels & predicted, labels & ~predicted, ~labels & predicted, ~labels & ~predicted)
    confusion = np.stack([np.bincount(codes, cell, 6) for cell in map(np.asarray, cells)], 1)
    leave_out = np.vstack([confusion.sum(0), confusion.sum(0) - confusion])
    for name, values in threshold_metrics(*leave_out.T).items():
        np.testing.assert_allclose(values, by_patch[name], atol=1e-12)


def test_comparisons_are_the_generators_vs_baseline_then_secondary_pairs():
    assert comparisons(["baseline"]) == ([], [])
    assert comparisons(["baseline", "diffusion"]) == ([("diffusion", "baseline")], [])
    assert comparisons(["baseline", "dcgan", "diffusion"]) == (
        [("dcgan", "baseline"), ("diffusion", "baseline")],
        [("diffusion", "dcgan")],
    )
    assert comparisons(["dcgan", "diffusion"]) == ([("diffusion", "dcgan")], [])


def test_pseudovalues_of_a_mean_are_the_values_and_average_to_the_full_score():
    values = np.array([[0.2, 0.5, 0.9, 0.4], [0.1, 0.3, 0.6, 0.8]])
    full = values.mean(axis=1)
    leave_out = (values.sum(axis=1, keepdims=True) - values) / 3
    np.testing.assert_allclose(pseudovalues(full, leave_out), values)
    ratio = np.array([0.7])
    np.testing.assert_allclose(pseudovalues(ratio, [[0.6, 0.8, 0.75]]).mean(), 0.7)


def test_one_seed_is_exactly_the_one_sample_t_test():
    rng = np.random.default_rng(5)
    values = rng.normal(0.4, 1.0, (1, 12))
    result = crossed(values)
    reference = stats.ttest_1samp(values[0], 0.0)
    assert result.p_value() == pytest.approx(reference.pvalue, rel=2e-3)
    low, high = result.interval(0.95)
    expected = stats.t.interval(0.95, 11, values.mean(), stats.sem(values[0]))
    np.testing.assert_allclose([low, high], expected, rtol=2e-3)
    assert "one seed" in result.note


def test_crossed_model_recovers_planted_variance_components():
    rng = np.random.default_rng(1)
    m, n = 40, 300
    table = rng.normal(0, 0.3, (m, 1)) + rng.normal(0, 0.5, (1, n)) + rng.normal(0, 0.2, (m, n))
    result = crossed(table)
    assert result.seed_variance == pytest.approx(0.09, rel=0.5)
    assert result.patient_variance == pytest.approx(0.25, rel=0.2)
    assert result.residual_variance == pytest.approx(0.04, rel=0.1)
    expected = math.sqrt(0.09 / m + 0.25 / n + 0.04 / (n * m))
    assert result.se == pytest.approx(expected, rel=0.3)


def test_variance_components_agree_with_a_statsmodels_crossed_mixed_model():
    # REML of the crossed seed x patient model equals the ANOVA estimates on a balanced table
    # whose components are positive; so does the standard error of the mean.
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(0)
    m, n = 5, 30
    table = (
        0.8 + rng.normal(0, 0.3, (m, 1)) + rng.normal(0, 0.5, (1, n)) + rng.normal(0, 0.2, (m, n))
    )
    ours = crossed(table)
    frame = pd.DataFrame(
        {
            "y": table.ravel(),
            "seed": np.repeat(np.arange(m), n),
            "patient": np.tile(np.arange(n), m),
        }
    )
    vc = {"seed": "0 + C(seed)", "patient": "0 + C(patient)"}
    fit = smf.mixedlm("y ~ 1", frame.assign(one=1), groups="one", re_formula="0", vc_formula=vc)
    fit = fit.fit(reml=True)
    patient, seed = fit.vcomp  # statsmodels orders the components by name
    assert seed == pytest.approx(ours.seed_variance, rel=1e-3)
    assert patient == pytest.approx(ours.patient_variance, rel=1e-3)
    assert fit.scale == pytest.approx(ours.residual_variance, rel=1e-3)
    assert fit.bse_fe.iloc[0] == pytest.approx(ours.se, rel=1e-3)


def test_a_comparisons_variance_comes_from_its_own_two_arms():
    rng = np.random.default_rng(2)
    tables = {arm: rng.normal(0.8, 0.05, (3, 9)) for arm in ("baseline", "dcgan", "diffusion")}
    alone = crossed(tables["dcgan"] - tables["baseline"])
    pair = Family(tables).difference("dcgan", "baseline")
    assert pair.estimate == pytest.approx(alone.estimate)
    assert pair.se == pytest.approx(alone.se) and pair.p_value() == pytest.approx(alone.p_value())
    assert pair.df_seed == 2 and pair.df_patient == 8  # the pair's own, nothing borrowed
    # a third arm ten times noisier changes nothing of dcgan vs baseline
    noisy = tables | {"diffusion": rng.normal(0.8, 0.5, (3, 9))}
    assert Family(noisy).difference("dcgan", "baseline").se == pytest.approx(pair.se)
    # a contrast of several arms is analysed on its own table
    weights = {"dcgan": 0.5, "diffusion": 0.5, "baseline": -1.0}
    mean_effect = Family(noisy).contrast(weights)
    own = crossed(0.5 * noisy["dcgan"] + 0.5 * noisy["diffusion"] - noisy["baseline"])
    assert mean_effect.se == pytest.approx(own.se) and mean_effect.estimate == pytest.approx(
        own.estimate
    )
    with pytest.raises(ValueError, match="summing to 0"):
        Family(tables).contrast({"dcgan": 1.0})


def test_bonferroni_is_statsmodels_multipletests_and_pins_the_hand_rule():
    rng = np.random.default_rng(5)
    for _ in range(100):
        p = rng.uniform(0, 0.06, int(rng.integers(1, 6)))
        p[rng.uniform(size=p.size) < 0.2] = np.nan  # undefined: in the family, never rejected
        rejected, adjusted = adjust(list(p), 0.05)
        defined = ~np.isnan(p)
        k = len(p)  # the declared comparisons
        np.testing.assert_allclose(adjusted[defined], np.minimum(1.0, k * p[defined]))
        assert np.isnan(adjusted[~defined]).all() and not rejected[~defined].any()
        assert (rejected[defined] == (k * p[defined] < 0.05)).all()  # the previous rule


def test_identical_arms_have_zero_variance_by_relative_tolerance():
    rng = np.random.default_rng(6)
    table = rng.normal(0.8, 0.05, (3, 9))
    # the same scores computed in another order: differences of ~1e-16, an SE of ~1e-16
    same = Family({"a": table, "b": (table * 3.0) / 3.0 + 1e-16}).difference("a", "b")
    assert 0 < same.se < 1e-14 and not same.defined
    decided = decide([same], 0.05)
    assert decided["verdict"].iloc[0] == UNDEFINED and "zero variance" in decided["note"].iloc[0]
    assert decided[["ci_low", "ci_high", "p_value"]].isna().all(axis=None)
    # a real, small variance stays defined
    assert (
        Family({"a": table, "b": table + rng.normal(0, 1e-4, table.shape)})
        .difference("a", "b")
        .defined
    )


def test_identical_arms_are_undefined_in_every_table():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1, 2], n_patients=8)
    twin = predictions[predictions["arm"] == "baseline"].assign(arm="dcgan")
    same = pd.concat([predictions[predictions["arm"] == "baseline"], twin], ignore_index=True)
    result = compare(same)
    assert result.primary["verdict"].tolist() == [UNDEFINED]
    assert "zero variance" in result.primary["note"].iloc[0]
    assert result.variance["note"].str.startswith("undefined: zero variance").all()
    assert result.variance["share"].isna().all()


def test_p_values_are_printed_as_a_bound_never_as_zero():
    rng = np.random.default_rng(7)
    extreme = crossed(0.5 + rng.normal(0, 1e-4, (3, 9)))
    assert extreme.p_value() < P_BOUND
    assert p_value(extreme.p_value()) == "< 1e-12" and p_value(0.0) == "< 1e-12"
    assert p_value(0.0123) == "0.012" and p_value(5.7e-4) == "5.7e-04" and p_value(math.nan) == "–"
    table = primary_table(
        pd.DataFrame(
            {
                "comparison": ["a vs b"],
                **dict.fromkeys(["mean_a", "mean_b", "difference", "ci_low", "mdd"], [0.1]),
                **{"ci_high": [0.2], "note": [""], "verdict": [DIFFERENCE], "family_size": [5]},
                **{"decision_level": [0.99], "p_value": [0.0], "p_adjusted": [0.0]},
            }
        )
    )
    assert table[["p", "p × 5"]].iloc[0].tolist() == ["< 1e-12", "< 1e-12"]


def test_verdict_and_decision_interval_never_disagree():
    rng = np.random.default_rng(3)
    for _ in range(200):
        shift = rng.normal(0, 0.03)
        results = [
            crossed(rng.normal(shift, rng.uniform(0.01, 0.2), (3, int(rng.integers(3, 30)))))
            for _ in range(int(rng.integers(1, 4)))
        ]
        decided = decide(results, alpha=0.05)
        for row in decided.to_dict("records"):
            excludes = row["ci_low"] > 0 or row["ci_high"] < 0
            assert (row["verdict"] == DIFFERENCE) == excludes
            assert row["decision_level"] == pytest.approx(1 - 0.05 / row["family_size"])
            assert row["p_adjusted"] == pytest.approx(min(1.0, row["family_size"] * row["p_value"]))


def test_the_test_has_no_resampling_floor():
    # The bootstrap this replaced could not go below p = 0.019 at 9 patients (1,000 resamples).
    rng = np.random.default_rng(4)
    noise = rng.normal(0, 0.01, (3, 9))
    p_values = [crossed(shift + noise).p_value() for shift in (0.02, 0.05, 0.1, 0.3)]
    assert p_values == sorted(p_values, reverse=True) and p_values[-1] < 1e-4
    decided = decide([crossed(0.1 + noise), crossed(noise)], 0.05)
    assert decided["p_adjusted"].iloc[0] < 1e-3 and decided["verdict"].iloc[0] == DIFFERENCE


def test_undefined_designs_and_zero_variance_say_why():
    decided = decide([crossed(np.ones((3, 1))), crossed(np.zeros((3, 6)))], 0.05)
    assert decided["verdict"].tolist() == [UNDEFINED, UNDEFINED]
    assert "2 needed" in decided["note"].iloc[0] and "zero variance" in decided["note"].iloc[1]
    assert decided[["ci_low", "ci_high", "p_value"]].isna().all().all()
    assert decided["family_size"].tolist() == [2, 2]  # the declared family, undefined included


def test_intervals_stay_in_the_score_range():
    near_one = crossed(np.clip(0.99 + np.random.default_rng(0).normal(0, 0.02, (3, 6)), 0, 1))
    low, high = near_one.interval(0.95, SCORE_RANGE)
    assert high <= 1.0 and low < high


def test_sd_pseudovalues_are_the_jackknife_of_the_spread_over_defined_patients():
    values = np.array([[0.5, 0.7, np.nan, 0.9, 0.6], [0.4, np.nan, 0.8, 0.8, 0.3]])
    full = np.nanstd(values, axis=1, ddof=1)
    leave_out = np.array(
        [[np.nanstd(np.delete(row, i), ddof=1) for i in range(row.size)] for row in values]
    )
    np.testing.assert_allclose(sd_pseudovalues(values), pseudovalues(full, leave_out))
    np.testing.assert_allclose(sd_pseudovalues(values).mean(axis=1), full)


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


def compare(predictions, settings=None):
    return compare_arms(StudyPredictions(predictions), settings or Settings())


def test_compare_arms_writes_the_tidy_tables():
    predictions = fake_predictions(["baseline", "dcgan", "diffusion"], [0, 1, 2], n_patients=10)
    result = compare(predictions)
    tests, primary = result.tests, result.primary
    assert list(tests.columns) == TESTS_COLUMNS and list(primary.columns) == PRIMARY_COLUMNS
    assert list(result.summary_ci.columns) == SUMMARY_COLUMNS
    assert list(result.variance.columns) == VARIANCE_COLUMNS
    # The family is each generator vs the baseline; generator vs generator is secondary.
    assert list(primary["comparison"]) == ["dcgan vs baseline", "diffusion vs baseline"]
    assert set(tests["role"]) == {"primary", "secondary", "descriptive"}
    pair = tests[tests["comparison"] == "diffusion vs dcgan"]
    assert set(pair["role"]) == {"secondary", "descriptive"}
    assert tests.loc[tests["role"] == "secondary", ["p_value", "p_adjusted"]].isna().all().all()
    rows = tests[tests["role"] == "primary"]
    assert set(rows["metric"]) == {"balanced_accuracy"}
    np.testing.assert_allclose(rows["p_adjusted"], primary["p_adjusted"])
    np.testing.assert_allclose(rows["ci_low"], primary["ci_low"])
    assert (rows["ci_level"] == 0.975).all()
    assert (tests.loc[tests["role"] == "secondary", "ci_level"] == 0.95).all()
    assert (primary["p_adjusted"] >= primary["p_value"] - 1e-12).all()
    assert (primary["ci_low"] < primary["ci_high"]).all() and (primary["mdd"] > 0).all()
    assert set(tests.loc[tests["role"] == "descriptive", "seed"]) == {"0", "1", "2"}
    assert len(result.summary_ci) == 3 * 7 and (result.summary_ci["n_patients"] == 10).all()
    summary = result.summary_ci
    assert (summary["ci_low"] <= summary["mean"]).all() and (
        summary["mean"] <= summary["ci_high"]
    ).all()
    assert summary[["ci_low", "ci_high"]].stack().between(0, 1).all()


def test_the_primary_metric_is_configurable():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1], n_patients=8)
    result = compare(predictions, Settings(primary_metric="roc_auc"))
    assert list(result.primary["metric"]) == ["roc_auc"]
    assert result.tests.loc[result.tests["role"] == "primary", "metric"].tolist() == ["roc_auc"]
    with pytest.raises(ValueError, match="primary_metric"):
        Settings(primary_metric="accuracy")


def test_a_planted_effect_is_found_at_nine_patients_and_agrees_with_its_interval():
    predictions = fake_predictions(
        ["baseline", "dcgan", "diffusion"], [0, 1, 2], n_patients=9, shift={"dcgan": 0.25}
    )
    found = compare(predictions).primary.set_index("comparison").loc["dcgan vs baseline"]
    assert found["verdict"] == DIFFERENCE and found["ci_low"] > 0
    assert found["p_adjusted"] < 0.05 and found["difference"] > 0


def test_too_few_test_patients_make_everything_undefined():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1], n_patients=1, per_patient=40)
    result = compare(predictions)
    primary = result.primary.iloc[0]
    assert primary["verdict"] == UNDEFINED and "2 needed" in primary["note"]
    assert math.isnan(primary["ci_low"]) and math.isnan(primary["p_adjusted"])
    assert math.isnan(primary["mdd"])
    assert result.summary_ci[["ci_low", "ci_high"]].isna().all().all()
    assert result.variance["share"].isna().all()


def test_variance_decomposes_each_difference_and_names_the_synthetic_draws():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1, 2, 3], n_patients=8)
    variance = compare(predictions).variance
    assert set(variance["component"]) == {"seed", "patient", "seed x patient"}
    assert variance["share"].sum() == pytest.approx(1.0)
    assert (variance["variance"] >= 0).all()
    assert variance["note"].str.contains("no synthetic_draw column").all()
    shared = np.where(predictions["arm"] == "baseline", -1, 0)
    one_draw = compare(predictions.assign(synthetic_draw=shared)).variance
    assert one_draw["note"].str.contains("one synthetic draw shared by every seed").all()
    per_seed = np.where(predictions["arm"] == "baseline", -1, predictions["seed"])
    replicated = compare(predictions.assign(synthetic_draw=per_seed)).variance
    assert replicated["note"].str.contains("one synthetic draw per seed").all()
    one_generator = predictions.assign(synthetic_draw=per_seed, generator_realization=shared)
    result = compare(one_generator)
    assert result.variance["note"].str.contains("one trained generator behind every seed").all()
    assert result.primary["generator_realizations"].tolist() == [1]
    assert result.primary["scope"].tolist() == ["this trained generator"]
    per_draw = compare(predictions.assign(synthetic_draw=per_seed, generator_realization=per_seed))
    assert per_draw.variance["note"].str.contains("4 trained generators over 4 seeds").all()
    assert per_draw.primary["generator_realizations"].tolist() == [4]
    assert per_draw.primary["scope"].tolist() == ["the method, 4 realizations"]
    assert compare(predictions).primary["scope"].tolist() == ["generator realizations not recorded"]


def test_a_comparisons_se_ignores_a_noisier_third_arm():
    quiet = fake_predictions(["baseline", "dcgan"], [0, 1, 2], n_patients=8)
    noisy = fake_predictions(["diffusion"], [0, 1, 2], n_patients=8)
    # each seed's diffusion model shifted by its own amount: a large seed variance
    shifts = noisy["seed"].map({0: -0.3, 1: 0.0, 2: 0.3})
    noisy["probability"] = np.clip(noisy["probability"] + shifts, 0, 1)
    alone = compare(quiet).primary.set_index("comparison").loc["dcgan vs baseline"]
    three = compare(pd.concat([quiet, noisy], ignore_index=True)).primary.set_index("comparison")
    # Bonferroni over 2 instead of 1 moves the decision interval, not the SE or p
    for column in ("difference", "se", "p_value"):
        assert three.loc["dcgan vs baseline", column] == pytest.approx(alone[column])
    assert three.loc["diffusion vs baseline", "se"] > 1.5 * three.loc["dcgan vs baseline", "se"]


def test_a_leave_out_that_loses_a_class_is_undefined_and_named():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1, 2], n_patients=8)
    # patient p0 holds every positive patch of the study
    predictions["label"] = (predictions["patient"] == "p0").astype(int) * (
        predictions["row"] % 2 == 0
    )
    positives = predictions["label"] == 1
    predictions.loc[positives, "probability"] = predictions.loc[positives, "probability"] + 0.3
    study = StudyPredictions(predictions)
    scores = study.scores("dcgan", ("accuracy", "balanced_accuracy", "roc_auc"))
    # without p0 balanced accuracy would be specificity and AUC undefined: both undefined there
    assert np.isnan(scores.table("balanced_accuracy")[:, 0]).all()
    assert np.isnan(scores.table("roc_auc")[:, 0]).all()
    assert not np.isnan(scores.table("accuracy")).any()  # its meaning does not need both classes
    labels, codes = study.labels, study.patient_codes
    lost = class_lost(study.design.plan.weights @ labels, study.design.plan.weights @ (1 - labels))
    assert lost.tolist() == [False, True] + [False] * 7
    for metric in ("balanced_accuracy", "roc_auc"):
        result = compare_arms(study, Settings(primary_metric=metric))
        note = "1 patient(s) whose removal leaves the score undefined or changes its meaning"
        assert note in result.primary["note"].iloc[0]
        assert result.variance["note"].str.contains(note, regex=False).all()
        assert result.primary["n_patients"].iloc[0] == 8
    assert codes.max() == 7


def test_compare_arms_rejects_predictions_on_different_patches():
    predictions = fake_predictions(["baseline", "dcgan"], [0])
    predictions.loc[predictions["arm"] == "dcgan", "row"] += 1
    with pytest.raises(ValueError, match="same test patches"):
        compare(predictions)


def test_every_arm_needs_every_seed():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1])
    partial = predictions[~((predictions["arm"] == "dcgan") & (predictions["seed"] == 1))]
    with pytest.raises(ValueError, match="every arm needs every seed"):
        StudyPredictions(partial)


def test_a_single_arm_has_nothing_to_compare():
    result = compare(fake_predictions(["baseline"], [0, 1], n_patients=8))
    assert result.primary.empty and list(result.primary.columns) == PRIMARY_COLUMNS
    assert result.tests.empty and len(result.summary_ci) == 7


def test_settings_from_params_takes_the_fields_a_rule_passes():
    params = SimpleNamespace(confidence_level=0.9, alpha=0.01, seed=3)  # seed: not a setting
    settings = Settings.from_params(params)
    assert (settings.confidence_level, settings.alpha) == (0.9, 0.01)
    assert settings.primary_metric == Settings().primary_metric
