"""Test-time perturbations (deterministic, in memory only) and the robustness inference."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from idc_synth.pack import load_packed
from idc_synth.robustness import PERTURBATIONS, perturb, robustness_table
from idc_synth.statistics import Settings

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
    """Two arms, two seeds, 40 patches per patient; `flip` is each arm's error rate."""
    rng = np.random.default_rng(seed)
    labels = np.tile([0, 1], 20 * n_patients)
    patients = np.repeat([f"p{i}" for i in range(n_patients)], 40)
    frames = []
    for arm, rate in flip.items():
        for classifier_seed in (0, 1):
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


def test_robustness_table_finds_the_arm_that_degrades_less():
    clean = _predictions(12, {"baseline": 0.1, "dcgan": 0.1})
    perturbed = _predictions(12, {"baseline": 0.4, "dcgan": 0.15}, seed=1).assign(
        perturbation="stain", strength=0.2
    )
    table = robustness_table(clean, perturbed, Settings(bootstrap_samples=300))
    base = table[table["arm"] == "baseline"].iloc[0]
    dcgan = table[table["arm"] == "dcgan"].iloc[0]
    assert base["degradation"] == pytest.approx(base["mean"] - 0.9, abs=0.03)
    assert base["degradation_ci_high"] < 0
    assert dcgan["comparison"] == "dcgan vs baseline"
    assert dcgan["degradation_difference"] > 0.2
    assert dcgan["difference_ci_low"] > 0 and dcgan["verdict"] == "difference"
    assert base["comparison"] == "" and np.isnan(base["p_value"])


def test_robustness_table_is_undefined_with_too_few_patients():
    clean = _predictions(3, {"baseline": 0.1, "dcgan": 0.1})
    perturbed = _predictions(3, {"baseline": 0.4, "dcgan": 0.15}, seed=1).assign(
        perturbation="blur", strength=1.0
    )
    table = robustness_table(clean, perturbed, Settings(bootstrap_samples=50))
    dcgan = table[table["arm"] == "dcgan"].iloc[0]
    assert np.isnan(dcgan["difference_ci_low"]) and dcgan["verdict"] == "undefined"
    assert "fewer than" in dcgan["note"]


def test_summary_names_the_arm_that_degrades_least_only_as_far_as_the_test_allows():
    from idc_synth.summary import robustness_section

    clean = _predictions(12, {"baseline": 0.1, "dcgan": 0.1})
    perturbed = _predictions(12, {"baseline": 0.4, "dcgan": 0.15}, seed=1).assign(
        perturbation="stain", strength=0.2
    )
    text = "\n".join(robustness_section(robustness_table(clean, perturbed, Settings(300))))
    assert "Least degradation under stain: dcgan" in text
    assert "significantly less than the baseline" in text
    few = robustness_table(
        _predictions(3, {"baseline": 0.1, "dcgan": 0.1}),
        _predictions(3, {"baseline": 0.4, "dcgan": 0.15}, 1).assign(
            perturbation="stain", strength=0.2
        ),
        Settings(50),
    )
    text = "\n".join(robustness_section(few))
    assert "not distinguishable from the baseline" in text and ": undefined." in text
