"""LoRA fine-tuning of a pretrained Stable Diffusion pipeline read from a local folder.

Only the UNet's attention projections get LoRA adapters; the VAE and text encoder stay frozen.
Each class is a prompt from the settings; label dropout swaps in the empty prompt, which is
what the pipeline's classifier-free guidance uses as its unconditional branch. Patches are
resized up to the model's resolution for training. With a ``ProgressScorer``, each checkpoint
samples both classes through the pipeline and scores them against held-out train patches. The
model folder holds the LoRA weights (safetensors) and ``arm.json`` naming the base pipeline,
prompts and resolution.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from diffusers import DDPMScheduler

from idc_synth.diffusion.folder import load_base
from idc_synth.diffusion.pixels import dihedral, to_model
from idc_synth.diffusion.sampling import PretrainedSampler
from idc_synth.diffusion.settings import DiffusionSettings
from idc_synth.diffusion.training import (
    ARM_FILE,
    DenoisingLoss,
    Phase,
    Trainer,
    derived_seed,
    draw_batch,
    drop_labels,
    seeded_init,
    write_arm,
)
from idc_synth.layout import CLASSES
from idc_synth.progress import ProgressScorer

if TYPE_CHECKING:  # the pipeline pulls in transformers (~4 s): only LoRA jobs import it
    from diffusers import StableDiffusionPipeline

log = logging.getLogger(__name__)

LORA_FILE = "pytorch_lora_weights.safetensors"


@torch.no_grad()
def class_embeddings(
    pipeline: StableDiffusionPipeline, prompts: dict[int, str], device: torch.device
) -> torch.Tensor:
    """Text-encoder states for each class prompt, then the empty prompt at row NULL_CLASS."""
    texts = [prompts[label] for label in CLASSES] + [""]
    tokens = pipeline.tokenizer(
        texts,
        padding="max_length",
        max_length=pipeline.tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    )
    return pipeline.text_encoder(tokens.input_ids.to(device))[0]


def train_lora(
    images: np.ndarray,
    labels: np.ndarray,
    settings: DiffusionSettings,
    trainer: Trainer,
    model_dir: Path,
    scorer: ProgressScorer | None = None,
) -> None:
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict

    accelerator = trainer.accelerator
    device = accelerator.device
    pipeline = load_base(settings.pretrained_path, settings.allow_download)
    for part in (pipeline.vae, pipeline.text_encoder, pipeline.unet):
        part.requires_grad_(False)
    unet = pipeline.unet
    lora = LoraConfig(
        r=settings.lora_rank,
        lora_alpha=settings.lora_rank,
        init_lora_weights="gaussian",
        target_modules=["to_k", "to_q", "to_v", "to_out.0"],
    )
    seeded_init(settings.seed, "lora", lambda: unet.add_adapter(lora))  # on the CPU
    for part in (pipeline.vae, pipeline.text_encoder, unet):
        part.to(device)
    parameters = [p for p in unet.parameters() if p.requires_grad]
    count = sum(p.numel() for p in parameters)
    log.info("LoRA rank %d: %d trainable parameters", settings.lora_rank, count)
    embeddings = class_embeddings(pipeline, settings.prompts, device)
    vae = pipeline.vae
    denoise = accelerator.prepare(
        DenoisingLoss(unet, DDPMScheduler.from_config(pipeline.scheduler.config))
    )

    def lora_batch_loss(generator: torch.Generator) -> torch.Tensor:
        batch = draw_batch(len(images), settings.lora_batch_size, generator)
        pixels = dihedral(to_model(images[batch], settings.resolution, device), generator)
        with torch.no_grad(), accelerator.autocast():
            posterior = vae.encode(pixels).latent_dist
            latents = posterior.sample(generator).float() * vae.config.scaling_factor
        classes = drop_labels(labels[batch], settings.label_dropout, generator).to(device)
        return denoise(latents, generator, encoder_hidden_states=embeddings[classes])

    def snapshot(step: int) -> list[list[float]]:
        sampler = PretrainedSampler(
            pipeline, settings.prompts, settings.resolution, settings, accelerator
        )
        seed = derived_seed(settings.seed, "snapshot")
        return scorer.score(step, lambda label, n: sampler.sample(label, n, seed))

    optimizer, schedule = trainer.optimizer(parameters, settings.lora_lr, settings.lora_steps)
    trainer.run(
        Phase(
            name="lora",
            steps=settings.lora_steps,
            model=denoise,
            parameters=parameters,
            optimizer=optimizer,
            lr_scheduler=schedule,
            loss=lora_batch_loss,
            weights=lambda: get_peft_model_state_dict(unet),
            load_weights=lambda weights: set_peft_model_state_dict(unet, weights),
            snapshot=None if scorer is None else snapshot,
        )
    )
    if accelerator.is_main_process:
        StableDiffusionPipeline.save_lora_weights(
            model_dir,
            unet_lora_layers=convert_state_dict_to_diffusers(get_peft_model_state_dict(unet)),
            weight_name=LORA_FILE,
            safe_serialization=True,
        )
        arm = {
            "mode": "pretrained",
            "base": settings.pretrained_path,
            "prompts": settings.prompts,
            "resolution": settings.resolution,
            "lora_file": LORA_FILE,
        }
        write_arm(model_dir, arm)
        log.info("wrote LoRA weights and %s to %s", ARM_FILE, model_dir)
    accelerator.wait_for_everyone()
