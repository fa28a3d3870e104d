"""The diffusion section's cross-key checks, run at load when any arm trains diffusion (the
generator contract: ``idc_synth.<generator>.checks.check``, see docs/generators.md)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from idc_synth.config_checks import ConfigError
from idc_synth.diffusion.folder import PretrainedModelError, check_pipeline_folder


def check_pretrained(diffusion: Mapping[str, Any]) -> None:
    """A pretrained LoRA base must be a usable local folder, or a hub id with downloads on."""
    path = Path(diffusion["pretrained_path"]).expanduser()
    if diffusion.get("allow_download") and not path.exists():
        return  # a Hugging Face hub id, fetched by the training job
    if not diffusion["pretrained_path"]:
        raise ConfigError(
            "diffusion.pretrained_path: empty; mode 'pretrained' needs a local diffusers folder"
        )
    try:
        check_pipeline_folder(path)
    except PretrainedModelError as error:
        raise ConfigError(f"diffusion.pretrained_path: {error}") from None


def check(diffusion: Mapping[str, Any]) -> None:
    levels, channels = diffusion["unet_attention_levels"], diffusion["unet_channels"]
    if levels > len(channels):
        raise ConfigError(
            f"diffusion.unet_attention_levels: {levels} exceeds the {len(channels)} levels of "
            f"diffusion.unet_channels {channels}; lower it or add levels"
        )
    if diffusion["mode"] == "pretrained":
        check_pretrained(diffusion)
