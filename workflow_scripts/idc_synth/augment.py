"""Histology augmentation shared by the classifier and the DCGAN: the 8 dihedral views."""

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
    patches = torch.where(flips[0, :, None, None, None], patches.flip(2), patches)
    patches = torch.where(flips[1, :, None, None, None], patches.flip(1), patches)
    for k in (1, 2, 3):
        turned = torch.rot90(patches, k, dims=(1, 2))
        patches = torch.where((quarter_turns == k)[:, None, None, None], turned, patches)
    return patches
