"""Patches from a trained diffusion model folder (either mode), reproducible from a seed.

All noise comes from a local CPU ``torch.Generator`` seeded per call, so a shard depends only
on (model, label, count, seed, sampling settings), never on job order or on the device's RNG.
Sampling uses DDIM with classifier-free guidance (scale 1 = conditional model only).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch
from accelerate import Accelerator
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DModel

from idc_synth.diffusion.folder import load_base
from idc_synth.diffusion.pixels import crop_patch, to_patches
from idc_synth.diffusion.settings import DiffusionSettings
from idc_synth.diffusion.training import ARM_FILE, NULL_CLASS
from idc_synth.layout import PATCH_SIZE
from idc_synth.runtime import log_progress

if TYPE_CHECKING:  # the pipeline pulls in transformers: only LoRA jobs import it
    from diffusers import StableDiffusionPipeline

log = logging.getLogger(__name__)


class Sampler(Protocol):
    def sample(self, label: int, count: int, seed: int) -> np.ndarray:
        """uint8 (count, 50, 50, 3) patches of class `label`."""


def load_sampler(model_dir: Path, settings: DiffusionSettings, accelerator: Accelerator) -> Sampler:
    arm_path = model_dir / ARM_FILE
    if not arm_path.is_file():
        raise FileNotFoundError(f"{arm_path} is missing: {model_dir} is not a diffusion model")
    arm = json.loads(arm_path.read_text())
    if arm["mode"] == "scratch":
        return ScratchSampler.from_folder(model_dir, settings, accelerator)
    return PretrainedSampler.from_folder(model_dir, arm, settings, accelerator)


def in_batches(count: int, batch_size: int) -> list[int]:
    return [min(batch_size, count - start) for start in range(0, count, batch_size)]


def batch_progress(label: int, count: int, batch_size: int):
    """The batch sizes of one class's draw, with their progress (rate, ETA) in the job's log:
    at full scale a draw samples for hours."""
    sizes = in_batches(count, batch_size)
    return log_progress(sizes, desc=f"sampling class {label} ({count} patches)", unit="batch")


class ScratchSampler:
    def __init__(
        self,
        vae: AutoencoderKL,
        unet: UNet2DModel,
        scheduler: DDIMScheduler,
        settings: DiffusionSettings,
        accelerator: Accelerator,
    ) -> None:
        self.settings = settings
        self.accelerator = accelerator
        self.vae, self.unet, self.scheduler = vae, unet, scheduler

    @classmethod
    def from_folder(
        cls, model_dir: Path, settings: DiffusionSettings, accelerator: Accelerator
    ) -> ScratchSampler:
        device = accelerator.device
        return cls(
            AutoencoderKL.from_pretrained(model_dir / "vae").to(device).eval(),
            UNet2DModel.from_pretrained(model_dir / "unet").to(device).eval(),
            DDIMScheduler.from_pretrained(model_dir / "scheduler"),
            settings,
            accelerator,
        )

    @torch.no_grad()
    def sample(self, label: int, count: int, seed: int) -> np.ndarray:
        generator = torch.Generator().manual_seed(seed)
        batches = [
            self._sample_batch(label, size, generator)
            for size in batch_progress(label, count, self.settings.sample_batch_size)
        ]
        return np.concatenate(batches) if batches else empty_patches()

    def _sample_batch(self, label: int, size: int, generator: torch.Generator) -> np.ndarray:
        device, config = self.accelerator.device, self.unet.config
        shape = (size, config.in_channels, config.sample_size, config.sample_size)
        latents = torch.randn(shape, generator=generator).to(device)
        latents = latents * self.scheduler.init_noise_sigma
        guided = self.settings.guidance_scale != 1.0
        classes = torch.full((size,), label, device=device)
        if guided:  # one batched pass for the conditional and the unconditional prediction
            classes = torch.cat([classes, torch.full_like(classes, NULL_CLASS)])
        self.scheduler.set_timesteps(self.settings.sampling_steps)
        with self.accelerator.autocast():
            for timestep in self.scheduler.timesteps:
                model_input = torch.cat([latents] * 2) if guided else latents
                model_input = self.scheduler.scale_model_input(model_input, timestep)
                noise = self.unet(model_input, timestep, class_labels=classes).sample.float()
                if guided:
                    conditional, unconditional = noise.chunk(2)
                    noise = unconditional + self.settings.guidance_scale * (
                        conditional - unconditional
                    )
                latents = self.scheduler.step(noise, timestep, latents).prev_sample
            pixels = self.vae.decode(latents / self.vae.config.scaling_factor).sample
        return to_patches(crop_patch(pixels))  # trained on reflect-padded patches


class PretrainedSampler:
    """A Stable Diffusion pipeline with its LoRA, a DDIM scheduler and the class prompts."""

    def __init__(
        self,
        pipeline: StableDiffusionPipeline,
        prompts: dict[int, str],
        resolution: int,
        settings: DiffusionSettings,
        accelerator: Accelerator,
    ) -> None:
        self.settings = settings
        self.accelerator = accelerator
        self.prompts = {int(label): prompt for label, prompt in prompts.items()}
        self.resolution = resolution
        pipeline.scheduler = DDIMScheduler.from_config(pipeline.scheduler.config)
        pipeline.set_progress_bar_config(disable=True)
        self.pipeline = pipeline.to(accelerator.device)

    @classmethod
    def from_folder(
        cls, model_dir: Path, arm: dict, settings: DiffusionSettings, accelerator: Accelerator
    ) -> PretrainedSampler:
        """The base pipeline with the trained LoRA, prompts and resolution from training."""
        pipeline = load_base(arm["base"], settings.allow_download)
        pipeline.load_lora_weights(model_dir, weight_name=arm["lora_file"])
        return cls(pipeline, arm["prompts"], arm["resolution"], settings, accelerator)

    @torch.no_grad()
    def sample(self, label: int, count: int, seed: int) -> np.ndarray:
        generator = torch.Generator().manual_seed(seed)
        batches = []
        # the pipeline's own per-step bar is off (one bar per batch would flood the log)
        for size in batch_progress(label, count, self.settings.sample_batch_size):
            with self.accelerator.autocast():
                pixels = self.pipeline(
                    prompt=[self.prompts[label]] * size,
                    height=self.resolution,
                    width=self.resolution,
                    num_inference_steps=self.settings.sampling_steps,
                    guidance_scale=self.settings.guidance_scale,
                    generator=generator,
                    output_type="pt",
                ).images
            # the pipeline returns [0, 1] at 512 px: an antialiased resize back to 50 px
            batches.append(to_patches(pixels * 2 - 1))
        return np.concatenate(batches) if batches else empty_patches()


def empty_patches() -> np.ndarray:
    return np.empty((0, PATCH_SIZE, PATCH_SIZE, 3), dtype=np.uint8)
