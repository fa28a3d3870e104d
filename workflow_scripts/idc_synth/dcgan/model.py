"""DCGAN (Radford et al. 2016) for 50x50 RGB patches: per class, or class-conditional.

The recipe is the paper's: strided (transposed) convolutions, no pooling and no fully connected
hidden layers, batch norm (not on D's input layer nor G's output layer), ReLU in G, LeakyReLU(0.2)
in D, Tanh output, N(0, 0.02) conv weights, N(1, 0.02) batch-norm scales, Adam(2e-4, 0.5, 0.999).
The generator reaches 50 px natively, z -> 4c x 7 x 7 -> 2c x 13 x 13 -> c x 25 x 25 -> 3 x 50 x 50,
and the discriminator mirrors it. The conditional variant concatenates a label embedding to z in G
and feeds D the label as an extra learned 50x50 input map.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from idc_synth.layout import CLASSES, PATCH_SIZE

LEAKY_SLOPE = 0.2
INIT_STD = 0.02
LABEL_EMBEDDING_DIM = 16  # G's label code; two classes need little, but a 1-d code trains slowly
STANDING_BATCHES = 64  # noise batches whose batch-norm statistics sampling averages


@dataclass(frozen=True)
class DCGANSettings:
    latent_dim: int
    generator_channels: int  # c: G's layers are 4c, 2c, c wide (the paper's 64 gives 256-128-64)
    discriminator_channels: int
    epochs: int
    min_steps: int  # a small class gets extra passes, so every generator trains long enough
    batch_size: int
    lr_generator: float
    lr_discriminator: float
    beta1: float
    checkpoint_every: int  # steps
    conditional: bool
    seed: int

    def __post_init__(self) -> None:
        for name in (
            "latent_dim",
            "generator_channels",
            "discriminator_channels",
            "epochs",
            "batch_size",
            "checkpoint_every",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"DCGANSettings.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.beta1 < 1.0:
            raise ValueError(f"DCGANSettings.beta1 must be in [0, 1), got {self.beta1}")


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int, channels: int, conditional: bool) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.conditional = conditional
        self.embed = nn.Embedding(len(CLASSES), LABEL_EMBEDDING_DIM) if conditional else None
        code_dim = latent_dim + (LABEL_EMBEDDING_DIM if conditional else 0)
        self.net = nn.Sequential(
            _up(code_dim, 4 * channels, kernel=7, stride=1, padding=0),  # 1 -> 7
            _up(4 * channels, 2 * channels, kernel=5, stride=2, padding=2),  # 7 -> 13
            _up(2 * channels, channels, kernel=5, stride=2, padding=2),  # 13 -> 25
            nn.ConvTranspose2d(channels, 3, kernel_size=4, stride=2, padding=1, bias=False),
            nn.Tanh(),  # 25 -> 50
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    def __init__(self, channels: int, conditional: bool) -> None:
        super().__init__()
        self.embed = nn.Embedding(len(CLASSES), PATCH_SIZE * PATCH_SIZE) if conditional else None
        in_channels = 3 + (1 if conditional else 0)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, channels, kernel_size=4, stride=2, padding=1, bias=False),
            nn.LeakyReLU(LEAKY_SLOPE, inplace=True),  # 50 -> 25, no batch norm on the input layer
            _down(channels, 2 * channels),  # 25 -> 13
            _down(2 * channels, 4 * channels),  # 13 -> 7
            nn.Conv2d(4 * channels, 1, kernel_size=7, stride=1, padding=0, bias=False),  # 7 -> 1
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One real-vs-fake logit per image, shape (N,)."""
        if self.embed is not None:
            label_map = self.embed(labels).view(-1, 1, PATCH_SIZE, PATCH_SIZE)
            x = torch.cat([x, label_map], dim=1)
        return self.net(x).flatten()


def _up(in_channels: int, out_channels: int, kernel: int, stride: int, padding: int) -> nn.Module:
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, kernel, stride, padding, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def _down(in_channels: int, out_channels: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=5, stride=2, padding=2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
    )


def init_weights(module: nn.Module) -> None:
    """The paper's init: conv weights N(0, 0.02); batch-norm scales N(1, 0.02), shifts 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, INIT_STD)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, INIT_STD)
        nn.init.zeros_(module.bias)


def build_generator(settings: DCGANSettings) -> DCGANGenerator:
    generator = DCGANGenerator(
        settings.latent_dim, settings.generator_channels, settings.conditional
    )
    generator.apply(init_weights)
    return generator


def build_discriminator(settings: DCGANSettings) -> DCGANDiscriminator:
    discriminator = DCGANDiscriminator(settings.discriminator_channels, settings.conditional)
    discriminator.apply(init_weights)
    return discriminator


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Generator output, float (N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3) on the CPU."""
    pixels = images.clamp(-1.0, 1.0).add(1.0).mul(127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def _render(
    generator: DCGANGenerator, noise: torch.Tensor, labels: torch.Tensor | None
) -> np.ndarray:
    """Images in eval mode (batch norm on running statistics, which sampling must not update),
    restoring the generator's train/eval mode afterwards."""
    was_training = generator.training
    generator.eval()
    try:
        return to_uint8(generator(noise, labels))
    finally:
        generator.train(was_training)


@torch.no_grad()
def standing_statistics(
    generator: DCGANGenerator,
    seed: int,
    batch_size: int,
    device: torch.device | str,
    class_weights: Sequence[float] | None = None,
    n_batches: int = STANDING_BATCHES,
) -> None:
    """Replace every batch-norm layer's running statistics by the average batch statistics of
    ``n_batches`` noise batches of the final generator ("standing statistics", Brock et al.
    2019), then leave it in eval mode.

    The discriminator only ever judged the generator in train mode (batch statistics), while the
    running averages trail the weights by ~10 steps of momentum: sampling on them shifts the
    colours (demo class 0: mean RGB 172,138,168 on running statistics, 184,155,178 on batch
    statistics, 202,160,196 real). Standing statistics are what the discriminator saw, yet each
    sample still depends on its own noise alone, not on its batch. Batches are of the training
    batch size; a conditional generator's labels are drawn with ``class_weights`` (the training
    class mix), uniform when None."""
    device = torch.device(device)
    layers = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [layer.momentum for layer in layers]
    rng = torch.Generator().manual_seed(seed)
    weights = torch.ones(len(CLASSES)) if class_weights is None else torch.tensor(class_weights)
    generator.to(device)
    try:
        for layer in layers:
            layer.reset_running_stats()
            layer.momentum = None  # a cumulative average over the batches below
        generator.train()
        for _ in range(n_batches):
            noise = torch.randn(batch_size, generator.latent_dim, generator=rng).to(device)
            labels = None
            if generator.conditional:
                draws = torch.multinomial(weights.double(), batch_size, True, generator=rng)
                labels = torch.as_tensor(CLASSES)[draws].to(device)
            generator(noise, labels)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        generator.eval()


def generate(
    generator: DCGANGenerator,
    n: int,
    seed: int,
    device: torch.device | str,
    label: int | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """n patches, uint8 (n, 50, 50, 3), from noise seeded by ``seed`` alone (a local torch
    Generator on the CPU, so the global RNG is untouched and CPU and CUDA draw the same noise).
    A conditional generator needs ``label``; a per-class one was trained on one class and
    ignores it."""
    if generator.conditional and label not in CLASSES:
        raise ValueError(f"a conditional generator needs label in {CLASSES}, got {label!r}")
    device = torch.device(device)
    generator.to(device)
    noise_rng = torch.Generator().manual_seed(seed)
    batches = [np.empty((0, PATCH_SIZE, PATCH_SIZE, 3), np.uint8)]
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        noise = torch.randn(count, generator.latent_dim, generator=noise_rng).to(device)
        labels = torch.full((count,), label, device=device) if generator.conditional else None
        batches.append(_render(generator, noise, labels))
    return np.concatenate(batches)


def save_generator(
    generator: DCGANGenerator,
    settings: DCGANSettings,
    weights_path: Path,
    config_path: Path,
    label: int | None = None,
) -> None:
    """Weights as safetensors (loading never runs pickled code) plus a JSON config holding the
    settings that rebuild the network and the class a per-class generator was trained on."""
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        name: tensor.detach().cpu().contiguous() for name, tensor in generator.state_dict().items()
    }
    save_file(state, str(weights_path))
    config = {
        "settings": asdict(settings),
        "label": label,
        "image_size": PATCH_SIZE,
        "torch_version": torch.__version__,
    }
    config_path.write_text(json.dumps(config, indent=2) + "\n")


def load_generator(
    weights_path: Path, config_path: Path, device: torch.device | str
) -> tuple[DCGANGenerator, dict]:
    """The generator in eval mode on ``device``, and its config dict."""
    config = json.loads(Path(config_path).read_text())
    generator = build_generator(DCGANSettings(**config["settings"]))
    generator.load_state_dict(load_file(str(weights_path)))
    return generator.to(device).eval(), config
