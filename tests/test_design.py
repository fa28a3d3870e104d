"""The study design (idc_synth.design): built once from the predictions or for a simulated
study, and the one source of every analysis's patients, seeds and resample plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_robustness import _predictions as robustness_predictions
from test_statistics import fake_predictions
from test_sweep import cells_and_predictions

import idc_synth.design as design_module
from idc_synth.design import ResamplePlan, StudyDesign
from idc_synth.generalization import calibration_table, per_patient_metrics
from idc_synth.robustness import robustness_table
from idc_synth.simulation import Design, Study, _jackknife, analyse, simulate_study
from idc_synth.statistics import (
    Settings,
    StudyPredictions,
    class_lost,
    compare_arms,
    threshold_metrics,
    weighted_metrics,
)
from idc_synth.sweep import EfficiencyMap


def test_the_plan_drops_whole_patients_one_at_a_time():
    codes = np.array([2, 0, 0, 1, 2, 2, 1, 0])
    plan = ResamplePlan(codes, 3)
    weights = plan.weights
    assert weights.shape == (4, 8) and plan.n_replicates == 4
    assert (weights[0] == 1).all()  # replicate 0: every patch
    for patient in range(3):
        kept = weights[1 + patient]
        assert (kept[codes == patient] == 0).all() and (kept[codes != patient] == 1).all()
    np.testing.assert_array_equal(plan.patients, [codes == k for k in range(3)])


def test_the_plan_is_reproducible_and_depends_on_the_patients_only():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1], n_patients=5)
    first = StudyDesign.from_predictions(predictions)
    # the same study, its (arm, seed) blocks stacked in another order: the same design and plan
    blocks = [rows for _, rows in predictions.groupby(["arm", "seed"], sort=False)]
    again = StudyDesign.from_predictions(pd.concat(blocks[::-1], ignore_index=True))
    first.check_same(again, "designs")
    np.testing.assert_array_equal(first.plan.weights, again.plan.weights)
    # other probabilities, the same patients: the same plan
    other = StudyDesign.from_predictions(predictions.assign(probability=0.5))
    np.testing.assert_array_equal(first.plan.weights, other.plan.weights)
    assert first.arms == ["baseline", "dcgan"] and first.seeds == [0, 1]
    assert list(first.patients) == [f"p{i}" for i in range(5)]  # in order of appearance
    assert list(first.cells()) == [("baseline", 0), ("baseline", 1), ("dcgan", 0), ("dcgan", 1)]


def test_a_design_needs_every_arm_at_every_seed():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1])
    partial = predictions[~((predictions["arm"] == "dcgan") & (predictions["seed"] == 1))]
    with pytest.raises(ValueError, match="every arm needs every seed"):
        StudyDesign.from_predictions(partial)


def test_predictions_must_match_a_given_design():
    clean = StudyPredictions(fake_predictions(["baseline", "dcgan"], [0, 1], n_patients=4))
    shuffled = fake_predictions(["baseline", "dcgan"], [0, 1], n_patients=4)
    shuffled["patient"] = (
        shuffled["patient"].map({"p0": "p1", "p1": "p0"}).fillna(shuffled["patient"])
    )
    with pytest.raises(ValueError, match="differ in patients"):
        StudyPredictions(shuffled, design=clean.design)
    fewer = fake_predictions(["baseline", "dcgan"], [0], n_patients=4)
    with pytest.raises(ValueError, match="differ in seeds"):
        StudyPredictions(fewer, design=clean.design)
    same = StudyPredictions(fake_predictions(["baseline", "dcgan"], [0, 1], 4), clean.design)
    assert same.design is clean.design


@pytest.fixture
def plan_builds(monkeypatch):
    """How many times a resample plan's weights are set up."""
    calls = []
    original = design_module.jackknife_weights

    def counted(codes, n):
        calls.append(n)
        return original(codes, n)

    monkeypatch.setattr(design_module, "jackknife_weights", counted)
    return calls


def test_every_analysis_sets_its_resample_plan_up_once(plan_builds):
    predictions = fake_predictions(["baseline", "dcgan", "diffusion"], [0, 1, 2], n_patients=6)
    study = StudyPredictions(predictions)
    compare_arms(study, Settings())
    calibration_table(study, 10, Settings())
    per_patient_metrics(study)
    assert plan_builds == [6]  # the primary statistics and generalization share one plan

    plan_builds.clear()
    clean = StudyPredictions(robustness_predictions(5, {"baseline": 0.1, "dcgan": 0.1}))
    perturbed = pd.concat(
        [
            robustness_predictions(5, {"baseline": 0.4, "dcgan": 0.2}, seed=k + 1).assign(
                perturbation="stain", strength=strength
            )
            for k, strength in enumerate((0.1, 0.2, 0.3))
        ],
        ignore_index=True,
    )
    robustness_table(clean, perturbed, Settings())
    assert plan_builds == [5]  # the clean study's plan, reused under every perturbation
    shifted = perturbed.assign(row=perturbed["row"] + 1)
    with pytest.raises(ValueError, match="under stain 0.1: predictions differ in rows"):
        robustness_table(clean, shifted, Settings())
    assert plan_builds == [5]  # a mismatch is refused before any plan is set up

    plan_builds.clear()
    cells, tables = cells_and_predictions({0.5: {"dcgan@1": 0.3}, 1.0: {"dcgan@1": 0.0}})
    efficiency = EfficiencyMap(cells, tables, Settings())
    assert plan_builds == [10] and efficiency.study.design.n_patients == 10


def test_analyses_read_patients_seeds_and_plan_from_the_design():
    predictions = fake_predictions(["baseline", "dcgan"], [0, 1, 2], n_patients=6)
    study = StudyPredictions(predictions)
    design = study.design
    assert (study.arms, study.seeds, study.n_patients) == (design.arms, design.seeds, 6)
    # a plan that resamples pairs of patients as one: the scores and calibration then equal
    # those of the study whose patients are those pairs, so they take the plan from the design
    design.__dict__["plan"] = ResamplePlan(design.patient_codes // 2, 3)
    pairs = predictions.assign(patient=predictions["patient"].map(lambda p: int(p[1:]) // 2))
    paired = StudyPredictions(pairs)
    for arm in design.arms:
        np.testing.assert_array_equal(study.scores(arm).pseudo, paired.scores(arm).pseudo)
    columns = ["value", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(
        calibration_table(study, 10, Settings())[columns],
        calibration_table(paired, 10, Settings())[columns],
    )


def test_a_simulated_study_has_a_design_and_its_plan_matches_the_patch_level_one():
    design = Design(n_patients=5, n_seeds=2, n_arms=3, min_patches=20, max_patches=40)
    study = simulate_study(np.random.default_rng(0), design, 0.0)
    layout = study.design
    assert (layout.n_patients, layout.seeds, layout.arms) == (5, [0, 1], ["0", "1", "2"])
    assert simulate_study(np.random.default_rng(1), design, 0.0).design is layout  # built once
    # the aggregated counts of arm 0 expanded to patches: the same pseudovalues either way
    confusion = study.confusion[0, 0]  # (seeds, patients, 4)
    pseudo, _ = _jackknife(confusion, layout.plan)
    frames = []
    for seed in range(2):
        labels, predicted, patients = [], [], []
        for patient in range(5):
            tp, fn, fp, tn = confusion[seed, patient]
            labels += [1] * (tp + fn) + [0] * (fp + tn)
            predicted += [1] * tp + [0] * fn + [1] * fp + [0] * tn
            patients += [f"p{patient}"] * (tp + fn + fp + tn)
        frames.append((np.array(labels), np.array(predicted), np.array(patients)))
    for seed, (labels, predicted, patients) in enumerate(frames):
        codes, _ = pd.factorize(patients)
        plan = ResamplePlan(codes, 5)
        values = weighted_metrics(labels, predicted, 0.5, plan.weights, ("balanced_accuracy",))
        lost = class_lost(plan.weights @ labels, plan.weights @ (1 - labels))
        values = np.where(lost, np.nan, values["balanced_accuracy"])
        expected = plan.pseudovalues(values[None, :])
        np.testing.assert_allclose(pseudo[seed], expected[0])
    # a study whose counts do not fit its design is refused
    wrong = Study(study.confusion, StudyDesign.synthetic(4, ["0", "1", "2"], 2))
    with pytest.raises(ValueError, match="need 4 patients"):
        analyse(wrong, design, 0.05)


def test_totals_are_the_plan_weights_applied_to_per_patient_counts():
    rng = np.random.default_rng(2)
    counts = rng.integers(0, 20, (3, 4, 4))  # (seeds, patients, cells)
    plan = ResamplePlan(np.arange(4), 4)
    np.testing.assert_array_equal(plan.totals(counts), plan.weights @ counts)
    values = threshold_metrics(*np.moveaxis(plan.totals(counts), -1, 0))["accuracy"]
    assert values.shape == (3, 5)
