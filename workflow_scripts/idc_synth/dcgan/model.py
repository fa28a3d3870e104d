"""DCGAN (Radford et al. 2016) for 50x50 RGB patches: per class, or class-conditional.

The recipe is the paper's: strided convolutions, no pooling and no fully connected hidden
layers, batch norm (not on D's input layer nor G's output layer), ReLU in G, LeakyReLU(0.2) in
D, Tanh output, N(0, 0.02) conv weights, N(1, 0.02) batch-norm scales, Adam(2e-4, 0.5, 0.999).

What differs is made against the checkerboard (Odena et al. 2016), which the earlier kernel-5,
stride-2 transposed convolutions printed at every stage of training (a period-2/4 spectral
spike 9-35 x the real patches'):
- the generator upsamples z -> 4c x 7 x 7 -> 2c x 14 x 14 -> c x 28 x 28 -> 3 x 56 x 56 by
  resize-convolutions (nearest x2, then 3x3): every output pixel of a constant input sums all
  nine taps, whereas a transposed convolution's even and odd pixels sum different taps (a
  random kernel-4 one prints a grid 200-600 x the real spike at init). Each is computed as the
  kernel-4, stride-2 transposed convolution it equals, at that cost;
- a fixed binomial low-pass ([1, 2, 1] per axis) before the generator's Tanh and before the
  discriminator's first stride-2 convolution, both with zero response at period 2: the
  discriminator's gradient then carries no period-2 pattern for the generator to learn, and the
  generator cannot print one. Without them a trained generator still drifted to 2-3 x the real
  spike; with them 1.5 x on the demo and on real patches (600 steps, demo widths). The price is
  some of the finest texture, which the spectral distance of image_quality.tsv reports;
- the generator's 56 px are centre-cropped to 50 (a crop, not a resize); the discriminator's
  kernel-4, stride-2 convolutions go 50 -> 25 -> 12 -> 6, then a 6x6 one to the logit.

The conditional variant concatenates a label embedding to z in G and feeds D the label as an
extra learned 50x50 input map.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from idc_synth.layout import CLASSES, PATCH_SIZE

LEAKY_SLOPE = 0.2
INIT_STD = 0.02
LABEL_EMBEDDING_DIM = 16  # G's label code; two classes need little, but a 1-d code trains slowly
STANDING_BATCHES = 64  # noise batches whose batch-norm statistics sampling averages
# Names the network layout; saved with every generator and checkpoint, so that weights of
# another layout are refused (a loader) or ignored (a resumed run), never loaded into this one.
ARCHITECTURE = "resize-conv 7-14-28-56, low-pass, crop 50; D low-pass, k4s2 50-25-12-6"


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
    max_steps: int | None = None  # at most this many steps (None: no cap): a bounded cost
    # The fixed [1, 2, 1] filters (module docstring). Real tissue's finest texture (nuclei
    # edges, fibres) is what they remove: on real patches they alone put the spectral distance
    # at 1.56 against a held-out floor of 0.015, a gap no training can close.
    low_pass: bool = True
    # Sample from an exponential moving average of G's weights (0: the last step's weights).
    # A GAN's last iterate oscillates: on real patches its classifier-space FD swung 7-84
    # between snapshots of one run; the average of the iterates does not (Yazici et al. 2019).
    ema_decay: float = 0.0

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
        if self.max_steps is not None and self.max_steps < max(1, self.min_steps):
            raise ValueError(
                f"DCGANSettings.max_steps ({self.max_steps}) must be >= 1 and >= min_steps "
                f"({self.min_steps})"
            )
        for name in ("beta1", "ema_decay"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(
                    f"DCGANSettings.{name} must be in [0, 1), got {getattr(self, name)}"
                )


class ResizeConv2d(nn.Module):
    """Nearest-neighbour x2 upsampling followed by a 3x3 convolution (padding 1), computed as
    the kernel-4, stride-2 transposed convolution it equals: per axis, the output pixel 2i sums
    taps (w0, w1 + w2) of inputs (i - 1, i) and the pixel 2i + 1 taps (w0 + w1, w2) of inputs
    (i, i + 1), so the 4-tap kernel is (w2, w1 + w2, w0 + w1, w0). Both phases sum all three
    taps: a constant input gives a constant output, hence no checkerboard."""

    # rows: the transposed convolution's 4 taps; columns: the 3x3 kernel's taps (per axis)
    TAPS = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 3, 3))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)  # init_weights replaces it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        taps = self.TAPS.to(x.device, x.dtype)
        weight = self.weight.to(x.dtype)
        # (out, in, 3, 3) cross-correlation taps -> (in, out, 4, 4) transposed-convolution ones
        kernel = torch.einsum("ak,bl,oikl->ioab", taps, taps, weight)
        return F.conv_transpose2d(x, kernel, stride=2, padding=1)


class LowPass(nn.Module):
    """The fixed binomial filter [1, 2, 1] x [1, 2, 1] / 16 per channel (edge pixels
    replicated): zero response at period 2, so nothing of that period passes either way."""

    def __init__(self) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", torch.outer(taps, taps) / 16, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        kernel = self.kernel.to(x.dtype).expand(channels, 1, 3, 3)
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=channels)


class CentreCrop(nn.Module):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top = (x.shape[-2] - self.size) // 2
        left = (x.shape[-1] - self.size) // 2
        return x[..., top : top + self.size, left : left + self.size]


def _low_pass(on: bool) -> nn.Module:
    return LowPass() if on else nn.Identity()


class DCGANGenerator(nn.Module):
    def __init__(
        self, latent_dim: int, channels: int, conditional: bool, low_pass: bool = True
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.conditional = conditional
        self.embed = nn.Embedding(len(CLASSES), LABEL_EMBEDDING_DIM) if conditional else None
        code_dim = latent_dim + (LABEL_EMBEDDING_DIM if conditional else 0)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(code_dim, 4 * channels, kernel_size=7, bias=False),  # 1 -> 7
            *_norm_relu(4 * channels),
            ResizeConv2d(4 * channels, 2 * channels),  # 7 -> 14
            *_norm_relu(2 * channels),
            ResizeConv2d(2 * channels, channels),  # 14 -> 28
            *_norm_relu(channels),
            ResizeConv2d(channels, 3),  # 28 -> 56
            _low_pass(low_pass),
            nn.Tanh(),
            CentreCrop(PATCH_SIZE),  # 56 -> 50
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    def __init__(self, channels: int, conditional: bool, low_pass: bool = True) -> None:
        super().__init__()
        self.embed = nn.Embedding(len(CLASSES), PATCH_SIZE * PATCH_SIZE) if conditional else None
        in_channels = 3 + (1 if conditional else 0)
        self.net = nn.Sequential(
            _low_pass(low_pass),
            _strided(in_channels, channels),  # 50 -> 25, no batch norm on the input layer
            nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
            _down(channels, 2 * channels),  # 25 -> 12
            _down(2 * channels, 4 * channels),  # 12 -> 6
            nn.Conv2d(4 * channels, 1, kernel_size=6, bias=False),  # 6 -> 1
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One real-vs-fake logit per image, shape (N,)."""
        if self.embed is not None:
            label_map = self.embed(labels).view(-1, 1, PATCH_SIZE, PATCH_SIZE)
            x = torch.cat([x, label_map], dim=1)
        return self.net(x).flatten()


def _norm_relu(channels: int) -> tuple[nn.Module, nn.Module]:
    return nn.BatchNorm2d(channels), nn.ReLU(inplace=True)


def _strided(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=False)


def _down(in_channels: int, out_channels: int) -> nn.Module:
    return nn.Sequential(
        _strided(in_channels, out_channels),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
    )


def init_weights(module: nn.Module) -> None:
    """The paper's init: conv weights N(0, 0.02); batch-norm scales N(1, 0.02), shifts 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | ResizeConv2d):
        nn.init.normal_(module.weight, 0.0, INIT_STD)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, INIT_STD)
        nn.init.zeros_(module.bias)


def build_generator(settings: DCGANSettings) -> DCGANGenerator:
    generator = DCGANGenerator(
        settings.latent_dim, settings.generator_channels, settings.conditional, settings.low_pass
    )
    generator.apply(init_weights)
    return generator


def build_discriminator(settings: DCGANSettings) -> DCGANDiscriminator:
    discriminator = DCGANDiscriminator(
        settings.discriminator_channels, settings.conditional, settings.low_pass
    )
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
        "architecture": ARCHITECTURE,
        "settings": asdict(settings),
        "label": label,
        "image_size": PATCH_SIZE,
        "torch_version": torch.__version__,
    }
    config_path.write_text(json.dumps(config, indent=2) + "\n")


def load_generator(
    weights_path: Path, config_path: Path, device: torch.device | str
) -> tuple[DCGANGenerator, dict]:
    """The generator in eval mode on ``device``, and its config dict. A generator of another
    network layout (``ARCHITECTURE``) is an error that says to retrain, not a silent load."""
    config = json.loads(Path(config_path).read_text())
    if config.get("architecture") != ARCHITECTURE:
        raise ValueError(
            f"{config_path} holds a DCGAN of another architecture "
            f"({config.get('architecture', 'the kernel-5 transposed-convolution one')!r}, this "
            f"code builds {ARCHITECTURE!r}): retrain it (snakemake reruns train_dcgan)"
        )
    generator = build_generator(DCGANSettings(**config["settings"]))
    generator.load_state_dict(load_file(str(weights_path)))
    return generator.to(device).eval(), config
