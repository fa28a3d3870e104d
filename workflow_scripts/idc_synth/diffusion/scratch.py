"""Latent diffusion from scratch: an AutoencoderKL, then a class-conditional UNet on its latents.

Patches are reflect-padded to ``settings.model_size`` (56 px in the demo) and samples cropped
back to 50 px: no resize, so no resampling signature in the synthetic patches.

The train split is encoded to latents once after the VAE phase, so the UNet phase never runs
the VAE (most of the per-step cost at these sizes). With a ``ProgressScorer``, each UNet
checkpoint samples both classes with the EMA weights and scores them against held-out train
patches (quality over training). The saved model folder holds ``vae/``,
``unet/`` (EMA weights) and ``scheduler/`` in diffusers format (safetensors), plus
``arm.json``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DDIMScheduler, DDPMScheduler, UNet2DModel
from diffusers.training_utils import EMAModel

from idc_synth.diffusion.pixels import dihedral, to_model_padded
from idc_synth.diffusion.sampling import ScratchSampler
from idc_synth.diffusion.settings import DiffusionSettings
from idc_synth.diffusion.training import (
    NULL_CLASS,
    DenoisingLoss,
    Phase,
    Trainer,
    derived_seed,
    draw_batch,
    drop_labels,
    seeded_init,
    write_arm,
)
from idc_synth.progress import ProgressScorer

log = logging.getLogger(__name__)

ENCODE_BATCH = 256


def norm_groups(channels: tuple[int, ...]) -> int:
    """GroupNorm groups dividing every width: 32 as in SD, fewer for the tiny demo widths."""
    return max(1, min(32, math.gcd(*channels) // 2))


def build_vae(settings: DiffusionSettings) -> AutoencoderKL:
    levels = len(settings.vae_channels)
    return AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * levels,
        up_block_types=("UpDecoderBlock2D",) * levels,
        block_out_channels=settings.vae_channels,
        layers_per_block=1,
        latent_channels=settings.latent_channels,
        norm_num_groups=norm_groups(settings.vae_channels),
        sample_size=settings.model_size,
    )


def build_unet(settings: DiffusionSettings) -> UNet2DModel:
    levels = len(settings.unet_channels)
    attention = [level >= levels - settings.unet_attention_levels for level in range(levels)]
    return UNet2DModel(
        sample_size=settings.model_size // settings.vae_downsampling,
        in_channels=settings.latent_channels,
        out_channels=settings.latent_channels,
        block_out_channels=settings.unet_channels,
        layers_per_block=settings.unet_layers_per_block,
        down_block_types=tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attention),
        up_block_types=tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in attention[::-1]),
        add_attention=settings.unet_attention_levels > 0,
        attention_head_dim=8,
        norm_num_groups=norm_groups(settings.unet_channels),
        num_class_embeds=NULL_CLASS + 1,
    )


def build_noise_scheduler(settings: DiffusionSettings) -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=settings.train_timesteps,
        beta_schedule="scaled_linear",  # Stable Diffusion's latent-space schedule
        beta_start=0.00085,
        beta_end=0.012,
        clip_sample=False,
        # DDIM's steps end on the last train timestep (999, 899, ..., 99), where its pure-noise
        # start is what the UNet was trained on. "leading" (900, ..., 0) starts at t = 900,
        # where the UNet expects sqrt(alpha_bar) = 0.12 of signal in the noise it is given
        # (Lin et al. 2024). Training ignores the spacing; the saved scheduler keeps it.
        timestep_spacing="trailing",
    )


class VAELoss(torch.nn.Module):
    """L1 reconstruction + a small KL (as in SD's VAE, minus its perceptual and GAN terms)."""

    def __init__(self, vae: AutoencoderKL, kl_weight: float) -> None:
        super().__init__()
        self.vae = vae
        self.kl_weight = kl_weight

    def forward(self, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        posterior = self.vae.encode(pixels).latent_dist
        reconstruction = self.vae.decode(posterior.sample(generator)).sample
        kl = posterior.kl().mean()
        return F.l1_loss(reconstruction.float(), pixels.float()) + self.kl_weight * kl


def train_scratch(
    images: np.ndarray,
    labels: np.ndarray,
    settings: DiffusionSettings,
    trainer: Trainer,
    model_dir: Path,
    scorer: ProgressScorer | None = None,
) -> None:
    accelerator = trainer.accelerator
    device = accelerator.device
    vae = seeded_init(settings.seed, "vae", lambda: build_vae(settings))
    log.info("VAE: %d parameters", sum(p.numel() for p in vae.parameters()))
    vae_loss = accelerator.prepare(VAELoss(vae, settings.kl_weight))

    def vae_batch_loss(generator: torch.Generator) -> torch.Tensor:
        batch = draw_batch(len(images), settings.vae_batch_size, generator)
        patches = images[np.sort(batch)]
        pixels = dihedral(to_model_padded(patches, settings.model_size, device), generator)
        return vae_loss(pixels, generator)

    optimizer, schedule = trainer.optimizer(vae.parameters(), settings.vae_lr, settings.vae_steps)
    trainer.run(
        Phase(
            name="vae",
            steps=settings.vae_steps,
            model=vae_loss,
            parameters=list(vae.parameters()),
            optimizer=optimizer,
            lr_scheduler=schedule,
            loss=vae_batch_loss,
            weights=vae.state_dict,
            load_weights=vae.load_state_dict,
        )
    )
    latents = encode(vae, images, settings.model_size, device)

    unet = seeded_init(settings.seed, "unet", lambda: build_unet(settings))
    log.info("UNet: %d parameters", sum(p.numel() for p in unet.parameters()))
    noise_scheduler = build_noise_scheduler(settings)
    denoise = accelerator.prepare(DenoisingLoss(unet, noise_scheduler))
    parameters = list(unet.parameters())
    ema = EMAModel(parameters, decay=settings.ema_decay)
    ema.to(device)

    def unet_batch_loss(generator: torch.Generator) -> torch.Tensor:
        batch = draw_batch(len(latents), settings.unet_batch_size, generator)
        # Flipping latents stands in for encoding flipped patches: the VAE is convolutional.
        batch_latents = dihedral(latents[torch.from_numpy(batch).to(device)], generator)
        classes = drop_labels(labels[batch], settings.label_dropout, generator).to(device)
        return denoise(batch_latents, generator, class_labels=classes)

    def snapshot(step: int) -> list[list[float]]:
        """The EMA UNet's samples scored, the training weights restored after."""
        ema.store(parameters)
        ema.copy_to(parameters)
        unet.eval()
        try:
            scheduler = DDIMScheduler.from_config(noise_scheduler.config)
            sampler = ScratchSampler(vae, unet, scheduler, settings, accelerator)
            seed = derived_seed(settings.seed, "snapshot")
            return scorer.score(step, lambda label, n: sampler.sample(label, n, seed))
        finally:
            unet.train()
            ema.restore(parameters)

    optimizer, schedule = trainer.optimizer(parameters, settings.unet_lr, settings.unet_steps)
    trainer.run(
        Phase(
            name="unet",
            steps=settings.unet_steps,
            model=denoise,
            parameters=parameters,
            optimizer=optimizer,
            lr_scheduler=schedule,
            loss=unet_batch_loss,
            weights=unet.state_dict,
            load_weights=unet.load_state_dict,
            ema=ema,
            snapshot=None if scorer is None else snapshot,
        )
    )
    if accelerator.is_main_process:
        ema.copy_to(parameters)  # the saved UNet is the EMA one: smoother samples
        vae.save_pretrained(model_dir / "vae")
        unet.save_pretrained(model_dir / "unet")
        noise_scheduler.save_pretrained(model_dir / "scheduler")
        write_arm(model_dir, {"mode": "scratch"})
        log.info("wrote VAE, EMA UNet and noise schedule to %s", model_dir)
    accelerator.wait_for_everyone()


@torch.no_grad()
def encode(vae: AutoencoderKL, images: np.ndarray, size: int, device: torch.device) -> torch.Tensor:
    """Posterior means of every patch, scaled to unit variance; the scale goes into the VAE's
    config (``scaling_factor``, as in SD) so sampling can undo it."""
    vae.eval()
    means = [
        vae.encode(
            to_model_padded(images[start : start + ENCODE_BATCH], size, device)
        ).latent_dist.mean
        for start in range(0, len(images), ENCODE_BATCH)
    ]
    latents = torch.cat(means)
    scale = 1.0 / latents.std().item()
    vae.register_to_config(scaling_factor=scale)
    log.info(
        "encoded %d patches to latents %s; scaling factor %.4f",
        len(latents),
        tuple(latents.shape[1:]),
        scale,
    )
    return latents * scale
