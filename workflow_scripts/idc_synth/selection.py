"""Synthetic patches selected before they are trained on (arms ``<generator>_<selection>``):
every patch of a sampled pool is scored with a classifier that saw only the real train split
(its weights) and val (its period), and the best ``n`` of each class are kept.

- ``confidence`` (as HistoDiffusion, Xu et al. 2023): the classifier's probability of the class
  the patch was sampled for;
- ``realism`` (the realism score of Kynkäänniemi et al. 2019, the filter of Benito-Del-Valle et
  al. 2024): in the classifier's embedding, max over real train patches r of
  radius_k(r) / ||f - r||, radius_k(r) being r's distance to its k-th nearest real neighbour;
  only the real patches with a radius up to the median take part (the paper's guard against
  outliers' huge balls). Above 1: inside some real patch's ball. It rewards closeness to real
  patches, so it can favour near copies; image_quality.tsv measures them per set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from idc_synth.quality.neighbours import blocks, distances, knn_radii

SCORES = ("confidence", "realism")


def confidence(probability_idc: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The classifier's probability of each patch's intended class (label 1: IDC)."""
    probability_idc = np.asarray(probability_idc, np.float64)
    return np.where(np.asarray(labels) == 1, probability_idc, 1.0 - probability_idc)


def realism(fake: np.ndarray, real: np.ndarray, k: int) -> np.ndarray:
    """Kynkäänniemi et al.'s realism score of each row of ``fake`` against ``real`` (both
    (N, D) features); needs more than k real rows."""
    if len(real) <= k:
        raise ValueError(f"the realism score needs more than k = {k} real patches, got {len(real)}")
    radii = knn_radii(real, k)
    kept = radii <= np.median(radii)
    real, radii = real[kept], radii[kept]
    scores = [
        (radii[None, :] / np.maximum(distances(fake[block], real), 1e-12)).max(axis=1)
        for block in blocks(len(fake), len(real))
    ]
    return np.concatenate(scores) if scores else np.empty(0)


def keep_best(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest scores, in pool order (ties: the earlier patch)."""
    scores = np.asarray(scores, np.float64)
    if n > len(scores):
        raise ValueError(f"cannot keep {n} patches of a pool of {len(scores)}")
    order = np.argsort(-scores, kind="stable")
    return np.sort(order[:n])


def score_pool(
    score: str,
    labels: np.ndarray,
    probability_idc: Callable[[], np.ndarray],
    features: Callable[[], np.ndarray],
    real_features: Callable[[int], np.ndarray],
    k: int,
) -> np.ndarray:
    """One ``score`` (SCORES) per pool patch; the classifier outputs are computed lazily, so a
    selection reads only what its score needs. ``real_features(label)``: the real train
    features of a class, against which that class's patches are scored."""
    if score == "confidence":
        return confidence(probability_idc(), labels)
    if score != "realism":
        raise ValueError(f"unknown selection score {score!r}; known: {SCORES}")
    feats, scores = features(), np.full(len(labels), np.nan)
    for label in np.unique(labels):
        rows = labels == label
        scores[rows] = realism(feats[rows], real_features(int(label)), k)
    return scores


def selected_rows(pool: pd.DataFrame, scores: np.ndarray, keep_draw: int) -> pd.DataFrame:
    """The pool table with its ``score`` and ``kept`` columns: per class, as many patches as
    the pool's draw ``keep_draw`` holds (the plain arm's count), the best-scoring ones."""
    pool = pool.assign(score=scores, kept=False).reset_index(drop=True)
    for _, rows in pool.groupby("label"):
        n = int((rows["draw"] == keep_draw).sum())
        pool.loc[rows.index[keep_best(rows["score"].to_numpy(), n)], "kept"] = True
    return pool
