"""Test-time perturbations (deterministic, in memory only) and the robustness inference."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from idc_synth.pack import load_packed
from idc_synth.robustness import PERTURBATIONS, perturb, robustness_table
from idc_synth.statistics import Settings, StudyPredictions

STRENGTHS = {"stain": 0.1, "brightness_contrast": 0.2, "blur": 1.0, "jpeg": 20}


def _patches(n: int = 6) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.integers(60, 220, (n, 1, 1, 3))
    texture = rng.integers(-40, 40, (n, 50, 50, 3))
    return np.clip(base + texture, 0, 255).astype(np.uint8)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("perturbation", PERTURBATIONS)
def test_perturbations_are_deterministic_per_seed_and_leave_the_packed_arrays_alone(
    tmp_path, perturbation
):
    images_path, table_path = tmp_path / "test.npy", tmp_path / "test.parquet"
    np.save(images_path, _patches())
    pd.DataFrame({"row": range(6), "patient": "p", "label": 0}).to_parquet(table_path)
    before = (_sha(images_path), _sha(table_path))
    images, _ = load_packed(images_path, table_path)  # a read-only memory map, as in the rule
    strength = STRENGTHS[perturbation]
    first = perturb(images, perturbation, strength, seed=0)
    again = perturb(images, perturbation, strength, seed=0)
    assert first.dtype == np.uint8 and first.shape == images.shape
    assert np.array_equal(first, again)
    assert not np.array_equal(first, np.asarray(images))
    if perturbation in ("stain", "brightness_contrast"):  # the random ones
        assert not np.array_equal(first, perturb(images, perturbation, strength, seed=1))
    assert (_sha(images_path), _sha(table_path)) == before
    assert np.array_equal(np.load(images_path), _patches())


def test_stronger_blur_and_jpeg_change_patches_more():
    images = _patches()
    for perturbation, weak, strong in (("blur", 0.5, 2.0), ("jpeg", 90, 10)):
        change = [
            np.abs(perturb(images, perturbation, s, 0).astype(int) - images).mean()
            for s in (weak, strong)
        ]
        assert change[1] > change[0] > 0


def test_unknown_perturbation_is_named():
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(_patches(), "rotate", 1.0, 0)


def _predictions(n_patients: int, flip: dict[str, float], seed: int = 0) -> pd.DataFrame:
    """Two arms, three seeds, 40 patches per patient; `flip` is each arm's error rate."""
    rng = np.random.default_rng(seed)
    labels = np.tile([0, 1], 20 * n_patients)
    patients = np.repeat([f"p{i}" for i in range(n_patients)], 40)
    frames = []
    for arm, rate in flip.items():
        for classifier_seed in (0, 1, 2):
            wrong = rng.random(len(labels)) < rate
            frames.append(
                pd.DataFrame(
                    {
                        "arm": arm,
                        "seed": classifier_seed,
                        "row": range(len(labels)),
                        "patient": patients,
                        "label": labels,
                        "probability": np.where(labels ^ wrong, 0.9, 0.1),
                        "threshold": 0.5,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def _table(n_patients: int, strengths=(0.2,), perturbation="stain") -> pd.DataFrame:
    clean = _predictions(n_patients, {"baseline": 0.1, "dcgan": 0.1})
    perturbed = pd.concat(
        [
            _predictions(n_patients, {"baseline": 0.4, "dcgan": 0.15}, seed=k + 1).assign(
                perturbation=perturbation, strength=strength
            )
            for k, strength in enumerate(strengths)
        ],
        ignore_index=True,
    )
    return robustness_table(StudyPredictions(clean), perturbed, Settings())


def test_robustness_table_finds_the_arm_that_degrades_less():
    table = _table(12)
    base = table[table["arm"] == "baseline"].iloc[0]
    dcgan = table[table["arm"] == "dcgan"].iloc[0]
    assert base["degradation"] == pytest.approx(base["mean"] - 0.9, abs=0.03)
    assert base["degradation_ci_high"] < 0
    assert dcgan["comparison"] == "dcgan vs baseline" and dcgan["role"] == "decision"
    assert dcgan["degradation_difference"] > 0.2
    assert dcgan["difference_ci_low"] > 0 and dcgan["verdict"] == "difference"
    assert base["comparison"] == "" and np.isnan(base["p_value"])


def test_only_the_strongest_strength_decides():
    table = _table(12, strengths=(0.05, 0.2))
    rows = table[table["arm"] == "dcgan"].set_index("strength")
    assert rows.loc[0.2, "role"] == "decision" and rows.loc[0.2, "verdict"] == "difference"
    assert rows.loc[0.05, "role"] == "secondary" and rows.loc[0.05, "verdict"] == ""
    assert np.isnan(rows.loc[0.05, "p_value"]) and rows.loc[0.05, "difference_ci_level"] == 0.95
    # JPEG's strength is a quality: the lowest is the strongest.
    jpeg = _table(12, strengths=(50, 15), perturbation="jpeg")
    decided = jpeg[(jpeg["arm"] == "dcgan") & (jpeg["role"] == "decision")]
    assert decided["strength"].tolist() == [15]


def test_robustness_table_is_undefined_with_one_patient():
    table = _table(1)
    dcgan = table[table["arm"] == "dcgan"].iloc[0]
    assert np.isnan(dcgan["difference_ci_low"]) and dcgan["verdict"] == "undefined"
    assert "2 needed" in dcgan["note"]


def test_summary_reads_robustness_only_as_far_as_its_decision():
    from idc_synth.report.readings import LIMITATION, NEUTRAL, NOT_MEASURED, robustness_readings

    (decided,) = robustness_readings("dcgan", _table(12))
    assert (decided.kind, decided.statement) != (NEUTRAL, "robustness.none_shown")
    assert decided.statement == "robustness.difference" and decided.kind != LIMITATION
    assert decided.numbers["perturbation"] == "stain" and decided.numbers["strength"] == 0.2
    # one patient: nothing is tested, and "not tested" is never worded as "no difference shown"
    (undefined,) = robustness_readings("dcgan", _table(1))
    assert (undefined.kind, undefined.statement) == (NOT_MEASURED, "robustness.not_tested")
