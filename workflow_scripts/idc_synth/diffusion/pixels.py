"""Patches <-> model tensors: uint8 (N, 50, 50, 3) in, float NCHW in [-1, 1] at model size.

Two ways to reach the model's size:
- scratch: reflect-pad 50 px to the next size the VAE and UNet divide and crop the samples back,
  so no pixel is resampled (a 48 <-> 50 resize round trip cuts ~10% of the high-frequency
  energy, a signature FID and precision/recall would charge to the generator);
- pretrained (50 -> 512 and back): antialiased bicubic resizes, unavoidable for a 512 px model;
  downsizing without antialiasing would alias.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from idc_synth.layout import PATCH_SIZE


def _scaled(images: np.ndarray, device: torch.device | str) -> torch.Tensor:
    pixels = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    return pixels.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def to_model(images: np.ndarray, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Resized (antialiased bicubic) to ``size``: the pretrained model's way in."""
    return resize(_scaled(images, device), size)


def pad_margins(size: int) -> tuple[int, int]:
    """(before, after) padding from PATCH_SIZE to ``size``, centred."""
    extra = size - PATCH_SIZE
    if extra < 0:
        raise ValueError(f"cannot pad {PATCH_SIZE} px patches to {size} px")
    return extra // 2, extra - extra // 2


def to_model_padded(
    images: np.ndarray, size: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Reflect-padded to ``size`` (centred): the scratch model's way in, no resampling."""
    before, after = pad_margins(size)
    return F.pad(_scaled(images, device), (before, after, before, after), mode="reflect")


def crop_patch(samples: torch.Tensor) -> torch.Tensor:
    """The central PATCH_SIZE px of padded samples (to_model_padded's inverse)."""
    before, _ = pad_margins(samples.shape[-1])
    return samples[..., before : before + PATCH_SIZE, before : before + PATCH_SIZE]


def to_patches(samples: torch.Tensor) -> np.ndarray:
    """Model output in [-1, 1] -> uint8 (N, 50, 50, 3); other sizes are resized (antialiased)."""
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
