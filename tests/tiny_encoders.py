"""Tiny randomly initialised encoders saved as their libraries save them (no network): a timm
folder and a Hugging Face transformers folder, for the quality.encoders feature spaces."""

from __future__ import annotations

from pathlib import Path

TIMM_MEAN, TIMM_STD = (0.1, 0.2, 0.3), (0.5, 0.5, 0.5)
TRANSFORMERS_MEAN, TRANSFORMERS_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def save_tiny_timm(folder: Path, side: int = 32, width: int = 16) -> Path:
    """A 1-block ViT as timm's save_for_hf writes it (config.json with its architecture,
    model_args and pretrained_cfg; model.safetensors)."""
    import timm
    from timm.models import save_for_hf

    args = {"img_size": side, "patch_size": 8, "embed_dim": width, "depth": 1, "num_heads": 2}
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, **args)
    model.pretrained_cfg = {
        **model.pretrained_cfg,
        "input_size": (3, side, side),
        "mean": TIMM_MEAN,
        "std": TIMM_STD,
        "interpolation": "bilinear",
    }
    save_for_hf(model, str(folder), model_args=args, safe_serialization=True)
    return folder


def save_tiny_transformers(folder: Path, side: int = 24, width: int = 12) -> Path:
    """A 1-layer transformers ViTModel and its image processor, via save_pretrained."""
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    config = ViTConfig(
        hidden_size=width,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * width,
        image_size=side,
        patch_size=8,
    )
    ViTModel(config).save_pretrained(folder)
    processor = ViTImageProcessor(
        size={"height": side, "width": side},
        image_mean=list(TRANSFORMERS_MEAN),
        image_std=list(TRANSFORMERS_STD),
    )
    processor.save_pretrained(folder)
    return folder
