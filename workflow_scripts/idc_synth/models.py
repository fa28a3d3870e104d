"""Patch classifiers for 50x50 RGB patches: one IDC logit per image, plus the embedding under it.

Every architecture is an encoder (image -> (N, D) embedding) followed by a linear head, so
``features`` means the same thing for all of them; the FID stage measures synthetic images in it.
"""

from __future__ import annotations

import torch
from torch import nn

ARCHITECTURES = ("small_cnn", "resnet18")


def to_model_input(batch_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, 3) patches -> float (N, 3, H, W) in [-1, 1], on the batch's device.

    The one place pixels are scaled, so training, prediction and FID features cannot disagree.
    The result keeps the channels-last memory layout the patches already have: CPU convolutions
    run about twice as fast on it as on a copy into NCHW layout.
    """
    if batch_uint8.dtype != torch.uint8 or batch_uint8.ndim != 4 or batch_uint8.shape[-1] != 3:
        raise ValueError(
            f"expected uint8 patches shaped (N, H, W, 3), got {batch_uint8.dtype} "
            f"{tuple(batch_uint8.shape)}"
        )
    nchw_view = batch_uint8.permute(0, 3, 1, 2)
    return nchw_view.float().div(127.5).sub(1.0).contiguous(memory_format=torch.channels_last)


class PatchClassifier(nn.Module):
    """An encoder producing a (N, D) embedding and a dropout + linear head giving one logit."""

    def __init__(self, encoder: nn.Module, feature_dim: int, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x))).squeeze(-1)


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


def _small_cnn() -> PatchClassifier:
    """Four conv blocks (50 -> 25 -> 12 -> 6 -> 3 px), ~0.1M parameters: the fast CPU default."""
    widths = (3, 16, 32, 64, 128)
    blocks = [_conv_block(cin, cout) for cin, cout in zip(widths, widths[1:], strict=False)]
    encoder = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return PatchClassifier(encoder, feature_dim=widths[-1], dropout=0.3)


def _resnet18() -> PatchClassifier:
    """ResNet-18 from scratch; its ImageNet stem (7x7 stride 2 + max-pool) would shrink a 50 px
    patch to 13 px before the first residual block, so it gets a 3x3 stride-1 stem instead."""
    from torchvision.models import resnet18  # ~2 s of imports (torch._dynamo): only if used

    net = resnet18(weights=None)
    net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    encoder = nn.Sequential(
        net.conv1,
        net.bn1,
        net.relu,
        net.layer1,
        net.layer2,
        net.layer3,
        net.layer4,
        net.avgpool,
        nn.Flatten(),
    )
    return PatchClassifier(encoder, feature_dim=net.fc.in_features, dropout=0.0)


_BUILDERS = {"small_cnn": _small_cnn, "resnet18": _resnet18}


def build_classifier(arch: str) -> PatchClassifier:
    """A freshly initialised classifier (initialisation draws from torch's global RNG)."""
    if arch not in _BUILDERS:
        raise ValueError(f"unknown classifier arch {arch!r}; valid: {', '.join(ARCHITECTURES)}")
    return _BUILDERS[arch]()
