"""A tiny random Stable Diffusion pipeline in diffusers format, built offline for tests.

Real Stable Diffusion weights cannot be downloaded here, and the pretrained arm must be tested
without network anyway; every part of the pipeline is built from a config with random weights
and saved with ``save_pretrained``, exactly the layout a user's local copy has.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

TINY_RESOLUTION = 32  # divisible by the pipeline's vae_scale_factor (2) times the UNet's (2)


def byte_level_alphabet() -> list[str]:
    """GPT-2/CLIP's printable stand-in for each byte, which byte-level BPE vocabularies use."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    shifted = [256 + index for index in range(256 - len(printable))]
    others = [byte for byte in range(256) if byte not in printable]
    mapping = dict(zip(printable, printable, strict=True)) | dict(zip(others, shifted, strict=True))
    return [chr(mapping[byte]) for byte in range(256)]


def write_tokenizer(directory: Path) -> None:
    """A character-level CLIP vocabulary (no merges): every prompt tokenizes, nothing is fetched.

    transformers 5 ignores ``vocab_file=``/``merges_file=`` keyword paths, so the files are
    written and loaded with ``from_pretrained``; ``model_max_length`` must be set or the
    pipeline overflows computing the prompt length.
    """
    directory.mkdir(parents=True, exist_ok=True)
    alphabet = byte_level_alphabet()
    tokens = alphabet + [char + "</w>" for char in alphabet] + ["<|startoftext|>", "<|endoftext|>"]
    (directory / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(tokens)}))
    (directory / "merges.txt").write_text("#version: 0.2\n")
    (directory / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 77}))


def save_tiny_pipeline(directory: Path, seed: int = 0) -> Path:
    """Build a ~100k-parameter StableDiffusionPipeline and save it to `directory`."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    write_tokenizer(directory / "tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(directory / "tokenizer")
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    unet = UNet2DConditionModel(
        sample_size=TINY_RESOLUTION // 2,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=TINY_RESOLUTION,
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(directory)
    return directory
