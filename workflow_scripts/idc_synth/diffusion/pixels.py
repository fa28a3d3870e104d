"""Patches <-> model tensors: uint8 (N, 50, 50, 3) in, float NCHW in [-1, 1] at model size.

Both directions resize with antialiasing: upsizing for the pretrained model (50 -> 512) and,
more importantly, downsizing its samples back to 50 px, where plain bilinear would alias.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from idc_synth.layout import PATCH_SIZE


def to_model(images: np.ndarray, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    pixels = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    pixels = pixels.permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return resize(pixels, size)


def to_patches(samples: torch.Tensor) -> np.ndarray:
    """Model output in [-1, 1] (any size) -> uint8 (N, 50, 50, 3)."""
    pixels = resize(samples.float(), PATCH_SIZE).clamp(-1, 1)
    pixels = ((pixels + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


def resize(pixels: torch.Tensor, size: int) -> torch.Tensor:
    if pixels.shape[-1] == size and pixels.shape[-2] == size:
        return pixels
    return F.interpolate(pixels, size=(size, size), mode="bicubic", antialias=True)


def dihedral(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random flip/transpose per item: tissue has no preferred orientation, so this multiplies
    the small train split eightfold at no cost."""
    flips = torch.randint(0, 2, (3, len(batch)), generator=generator).to(batch.device).bool()
    batch = torch.where(flips[0, :, None, None, None], batch.flip(-1), batch)
    batch = torch.where(flips[1, :, None, None, None], batch.flip(-2), batch)
    return torch.where(flips[2, :, None, None, None], batch.transpose(-1, -2), batch)
