"""Pretrained encoders a user keeps on disk as feature spaces (``quality.encoders``): DINOv2, a
pathology foundation model (UNI, Virchow, Phikon, ...), any vision backbone whose folder is

- a **timm** folder: ``config.json`` naming an ``architecture`` (what timm's ``save_for_hf``
  and the Hub's timm repositories hold) and its weights (``model.safetensors`` or
  ``pytorch_model.bin``, read with ``weights_only``); features: the pooled embedding
  (``num_classes=0``);
- a **Hugging Face transformers** folder: ``config.json`` with a ``model_type`` and a
  ``preprocessor_config.json``; features: ``pooler_output``, else the first (CLS) token.

The preprocessing is the folder's own (input size, mean, std, interpolation); a 50 px patch is
resized to the whole input (no centre crop: a patch has no border to spare). Nothing is ever
downloaded: both libraries read the folder only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

TIMM, TRANSFORMERS = "timm", "transformers"


class EncoderFolderError(ValueError):
    """A quality.encoders folder that holds no loadable encoder."""


@dataclass(frozen=True)
class Encoder:
    """A loaded encoder: ``embed`` maps a normalized (N, 3, H, W) batch to (N, D) features."""

    embed: Callable[[torch.Tensor], torch.Tensor]
    size: tuple[int, int]  # (H, W) every patch is resized to
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str  # torch.nn.functional.interpolate mode: "bicubic" | "bilinear"
    kind: str  # TIMM | TRANSFORMERS


def encoder_kind(folder: Path) -> str:
    """Which library reads ``folder``; a clear error naming the folder otherwise."""
    config_file = Path(folder) / "config.json"
    if not config_file.is_file():
        raise EncoderFolderError(
            f"{folder}: no config.json; quality.encoders names a folder holding a timm or "
            "Hugging Face vision model (config.json and its weights), as downloaded from its hub"
        )
    config = json.loads(config_file.read_text())
    if "architecture" in config:
        return TIMM
    if "model_type" in config and (Path(folder) / "preprocessor_config.json").is_file():
        return TRANSFORMERS
    raise EncoderFolderError(
        f"{config_file}: neither a timm config (an 'architecture' key) nor a transformers one "
        "(a 'model_type' key beside preprocessor_config.json); download the model's whole folder"
    )


def load_encoder(folder: Path, device: torch.device | str) -> Encoder:
    """The encoder in ``folder`` on ``device``, in eval mode, with its preprocessing."""
    folder = Path(folder)
    loader = _load_timm if encoder_kind(folder) == TIMM else _load_transformers
    return loader(folder, torch.device(device))


def _load_timm(folder: Path, device: torch.device) -> Encoder:
    import timm
    from timm.data import resolve_data_config

    model = timm.create_model(f"local-dir:{folder}", pretrained=True, num_classes=0)
    model = model.to(device).eval()
    data = resolve_data_config({}, model=model)
    _, height, width = data["input_size"]
    return Encoder(
        embed=model,
        size=(height, width),
        mean=tuple(data["mean"]),
        std=tuple(data["std"]),
        interpolation=_mode(data.get("interpolation", "bicubic")),
        kind=TIMM,
    )


def _load_transformers(folder: Path, device: torch.device) -> Encoder:
    from transformers import AutoImageProcessor, AutoModel

    processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).to(device).eval()

    def embed(pixels: torch.Tensor) -> torch.Tensor:
        out = model(pixel_values=pixels)
        pooled = getattr(out, "pooler_output", None)
        return (pooled if pooled is not None else out.last_hidden_state[:, 0]).flatten(1)

    size = processor.crop_size if getattr(processor, "do_center_crop", False) else processor.size
    return Encoder(
        embed=embed,
        size=_hw(dict(size)),
        mean=tuple(processor.image_mean),
        std=tuple(processor.image_std),
        interpolation=_mode(getattr(processor, "resample", 3)),
        kind=TRANSFORMERS,
    )


def _hw(size: dict) -> tuple[int, int]:
    """(H, W) of a transformers size dict: height/width, or a square of shortest_edge."""
    if "height" in size:
        return int(size["height"]), int(size["width"])
    return int(size["shortest_edge"]), int(size["shortest_edge"])


def _mode(interpolation) -> str:
    """timm's name or PIL's resample number -> interpolate's mode (bicubic unless bilinear)."""
    return "bilinear" if interpolation in ("bilinear", 2) else "bicubic"


def preprocess(encoder: Encoder, batch: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, 3) patches -> the encoder's normalized (N, 3, *size) float input."""
    pixels = batch.permute(0, 3, 1, 2).float() / 255.0
    pixels = torch.nn.functional.interpolate(
        pixels, size=encoder.size, mode=encoder.interpolation, align_corners=False
    ).clamp(0.0, 1.0)
    mean = torch.tensor(encoder.mean, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(encoder.std, device=pixels.device).view(1, 3, 1, 1)
    return (pixels - mean) / std
