"""How good and how new are synthetic patches: FID, KID, precision/recall and near copies.

Two feature spaces measure the same sets:
- ``inception``: clean-fid's Inception-V3 (its ``clean`` PIL-bicubic resize to 299 px), the
  standard of the literature; only when its weights are already on disk, never downloaded.
- ``classifier``: the penultimate embedding of the baseline IDC classifier ("FID in the CNN
  model"), always available and tuned to what matters for this task.

Precision and recall follow Kynkaanniemi et al. 2019 (k-NN balls around each set). The
memorisation check compares each synthetic patch's nearest real-train distance with the same
distance of real val patches (which cannot be copies): a synthetic patch at or below the q-th
percentile of the val distances is a "near copy"; a generator that makes fresh samples flags
about q% of them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from idc_synth.models import to_model_input

log = logging.getLogger(__name__)

INCEPTION_FILE = "inception-2015-12-05.pt"
CLEANFID_CACHE = Path("/tmp") / INCEPTION_FILE  # the only place clean-fid 0.1.35 looks
INCEPTION_SIZE = 299
FID_SMALL_N = 2048  # below this many patches per set FID is noticeably biased upward
DISTANCE_BUDGET_BYTES = 1 << 28  # largest block of pairwise distances held at once (256 MiB)
ROW_COLUMNS = (
    "feature_space",
    "generator",
    "label",
    "n_synthetic",
    "n_real",
    "fid",
    "kid",
    "kid_std",
    "precision",
    "recall",
    "near_copy_share",
    "status",
    "note",
)

FeatureFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (images, rows) -> features


@dataclass(frozen=True)
class QualitySettings:
    inception_weights: str | None = None
    max_patches: int | None = 2048
    kid_subset_size: int = 1000
    kid_subsets: int = 100
    pr_k: int = 3
    near_copy_percentile: float = 1.0
    closest_pairs: int = 16
    sample_seed: int = 0


# ---------------------------------------------------------------------------------------------
# Feature extraction, batched, from uint8 (N, 50, 50, 3) arrays


def inception_weights_file(path: str | Path | None) -> Path:
    """The Inception file a config value names: a folder holding it, the file, or (None)
    clean-fid's cache path."""
    if path is None or str(path) == "":
        return CLEANFID_CACHE
    path = Path(path)
    return path if path.suffix == ".pt" else path / INCEPTION_FILE


def load_inception(weights: Path, device: torch.device | str) -> nn.Module | None:
    """clean-fid's Inception wrapper on ``device`` from a local file, or None when it is absent.

    Never downloads: ``InceptionV3W(..., download=False)`` only reads ``<folder>/{INCEPTION_FILE}``.
    """
    weights = Path(weights)
    if not weights.is_file():
        return None
    if weights.name != INCEPTION_FILE:
        raise ValueError(
            f"{weights}: clean-fid reads Inception weights only from a file named "
            f"{INCEPTION_FILE}; rename it or point quality.inception_weights at its folder"
        )
    from cleanfid.inception_torchscript import InceptionV3W

    return InceptionV3W(str(weights.parent), download=False).to(device).eval()


def clean_resize(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, 299, 299) in [0, 255], clean-fid's ``clean`` resize
    (PIL bicubic per channel in float, no quantisation), exactly as its folder loader does."""
    from cleanfid.resize import build_resizer

    resize = build_resizer("clean")
    resized = np.stack([resize(np.asarray(image)) for image in images])
    return torch.from_numpy(resized).permute(0, 3, 1, 2).contiguous()


def _batches(images: np.ndarray, rows: np.ndarray | None, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive uint8 batches of ``images[rows]``; from a memory map only these rows are read."""
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    for start in range(0, len(rows), batch_size):
        yield np.ascontiguousarray(images[rows[start : start + batch_size]])


def _stack(feats: list[torch.Tensor]) -> np.ndarray:
    return torch.cat(feats).double().numpy() if feats else np.empty((0, 0))


@torch.no_grad()
def inception_features(
    extractor: nn.Module,
    images: np.ndarray,
    rows: np.ndarray | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 32,
) -> np.ndarray:
    """(N, D) float64 features of an Inception-like extractor taking clean-resized [0, 255]."""
    return _stack(
        [
            extractor(clean_resize(batch).to(device)).cpu()
            for batch in _batches(images, rows, batch_size)
        ]
    )


@torch.no_grad()
def classifier_features(
    model: nn.Module,
    images: np.ndarray,
    rows: np.ndarray | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 512,
) -> np.ndarray:
    """(N, D) float64 penultimate embeddings (``model.features``) of uint8 patches."""
    model.eval()
    return _stack(
        [
            model.features(to_model_input(torch.from_numpy(batch).to(device))).cpu()
            for batch in _batches(images, rows, batch_size)
        ]
    )


def subsample(n: int, cap: int | None, seed: int, label: int) -> np.ndarray:
    """Sorted row indices: all ``n`` rows, or ``cap`` of them drawn from (seed, label)."""
    if cap is None or n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, label]).choice(n, size=cap, replace=False))


# ---------------------------------------------------------------------------------------------
# FID and KID (clean-fid's implementations)


def fid(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (clean-fid)."""
    from cleanfid.fid import fid_from_feats

    if min(len(feats1), len(feats2)) < 2:
        return math.nan
    try:
        with warnings.catch_warnings():  # scipy 1.17 deprecates the `disp` clean-fid passes
            warnings.simplefilter("ignore", DeprecationWarning)
            return float(fid_from_feats(feats1, feats2))
    except ValueError as error:  # a large imaginary part of sqrtm: too few patches for D
        log.warning("FID undefined (%s): n = %d, %d", error, len(feats1), len(feats2))
        return math.nan


@contextlib.contextmanager
def _numpy_global_seed(seed: int) -> Iterator[None]:
    """clean-fid's KID draws from numpy's global RNG: seed it here, restore it after."""
    state = np.random.get_state()  # noqa: NPY002  (clean-fid uses the legacy global RNG)
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def kid(
    feats1: np.ndarray, feats2: np.ndarray, subset_size: int, n_subsets: int, seed: int
) -> tuple[float, float, int]:
    """KID (unbiased cubic-kernel MMD^2) mean and std over random subsets, and the subset size.

    Each subset is one call of clean-fid's ``kernel_distance``, so the mean equals its value.
    """
    from cleanfid.fid import kernel_distance

    size = min(len(feats1), len(feats2), subset_size)
    if size < 2:
        return math.nan, math.nan, size
    with _numpy_global_seed(seed):
        values = [
            kernel_distance(feats1, feats2, num_subsets=1, max_subset_size=size)
            for _ in range(n_subsets)
        ]
    return float(np.mean(values)), float(np.std(values, ddof=1) if n_subsets > 1 else 0.0), size


# ---------------------------------------------------------------------------------------------
# Nearest neighbours (batched torch.cdist, memory-bounded), precision/recall, memorisation


def _blocks(n_queries: int, n_reference: int) -> Iterator[slice]:
    rows = max(1, DISTANCE_BUDGET_BYTES // (4 * max(1, n_reference)))
    for start in range(0, n_queries, rows):
        yield slice(start, start + rows)


def _tensor(feats: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(feats), dtype=torch.float32)


def nearest_neighbours(queries: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each query's Euclidean distance to its nearest reference point, and that point's index."""
    q, r = _tensor(queries), _tensor(reference)
    distances, indices = [], []
    for block in _blocks(len(q), len(r)):
        d, i = torch.cdist(q[block], r).min(dim=1)
        distances.append(d)
        indices.append(i)
    if not distances:
        return np.empty(0), np.empty(0, np.int64)
    return torch.cat(distances).double().numpy(), torch.cat(indices).numpy()


def knn_radii(feats: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest other point of the same set."""
    x = _tensor(feats)
    radii = [
        torch.cdist(x[block], x).topk(k + 1, dim=1, largest=False).values[:, k]
        for block in _blocks(len(x), len(x))
    ]
    return torch.cat(radii).double().numpy()


def _coverage(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> float:
    """Share of queries inside at least one ball (centre, radius)."""
    q, c, r = _tensor(queries), _tensor(centres), torch.as_tensor(radii, dtype=torch.float32)
    inside = [
        (torch.cdist(q[block], c) <= r[None, :]).any(dim=1) for block in _blocks(len(q), len(c))
    ]
    return float(torch.cat(inside).double().mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    """Improved precision (fake inside the real manifold) and recall (real inside the fake one)."""
    if min(len(real), len(fake)) <= k:
        return math.nan, math.nan
    precision = _coverage(fake, real, knn_radii(real, k))
    recall = _coverage(real, fake, knn_radii(fake, k))
    return precision, recall


@dataclass
class Memorisation:
    distances: np.ndarray  # each candidate's nearest-train distance
    train_index: np.ndarray  # which train patch that is
    threshold: float  # the percentile of the val nearest-train distances
    near_copy: np.ndarray  # bool: distance at or below the threshold

    @property
    def share(self) -> float:
        return float(self.near_copy.mean()) if len(self.near_copy) else math.nan


def memorisation(
    candidates: np.ndarray, train: np.ndarray, val: np.ndarray, percentile: float
) -> Memorisation:
    """Flag candidates closer to a train patch than all but ``percentile`` % of val patches."""
    distances, index = nearest_neighbours(candidates, train)
    val_distances, _ = nearest_neighbours(val, train)
    threshold = float(np.percentile(val_distances, percentile)) if len(val) else math.nan
    return Memorisation(distances, index, threshold, distances <= threshold)


def closest_pairs(
    candidates: np.ndarray,
    train: np.ndarray,
    distances: np.ndarray,
    candidate_rows: np.ndarray,
    train_rows: np.ndarray,
    n_pairs: int,
) -> dict[str, np.ndarray]:
    """The ``n_pairs`` candidate-train pairs with the smallest distances, as uint8 images."""
    order = np.argsort(distances, kind="stable")[:n_pairs]
    cand_rows = np.asarray(candidate_rows, dtype=np.int64)[order]
    train_rows = np.asarray(train_rows, dtype=np.int64)[order]
    return {
        "synthetic": np.asarray(candidates[cand_rows]),
        "train": np.asarray(train[train_rows]),
        "distances": np.asarray(distances, dtype=float)[order],
        "synthetic_index": cand_rows,
        "train_row": train_rows,
    }


# ---------------------------------------------------------------------------------------------
# One table row


def _note(n_fake: int, n_real: int, kid_size: int, settings: QualitySettings) -> str:
    notes = []
    if min(n_fake, n_real) < FID_SMALL_N:
        notes.append(
            f"small n ({min(n_fake, n_real)} < {FID_SMALL_N}): FID is biased upward, "
            "compare with the real_val row and prefer KID"
        )
    if 0 < kid_size < settings.kid_subset_size:
        notes.append(f"KID subsets of {kid_size} (< {settings.kid_subset_size})")
    return "; ".join(notes)


def quality_row(
    feature_space: str,
    generator: str,
    label: int,
    fake: np.ndarray,
    real: np.ndarray,
    settings: QualitySettings,
    near_copy_share: float = math.nan,
    extra_note: str = "",
) -> dict:
    """FID, KID and precision/recall of ``fake`` against ``real`` features, as a table row."""
    n_fake, n_real = len(fake), len(real)
    row = dict.fromkeys(ROW_COLUMNS, math.nan)
    row.update(
        feature_space=feature_space,
        generator=generator,
        label=int(label),
        n_synthetic=n_fake,
        n_real=n_real,
        near_copy_share=near_copy_share,
    )
    if min(n_fake, n_real) < 2:
        status = f"skipped: too few patches ({n_fake} vs {n_real})"
        return {**row, "status": status, "note": extra_note}
    seed = settings.sample_seed * 2 + int(label)
    row["kid"], row["kid_std"], kid_size = kid(
        fake, real, settings.kid_subset_size, settings.kid_subsets, seed
    )
    row["fid"] = fid(fake, real)
    row["precision"], row["recall"] = precision_recall(real, fake, settings.pr_k)
    note = "; ".join(filter(None, [_note(n_fake, n_real, kid_size, settings), extra_note]))
    return {**row, "status": "ok", "note": note}


def skipped_row(
    feature_space: str, generator: str, label: int, status: str, note: str = ""
) -> dict:
    row = dict.fromkeys(ROW_COLUMNS, math.nan)
    row.update(
        feature_space=feature_space,
        generator=generator,
        label=int(label),
        n_synthetic=0,
        n_real=0,
        status=status,
        note=note,
    )
    return row


# ---------------------------------------------------------------------------------------------
# A whole candidate set (synthetic patches, or real val as the reference) against real train


@dataclass
class LabelledImages:
    images: np.ndarray  # uint8 (N, 50, 50, 3), may be a memory map
    labels: np.ndarray

    def rows(self, label: int) -> np.ndarray:
        return np.flatnonzero(np.asarray(self.labels) == label)


def assess(
    generator: str,
    candidates: LabelledImages,
    train: LabelledImages,
    val: LabelledImages,
    classifier_fn: FeatureFn,
    inception_fn: FeatureFn | None,
    inception_status: str,
    settings: QualitySettings,
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Per class, one row per feature space, and the closest candidate-train pairs overall.

    The classifier space uses every patch (and finds near copies among all of train); the
    Inception space (slow on a CPU) a seeded subsample of at most ``settings.max_patches`` per
    set and class, or a ``skipped`` row with ``inception_status`` when ``inception_fn`` is None.
    """
    rows, pair_parts = [], []
    for label in (0, 1):
        cand_rows, train_rows, val_rows = (s.rows(label) for s in (candidates, train, val))
        log.info(
            "%s class %d: %d candidates, %d train, %d val",
            generator,
            label,
            len(cand_rows),
            len(train_rows),
            len(val_rows),
        )
        cand_f, train_f, val_f = (
            classifier_fn(s.images, r)
            for s, r in ((candidates, cand_rows), (train, train_rows), (val, val_rows))
        )
        share, note = math.nan, ""
        if len(cand_rows) and len(train_rows) and len(val_rows):
            found = memorisation(cand_f, train_f, val_f, settings.near_copy_percentile)
            share = found.share
            note = (
                f"near copy: train-NN distance <= {found.threshold:.4g} (val percentile "
                f"{settings.near_copy_percentile:g}; fresh samples flag about that share)"
            )
            pair_parts.append((found.distances, cand_rows, train_rows[found.train_index]))
            log.info(
                "class %d: %.2f%% near copies (threshold %.4g = val percentile %g)",
                label,
                100 * share,
                found.threshold,
                settings.near_copy_percentile,
            )
        rows.append(
            quality_row("classifier", generator, label, cand_f, train_f, settings, share, note)
        )

        if inception_fn is None:
            rows.append(skipped_row("inception", generator, label, inception_status))
            continue
        cand_sub = cand_rows[
            subsample(len(cand_rows), settings.max_patches, settings.sample_seed, label)
        ]
        train_sub = train_rows[
            subsample(len(train_rows), settings.max_patches, settings.sample_seed, label)
        ]
        cand_i = inception_fn(candidates.images, cand_sub)
        train_i = inception_fn(train.images, train_sub)
        rows.append(quality_row("inception", generator, label, cand_i, train_i, settings))
        for row in rows[-2:]:
            log.info("%s", row)

    if pair_parts:
        distances, cand_rows, train_rows = (
            np.concatenate(p) for p in zip(*pair_parts, strict=True)
        )
    else:
        distances, cand_rows, train_rows = np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64)
    pairs = closest_pairs(
        candidates.images, train.images, distances, cand_rows, train_rows, settings.closest_pairs
    )
    return rows, pairs
