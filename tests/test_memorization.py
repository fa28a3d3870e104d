"""Memorization per training patient: planted copies of one patient are found for that
patient only; a generator of fresh patches is flagged for none."""

from __future__ import annotations

import numpy as np
import pytest

from idc_synth.memorization import COLUMNS, COPIED, NOT_SHOWN, holm, memorization_table
from idc_synth.quality.neighbours import nearest_neighbours

PATIENTS = 8
TRAIN_PER_PATIENT, HELD_PER_PATIENT = 40, 50
SPACE = "classifier"
COPIED_PATIENT = "p3"


def patient_patches(n_per_patient: int, rng: np.random.Generator):
    """Patches of every patient around the patient's own centre, half of each class."""
    centres = np.random.default_rng(0).normal(0, 3, (PATIENTS, 6))
    patients = np.repeat([f"p{i}" for i in range(PATIENTS)], n_per_patient)
    feats = centres[np.repeat(np.arange(PATIENTS), n_per_patient)] + rng.normal(
        size=(len(patients), 6)
    )
    labels = np.arange(len(patients)) % 2
    return feats, labels, patients


@pytest.fixture(scope="module")
def study():
    rng = np.random.default_rng(1)
    train, train_labels, train_patients = patient_patches(TRAIN_PER_PATIENT, rng)
    held, held_labels, _ = patient_patches(HELD_PER_PATIENT, rng)

    def nearest_train(feats, labels, key):
        """Per class, the distance to and index of each patch's nearest train patch."""
        out = {}
        for label in (0, 1):
            ours = train[train_labels == label]
            distances, nearest = nearest_neighbours(feats[labels == label], ours)
            out[f"{SPACE}_{key}_{label}"] = distances
            out[f"{SPACE}_{key}_nearest_{label}"] = nearest
        return out

    reference = nearest_train(held, held_labels, "calibration")
    for label in (0, 1):
        reference[f"train_patients_{label}"] = train_patients[train_labels == label]
    fresh, fresh_labels, _ = patient_patches(30, rng)
    # the copier: fresh patches plus one patient's train patches, barely perturbed
    planted = train_patients == COPIED_PATIENT
    copies = train[planted] + rng.normal(0, 1e-4, (planted.sum(), 6))
    copier = np.concatenate([fresh, copies])
    copier_labels = np.concatenate([fresh_labels, train_labels[planted]])

    generators = {
        "copier": nearest_train(copier, copier_labels, "copy"),
        "fresh": nearest_train(fresh, fresh_labels, "copy"),
    }
    # a 10 % threshold: fresh patches are flagged too, at the floor's rate
    return memorization_table(reference, generators, [SPACE], percentile=10.0, level=0.95)


def test_holm_adjusts_step_down_and_keeps_the_order():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])
    assert holm([]).size == 0
    # statsmodels' multipletests gives what the hand-written step-down gave (its Holm branch
    # runs gc.collect() per call, ~0.4 s in a test process's heap: a few families suffice)
    rng = np.random.default_rng(0)
    for _ in range(8):
        p = rng.uniform(0, 0.2, int(rng.integers(1, 12)))
        order = np.argsort(p, kind="stable")
        scaled = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
        expected = np.empty_like(p)
        expected[order] = np.minimum(scaled, 1.0)
        np.testing.assert_allclose(holm(p), expected)


def test_one_row_per_generator_and_train_patient(study):
    assert list(study.columns) == list(COLUMNS)
    assert len(study) == 2 * PATIENTS and set(study["feature_space"]) == {SPACE}
    assert (study.groupby("generator")["n_nearest"].sum() == [240 + 40, 240]).all()
    assert study["share"].between(study["ci_low"], study["ci_high"]).all()


def test_a_generator_copying_one_patient_is_flagged_for_that_patient_only(study):
    copier = study[study["generator"] == "copier"].set_index("patient")
    assert copier.loc[COPIED_PATIENT, "verdict"] == COPIED
    assert copier.loc[COPIED_PATIENT, "near_copies"] >= TRAIN_PER_PATIENT
    assert copier.loc[COPIED_PATIENT, "ci_low"] > copier.loc[COPIED_PATIENT, "floor_share"]
    assert (copier.drop(index=COPIED_PATIENT)["verdict"] == NOT_SHOWN).all()


def test_a_generator_of_fresh_patches_is_flagged_for_no_patient(study):
    fresh = study[study["generator"] == "fresh"]
    assert fresh["near_copies"].sum() > 10  # ~10 % flagged, spread over the patients
    assert (fresh["verdict"] == NOT_SHOWN).all()
    assert (fresh["p_holm"] >= fresh["p_value"]).all()
