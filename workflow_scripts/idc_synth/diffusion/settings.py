"""Every knob of the diffusion arm, as one frozen dataclass built from the rule's params."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from idc_synth.layout import PATCH_SIZE

MODES = ("scratch", "pretrained")
MIXED_PRECISION = ("no", "fp16", "bf16")
DEFAULT_PROMPTS = {
    0: "H&E stained breast histopathology patch, benign tissue",
    1: "H&E stained breast histopathology patch, invasive ductal carcinoma",
}


@dataclass(frozen=True)
class DiffusionSettings:
    """Defaults are the CPU demo: both phases plus previews in ~5 min on 2 busy cores."""

    mode: str = "scratch"
    seed: int = 0
    mixed_precision: str = "no"
    grad_accumulation: int = 1
    checkpoint_every: int = 100
    lr_schedule: str = "cosine"  # any diffusers get_scheduler name
    lr_warmup_steps: int = 20
    label_dropout: float = 0.1  # share of steps trained unconditionally, for CFG
    train_timesteps: int = 1000
    sampling_steps: int = 20  # DDIM
    guidance_scale: float = 2.0
    sample_batch_size: int = 256
    preview_per_class: int = 16
    # scratch: AutoencoderKL on reflect-padded patches (model_size), then a class-conditional
    # latent UNet
    latent_channels: int = 4
    vae_channels: tuple[int, ...] = (8, 16, 32)
    vae_steps: int = 200
    vae_batch_size: int = 16
    vae_lr: float = 1e-3
    kl_weight: float = 1e-6
    unet_channels: tuple[int, ...] = (32, 64)
    unet_layers_per_block: int = 1
    unet_attention_levels: int = 1  # self-attention only in the lowest N resolution levels
    unet_steps: int = 300
    unet_batch_size: int = 32
    unet_lr: float = 1e-3
    ema_decay: float = 0.999
    # pretrained: LoRA on the UNet of a local diffusers-format Stable Diffusion pipeline
    pretrained_path: str = ""
    allow_download: bool = False  # only then may pretrained_path be a Hugging Face hub id
    prompts: dict[int, str] = field(default_factory=lambda: dict(DEFAULT_PROMPTS))
    resolution: int = 512
    lora_rank: int = 8
    lora_steps: int = 1000
    lora_batch_size: int = 4
    lora_lr: float = 1e-4

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
