"""Matched n: within a feature space and class every row uses one n (FID's bias depends
strongly on n) and one seeded subsample per set."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.quality.subsets import MIN_PATCHES
from idc_synth.quality.table import TRAIN, QualitySettings, distribution_spaces


def matched_size(counts: Mapping[str, int], cap: int | None) -> int:
    """The n every row of a feature space and class uses: the smallest set with enough patches
    (train, held-out train, val and every generator), capped at ``cap``; 0 when none has."""
    if counts.get(TRAIN, 0) < MIN_PATCHES:
        return 0
    n = min(count for count in counts.values() if count >= MIN_PATCHES)
    return n if cap is None else min(n, cap)


def label_counts(labels: np.ndarray) -> dict[int, int]:
    labels = np.asarray(labels)
    return {label: int((labels == label).sum()) for label in (0, 1)}


def synthetic_label_counts(manifest_path: Path, draw: int) -> dict[int, int]:
    """Patches per class of one draw of a generator, from its manifest alone (no pixels read)."""
    table = pd.read_parquet(manifest_path, columns=["draw", "label"])
    return label_counts(table.loc[table["draw"] == draw, "label"].to_numpy())


def class_sizes(
    counts: Mapping[str, Mapping[int, int]], settings: QualitySettings
) -> dict[str, dict[int, int]]:
    """{space: {label: n}} from each set's per-class counts; Inception and the encoders are
    capped at ``max_patches`` (slow on a CPU), the classifier space uses every patch it can
    match."""
    sizes = {}
    for space in distribution_spaces(settings.encoders):
        cap = None if space == "classifier" else settings.max_patches
        sizes[space] = {
            label: matched_size({name: c[label] for name, c in counts.items()}, cap)
            for label in (0, 1)
        }
    return sizes
