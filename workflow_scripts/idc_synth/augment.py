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
