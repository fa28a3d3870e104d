"""Every knob of the diffusion arm, as one frozen dataclass built from the rule's params."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from idc_synth.defaults import schema_defaults
from idc_synth.layout import PATCH_SIZE

MODES = ("scratch", "pretrained")
MIXED_PRECISION = ("no", "fp16", "bf16")
DEFAULTS = schema_defaults("diffusion")  # the CPU demo's: both phases in ~5 min on 2 cores


@dataclass(frozen=True)
class DiffusionSettings:
    """The `diffusion:` config section; each default is the config schema's."""

    mode: str = DEFAULTS["mode"]
    seed: int = DEFAULTS["seed"]
    mixed_precision: str = DEFAULTS["mixed_precision"]
    grad_accumulation: int = DEFAULTS["grad_accumulation"]
    checkpoint_every: int = DEFAULTS["checkpoint_every"]
    lr_schedule: str = DEFAULTS["lr_schedule"]  # any diffusers get_scheduler name
    lr_warmup_steps: int = DEFAULTS["lr_warmup_steps"]
    label_dropout: float = DEFAULTS["label_dropout"]  # steps trained unconditionally, for CFG
    train_timesteps: int = DEFAULTS["train_timesteps"]
    sampling_steps: int = DEFAULTS["sampling_steps"]  # DDIM
    guidance_scale: float = DEFAULTS["guidance_scale"]
    sample_batch_size: int = DEFAULTS["sample_batch_size"]
    preview_per_class: int = DEFAULTS["preview_per_class"]
    # scratch: AutoencoderKL on reflect-padded patches (model_size), then a class-conditional
    # latent UNet
    latent_channels: int = DEFAULTS["latent_channels"]
    vae_channels: tuple[int, ...] = tuple(DEFAULTS["vae_channels"])
    vae_steps: int = DEFAULTS["vae_steps"]
    vae_batch_size: int = DEFAULTS["vae_batch_size"]
    vae_lr: float = DEFAULTS["vae_lr"]
    kl_weight: float = DEFAULTS["kl_weight"]
    unet_channels: tuple[int, ...] = tuple(DEFAULTS["unet_channels"])
    unet_layers_per_block: int = DEFAULTS["unet_layers_per_block"]
    unet_attention_levels: int = DEFAULTS["unet_attention_levels"]  # the lowest N levels only
    unet_steps: int = DEFAULTS["unet_steps"]
    unet_batch_size: int = DEFAULTS["unet_batch_size"]
    unet_lr: float = DEFAULTS["unet_lr"]
    ema_decay: float = DEFAULTS["ema_decay"]
    # pretrained: LoRA on the UNet of a local diffusers-format Stable Diffusion pipeline
    pretrained_path: str = DEFAULTS["pretrained_path"]
    allow_download: bool = DEFAULTS["allow_download"]  # only then may it be a hub id
    prompts: dict[int, str] = field(default_factory=lambda: dict(DEFAULTS["prompts"]))
    resolution: int = DEFAULTS["resolution"]
    lora_rank: int = DEFAULTS["lora_rank"]
    lora_steps: int = DEFAULTS["lora_steps"]
    lora_batch_size: int = DEFAULTS["lora_batch_size"]
    lora_lr: float = DEFAULTS["lora_lr"]

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"diffusion mode {self.mode!r} is not one of {MODES}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(
                f"mixed_precision {self.mixed_precision!r} is not one of {MIXED_PRECISION}"
            )
        # YAML/JSON give lists and string keys; the frozen dataclass keeps hashable tuples, int keys
        object.__setattr__(self, "vae_channels", tuple(self.vae_channels))
        object.__setattr__(self, "unet_channels", tuple(self.unet_channels))
        object.__setattr__(self, "prompts", {int(k): v for k, v in self.prompts.items()})
        if self.unet_attention_levels > len(self.unet_channels):
            raise ValueError("unet_attention_levels exceeds the number of UNet levels")
        if self.mode == "pretrained" and not self.pretrained_path:
            raise ValueError("mode 'pretrained' needs pretrained_path (a local diffusers folder)")

    @property
    def vae_downsampling(self) -> int:
        return 2 ** (len(self.vae_channels) - 1)

    @property
    def model_size(self) -> int:
        """Scratch mode's pixel size: the smallest at or above 50 that the VAE's and the latent
        UNet's downsampling both divide (demo: 4 x 2 -> 56); patches are reflect-padded to it
        and samples cropped back, so nothing is resampled. It is part of the model: another
        size (other vae_channels or unet_channels) is another model."""
        factor = self.vae_downsampling * 2 ** (len(self.unet_channels) - 1)
        return math.ceil(PATCH_SIZE / factor) * factor
