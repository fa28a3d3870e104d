"""Patch-level classification metrics, one flat dict per (arm, seed) prediction set."""

from __future__ import annotations

import numpy as np

SCORE_KEYS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
)
METRIC_KEYS = (*SCORE_KEYS, "tn", "fp", "fn", "tp")  # scores, then the confusion counts
METRIC_COLUMNS = ("arm", "seed", *METRIC_KEYS)
# How tables and figures name the scores.
METRIC_LABELS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
}


def classification_metrics(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5
) -> dict[str, float | int]:
    """Threshold metrics at ``threshold`` plus ranking metrics (ROC AUC, PR AUC = average
    precision); the ranking ones are NaN when ``labels`` hold a single class (undefined there)."""
    # sklearn costs ~1 s to import: jobs that only need the column names skip it.
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        balanced_accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    labels = np.asarray(labels).astype(np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if labels.shape != probabilities.shape or labels.ndim != 1:
        raise ValueError(
            f"labels {labels.shape} and probabilities {probabilities.shape} "
            "must be 1-D and of equal length"
        )
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"labels must be 0 or 1, got values {np.unique(labels).tolist()}")
    predicted = (probabilities >= threshold).astype(np.int64)
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    both_classes = np.unique(labels).size == 2
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(labels, probabilities)) if both_classes else float("nan"),
        "pr_auc": (
            float(average_precision_score(labels, probabilities)) if both_classes else float("nan")
        ),
        "tn": int(tn),
        "fp": int(fp),
        "fn": int(fn),
        "tp": int(tp),
    }


def tune_threshold(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The decision threshold (predict IDC when probability >= it) with the highest balanced
    accuracy on these labels; among equally good ones, the one closest to 0.5."""
    from sklearn.metrics import roc_curve

    labels = np.asarray(labels).astype(np.int64)
    if np.unique(labels).size != 2:
        raise ValueError("tuning a threshold needs both classes among the labels")
    fpr, tpr, thresholds = roc_curve(labels, probabilities, drop_intermediate=False)
    finite = np.isfinite(thresholds)  # the first is +inf: "predict nothing as IDC"
    balanced = (tpr + 1 - fpr)[finite] / 2
    candidates = thresholds[finite][np.isclose(balanced, balanced.max(), rtol=0, atol=1e-12)]
    return float(candidates[np.argmin(np.abs(candidates - 0.5))])


def prediction_scores(predictions) -> dict[str, str | int | float]:
    """The METRIC_COLUMNS row of one prediction table (one arm, seed and threshold, as the
    predict job writes it: idc_synth.classifier.PREDICTION_COLUMNS)."""
    constant = {}
    for column in ("arm", "seed", "threshold"):
        values = predictions[column].unique().tolist()
        if len(values) != 1:
            raise ValueError(f"expected one {column} in a prediction table, found {values}")
        constant[column] = values[0]
    return {
        "arm": constant["arm"],
        "seed": constant["seed"],
        **classification_metrics(
            predictions["label"].to_numpy(),
            predictions["probability"].to_numpy(),
            constant["threshold"],
        ),
    }
