"""Histology augmentation: the 8 dihedral views (classifier and DCGAN), and the classic
augmentations of the classifier's comparison arms: HED stain jitter (also the robustness
step's test-time perturbation) and mixup."""

import numpy as np
import torch


def augment_batch(patches: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip, vertical flip and 90-degree rotation, drawn per sample.

    Patches have no canonical orientation, so every dihedral transform is an equally valid view;
    the 16 flip/rotation combinations cover the 8 transforms twice each, i.e. uniformly.
    Works on square (N, H, W, C) patches, before ``to_model_input`` (moving uint8 is cheaper);
    draws come from ``generator`` (CPU) so a seed fixes them on any device.
    """
    n = patches.shape[0]
    flips = torch.randint(0, 2, (2, n), generator=generator).bool().to(patches.device)
    quarter_turns = torch.randint(0, 4, (n,), generator=generator).to(patches.device)
    # Transform each group of samples sharing a draw once (a batch has at most 16 groups):
    # ~3x cheaper than transforming the whole batch every way and selecting per sample.
    codes = flips[0].long() * 8 + flips[1].long() * 4 + quarter_turns
    augmented = torch.empty_like(patches)
    for code in torch.unique(codes).tolist():
        rows = (codes == code).nonzero(as_tuple=True)[0]
        group = patches[rows]
        if code & 8:
            group = group.flip(2)
        if code & 4:
            group = group.flip(1)
        if code & 3:
            group = torch.rot90(group, code & 3, dims=(1, 2))
        augmented[rows] = group
    return augmented


def stain_jitter(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """HED stain jitter (Tellez et al. 2019): each uint8 (N, H, W, 3) patch is deconvolved into
    haematoxylin, eosin and DAB (scikit-image's ``rgb2hed``), each channel scaled by
    U(1 - s, 1 + s) and shifted by U(-s, s) x its range within the patch, and recomposed."""
    from skimage.color import hed2rgb, rgb2hed

    alphas = rng.uniform(1 - strength, 1 + strength, size=(len(images), 1, 1, 3))
    betas = rng.uniform(-strength, strength, size=(len(images), 1, 1, 3))
    hed = rgb2hed(images)
    spread = hed.max(axis=(1, 2), keepdims=True) - hed.min(axis=(1, 2), keepdims=True)
    rgb = hed2rgb(hed * alphas + betas * spread) * 255
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def mixup(
    inputs: torch.Tensor, targets: torch.Tensor, alpha: float, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup (Zhang et al. 2018): each sample blended with a random partner of the batch by one
    weight lambda ~ Beta(alpha, alpha), its label likewise (a soft target)."""
    weight = float(rng.beta(alpha, alpha))
    partners = torch.from_numpy(rng.permutation(len(targets))).to(inputs.device)
    mixed = weight * inputs + (1 - weight) * inputs[partners]
    return mixed, weight * targets + (1 - weight) * targets[partners]
