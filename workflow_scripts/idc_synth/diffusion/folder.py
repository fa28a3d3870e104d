"""A pretrained Stable Diffusion folder on disk: its check, its fingerprint and its loading.

Kept free of torch and diffusers at import (``load_base`` imports diffusers when called) so that
the workflow can check the folder, and list its files as the training rule's inputs, when it
loads; the trainer and the sampler both load a base pipeline from here.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffusers import StableDiffusionPipeline

log = logging.getLogger(__name__)

PIPELINE_PARTS = ("model_index.json", "unet", "vae", "text_encoder", "tokenizer", "scheduler")
EXPECTED = (
    "a diffusers-format Stable Diffusion folder (as written by "
    "StableDiffusionPipeline.save_pretrained) holding " + ", ".join(PIPELINE_PARTS)
)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth")


class PretrainedModelError(ValueError):
    """The pretrained pipeline is missing or malformed; the message names the path."""


def check_pipeline_folder(path: Path) -> None:
    if not path.is_dir():
        raise PretrainedModelError(
            f"pretrained_path {path} does not exist or is not a folder; expected {EXPECTED}. "
            "To fetch a Hugging Face hub id instead, set allow_download: true."
        )
    missing = [part for part in PIPELINE_PARTS if not (path / part).exists()]
    if missing:
        raise PretrainedModelError(
            f"pretrained_path {path} is missing {', '.join(missing)}; expected {EXPECTED}"
        )
    try:
        json.loads((path / "model_index.json").read_text())
    except (OSError, ValueError) as error:
        raise PretrainedModelError(
            f"{path / 'model_index.json'} is not readable JSON ({error}); expected {EXPECTED}"
        ) from error


def pipeline_files(path: Path) -> list[Path]:
    """The files that define the pipeline: model_index.json, every part's config and weights."""
    parts = [path / "model_index.json"]
    for part in PIPELINE_PARTS[1:]:
        parts += sorted(
            file
            for file in (path / part).rglob("*")
            if file.is_file() and (file.suffix in WEIGHT_SUFFIXES or file.suffix == ".json")
        )
    return parts


def pipeline_fingerprint(path: Path) -> dict[str, str]:
    """relative file -> sha256 of its bytes: new weights at the same path change it."""
    fingerprint = {}
    for file in pipeline_files(path):
        digest = hashlib.sha256()
        with open(file, "rb") as stream:
            while chunk := stream.read(1 << 24):
                digest.update(chunk)
        fingerprint[str(file.relative_to(path))] = digest.hexdigest()
    return fingerprint


def base_identity(source: str, allow_download: bool) -> dict[str, str] | str:
    """What a LoRA checkpoint was trained on: a local folder's fingerprint, or the hub id."""
    local = Path(source).expanduser()
    if local.exists() or not allow_download:
        return pipeline_fingerprint(local)
    return source


def load_base(source: str, allow_download: bool) -> StableDiffusionPipeline:
    """The pipeline at a local path; a hub id only when downloads are allowed (the one place
    this arm may touch the network)."""
    from diffusers import StableDiffusionPipeline

    local = Path(source).expanduser()
    if local.exists() or not allow_download:
        check_pipeline_folder(local)
        source = str(local)
    try:
        pipeline = StableDiffusionPipeline.from_pretrained(
            source,
            local_files_only=not allow_download,
            safety_checker=None,
            requires_safety_checker=False,
        )
    except Exception as error:  # diffusers raises OSError, ValueError, KeyError, ... here
        raise PretrainedModelError(
            f"could not load a Stable Diffusion pipeline from {source}: {error}"
        ) from error
    log.info("loaded pretrained Stable Diffusion from %s", source)
    return pipeline
