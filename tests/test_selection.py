"""Selecting synthetic patches from a pool (idc_synth.selection) and the selected arms."""

import numpy as np
import pandas as pd
import pytest

from idc_synth.arms import Arm, arm_sort_key, comparisons
from idc_synth.selection import confidence, keep_best, realism, score_pool, selected_rows


def test_confidence_is_the_probability_of_the_intended_class():
    np.testing.assert_allclose(confidence([0.9, 0.9, 0.2], [1, 0, 0]), [0.9, 0.1, 0.8])


def test_realism_ranks_patches_inside_the_real_cloud_above_those_outside():
    rng = np.random.default_rng(0)
    real = rng.normal(0, 1, (400, 8))
    inside, outside = rng.normal(0, 0.3, (20, 8)), rng.normal(6, 1, (20, 8))
    scores = realism(np.vstack([inside, outside]), real, k=5)
    assert scores[:20].min() > scores[20:].max()
    assert (scores[:20] > 1).all() and (scores[20:] < 1).all()  # inside a ball or none
    with pytest.raises(ValueError, match="more than k = 5 real patches"):
        realism(inside, real[:5], k=5)


def test_realism_of_a_copy_is_the_largest_score_the_pool_can_get():
    """The score favours near copies (what image_quality.tsv's copy rows then measure)."""
    rng = np.random.default_rng(1)
    real = rng.normal(0, 1, (200, 4))
    pool = np.vstack([rng.normal(0, 1, (50, 4)), real[:1] + 1e-9])
    assert realism(pool, real, k=3).argmax() == 50


def test_keep_best_keeps_the_top_n_in_pool_order_and_breaks_ties_by_order():
    np.testing.assert_array_equal(keep_best([0.1, 0.9, 0.5, 0.9, 0.2], 2), [1, 3])
    np.testing.assert_array_equal(keep_best([0.5, 0.5, 0.5], 2), [0, 1])
    with pytest.raises(ValueError, match="cannot keep 4 patches of a pool of 3"):
        keep_best([1, 2, 3], 4)


def test_a_selection_keeps_per_class_as_many_as_the_plain_draw_holds():
    pool = pd.DataFrame(
        {
            "draw": [0, 0, 0, 2, 2, 2, 0, 2, 2],
            "label": [0, 0, 1, 0, 0, 1, 1, 1, 1],
        }
    )
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.7, 0.1, 0.2, 0.95])
    kept = selected_rows(pool, scores, keep_draw=0)
    assert kept.groupby("label")["kept"].sum().to_dict() == {0: 2, 1: 2}
    assert kept.index[kept["kept"]].tolist() == [3, 4, 5, 8]


def test_each_score_reads_only_the_classifier_output_it_needs():
    labels = np.array([0, 1, 1])

    def unused(*_):
        raise AssertionError("computed an output this score does not need")

    scores = score_pool("confidence", labels, lambda: np.array([0.2, 0.6, 0.9]), unused, unused, 1)
    np.testing.assert_allclose(scores, [0.8, 0.6, 0.9])
    rng = np.random.default_rng(2)
    feats = rng.normal(0, 1, (3, 2))
    real = {0: rng.normal(0, 1, (30, 2)), 1: rng.normal(5, 1, (30, 2))}
    scores = score_pool("realism", labels, unused, lambda: feats, real.__getitem__, 2)
    np.testing.assert_allclose(scores[1:], realism(feats[1:], real[1], 2))
    with pytest.raises(ValueError, match="unknown selection score 'sharpness'"):
        score_pool("sharpness", labels, unused, unused, unused, 1)


def test_a_selected_arm_is_decided_against_the_baseline_and_its_plain_arm():
    arm = Arm.parse("diffusion_confident")
    assert (arm.generator, arm.selection, arm.kind) == ("diffusion", "confident", "selected")
    family, secondary = comparisons(
        ["baseline", "diffusion", "diffusion_confident", "dcgan_realistic"]
    )
    assert family == [
        ("diffusion", "baseline"),
        ("diffusion_confident", "baseline"),
        ("diffusion_confident", "diffusion"),
        ("dcgan_realistic", "baseline"),  # its plain arm is not in the study
    ]
    assert not any("_confident" in a or "_realistic" in a for a, _ in secondary)
    names = ["stain", "diffusion_confident", "baseline", "diffusion"]
    assert sorted(names, key=arm_sort_key) == [
        "baseline",
        "diffusion",
        "diffusion_confident",
        "stain",
    ]
    with pytest.raises(ValueError, match="'<generator>_<selection>'"):
        Arm.parse("diffusion_sharpest")
