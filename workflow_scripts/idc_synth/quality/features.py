"""Feature extraction for image quality, batched, from uint8 (N, 50, 50, 3) arrays: the baseline
classifier's embedding, clean-fid's Inception-V3 (only from a local file, never downloaded), the
encoders of quality.encoders (idc_synth.quality.encoders) and block-mean pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from idc_synth.models import to_model_input
from idc_synth.quality.encoders import Encoder, preprocess
from idc_synth.quality.pixels import image_batches

INCEPTION_FILE = "inception-2015-12-05.pt"
CLEANFID_CACHE = Path("/tmp") / INCEPTION_FILE  # the only place clean-fid 0.1.35 looks


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
            for batch in image_batches(images, rows, batch_size)
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
            for batch in image_batches(images, rows, batch_size)
        ]
    )


@torch.no_grad()
def encoder_features(
    encoder: Encoder,
    images: np.ndarray,
    rows: np.ndarray | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
) -> np.ndarray:
    """(N, D) float64 embeddings of a pretrained encoder, each patch resized to its input."""
    return _stack(
        [
            encoder.embed(preprocess(encoder, torch.from_numpy(batch).to(device))).cpu()
            for batch in image_batches(images, rows, batch_size)
        ]
    )
