"""The study's arms and the comparisons the primary family decides."""

from __future__ import annotations

import pytest

from idc_synth.arms import Arm, arm_sort_key, arms_of_kind, study_generators
from idc_synth.statistics import best_classic_arm, comparisons

ARMS = ["mixup", "diffusion+stain", "stain", "dcgan", "baseline", "rebalance", "diffusion"]


def test_arms_parse_into_generator_and_classic_parts():
    assert Arm.parse("diffusion+stain") == Arm("diffusion+stain", "diffusion", "stain")
    assert Arm.parse("rebalance").kind == "classic" and Arm.parse("dcgan").kind == "generator"
    assert Arm.parse("dcgan_only").synthetic_only and Arm.parse("dcgan_only").generator == "dcgan"
    for bad in ("stain+diffusion", "dcgan+diffusion", "stain+mixup", "gan", "diffusion+"):
        with pytest.raises(ValueError, match="unknown arm"):
            Arm.parse(bad)


def test_arms_sort_reference_first_then_generators_then_what_they_are_compared_with():
    assert sorted(ARMS, key=arm_sort_key) == [
        "baseline", "dcgan", "diffusion", "diffusion+stain", "mixup", "rebalance", "stain"
    ]  # fmt: skip
    assert study_generators(["baseline", "diffusion+stain", "stain"]) == ["diffusion"]
    assert arms_of_kind(ARMS, "classic") == ["mixup", "stain", "rebalance"]


def test_the_family_holds_each_generator_vs_baseline_and_best_classic_and_combined_vs_classic():
    family, secondary = comparisons(sorted(ARMS, key=arm_sort_key), best_classic="stain")
    assert family == [
        ("dcgan", "baseline"),
        ("diffusion", "baseline"),
        ("dcgan", "stain"),
        ("diffusion", "stain"),
        ("diffusion+stain", "stain"),
    ]
    assert ("diffusion", "dcgan") in secondary and ("stain", "baseline") in secondary
    assert ("diffusion+stain", "diffusion") in secondary
    assert not set(family) & set(secondary)
    # without classic arms the family is the generators vs the baseline, as before
    assert comparisons(["baseline", "dcgan", "diffusion"])[0] == [
        ("dcgan", "baseline"),
        ("diffusion", "baseline"),
    ]


def test_the_best_classic_arm_is_chosen_on_val_seed_averaged():
    scores = {"stain": [0.80, 0.70], "mixup": [0.74, 0.77], "rebalance": [0.60, 0.95]}
    assert best_classic_arm(scores) == "rebalance"  # mean 0.775 beats 0.755 and 0.75
    assert best_classic_arm({"stain": [0.8], "mixup": [0.8]}) == "mixup"  # ties: first by name
    assert best_classic_arm({}) is None
