import math

import numpy as np
import pytest

from idc_synth.metrics import METRIC_COLUMNS, classification_metrics, tune_threshold


def test_known_example_matches_hand_counts():
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    probabilities = np.array([0.9, 0.6, 0.2, 0.7, 0.4, 0.3, 0.1, 0.05])
    # at 0.5: predicted 1 1 0 1 0 0 0 0 -> tp 2, fn 1, fp 1, tn 4
    m = classification_metrics(labels, probabilities)
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (4, 1, 1, 2)
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    # ranking: of the 15 (pos, neg) pairs, 4 are mis-ordered: (0.6, 0.7), (0.2, 0.7),
    # (0.2, 0.4), (0.2, 0.3) -> 11/15
    assert m["roc_auc"] == pytest.approx(11 / 15)
    # average precision: by score the positives rank 1, 3, 6 -> (1/1 + 2/3 + 3/6) / 3
    assert m["pr_auc"] == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)


def test_threshold_moves_the_calls():
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    probabilities = np.array([0.9, 0.6, 0.2, 0.7, 0.4, 0.3, 0.1, 0.05])
    m = classification_metrics(labels, probabilities, threshold=0.15)
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (2, 3, 0, 3)


def test_constant_predictor_has_balanced_accuracy_one_half():
    labels = np.array([0] * 9 + [1])
    m = classification_metrics(labels, np.zeros(10))
    assert m["accuracy"] == pytest.approx(0.9)
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["precision"] == 0.0 and m["recall"] == 0.0


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_single_class_labels_give_nan_auc_not_an_error():
    m = classification_metrics(np.zeros(4, dtype=int), np.array([0.1, 0.2, 0.7, 0.4]))
    assert math.isnan(m["roc_auc"]) and math.isnan(m["pr_auc"])
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (3, 1, 0, 0)


def test_keys_and_columns_are_fixed():
    m = classification_metrics(np.array([0, 1]), np.array([0.2, 0.8]))
    assert list(METRIC_COLUMNS) == ["arm", "seed", *m]


def test_mismatched_lengths_or_labels_are_rejected():
    with pytest.raises(ValueError, match="equal length"):
        classification_metrics(np.array([0, 1]), np.array([0.5]))
    with pytest.raises(ValueError, match="0 or 1"):
        classification_metrics(np.array([0, 2]), np.array([0.5, 0.5]))


def test_tuned_threshold_separates_shifted_scores():
    """Scores all above 0.5 (a classifier off-centre on real patches): 0.5 calls every patch
    IDC, the tuned threshold splits the classes."""
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.6, 0.65, 0.7, 0.9, 0.95])
    assert classification_metrics(labels, scores, 0.5)["balanced_accuracy"] == 0.5
    threshold = tune_threshold(labels, scores)
    assert 0.7 < threshold <= 0.9
    assert classification_metrics(labels, scores, threshold)["balanced_accuracy"] == 1.0


def test_tuned_threshold_prefers_the_one_nearest_one_half_among_ties():
    labels = np.array([0, 1, 0, 1])
    scores = np.array([0.3, 0.4, 0.6, 0.7])  # 0.4 and 0.7 both give balanced accuracy 0.75
    assert tune_threshold(labels, scores) == 0.4
    assert tune_threshold(labels, scores + 0.25) == 0.65  # now 0.65 is nearer than 0.95
    with pytest.raises(ValueError, match="both classes"):
        tune_threshold(np.zeros(3), np.array([0.1, 0.2, 0.3]))
