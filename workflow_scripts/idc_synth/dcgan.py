"""DCGAN (Radford et al. 2016) for 50x50 RGB patches: per class, or class-conditional.

The recipe is the paper's: strided (transposed) convolutions, no pooling and no fully connected
hidden layers, batch norm (not on D's input layer nor G's output layer), ReLU in G, LeakyReLU(0.2)
in D, Tanh output, N(0, 0.02) conv weights, N(1, 0.02) batch-norm scales, Adam(2e-4, 0.5, 0.999).
The generator reaches 50 px natively, z -> 4c x 7 x 7 -> 2c x 13 x 13 -> c x 25 x 25 -> 3 x 50 x 50,
and the discriminator mirrors it. The conditional variant concatenates a label embedding to z in G
and feeds D the label as an extra learned 50x50 input map.

Training is resumable (see ``train_dcgan``) and deterministic on CPU for a given seed and
thread count: weight init comes from the seeded global torch RNG, while batch order, noise,
augmentation and the preview batch each have their own seeded stream.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from idc_synth.augment import augment_batch
from idc_synth.checkpoint import (
    capture_rng,
    data_digest,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from idc_synth.layout import CLASSES, PATCH_SIZE
from idc_synth.models import to_model_input

log = logging.getLogger(__name__)

ADAM_BETA2 = 0.999
LEAKY_SLOPE = 0.2
INIT_STD = 0.02
LABEL_EMBEDDING_DIM = 16  # G's label code; two classes need little, but a 1-d code trains slowly
PREVIEW_COUNT = 16  # fixed-noise patches per snapshot (conditional: half per class)
PREVIEW_ROWS = 20  # snapshots over a training run, each a row of the progress grid
STANDING_BATCHES = 64  # noise batches whose batch-norm statistics sampling averages
PROGRESS_MININTERVAL_S = 30.0  # tqdm redraws at most this often: rule logs stay short
HISTORY_COLUMNS = ["step", "epoch", "loss_d", "loss_g", "d_real", "d_fake"]

PreviewCallback = Callable[[int, np.ndarray], None]


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


@dataclass
class DCGANResult:
    generator: DCGANGenerator
    history: pd.DataFrame  # one row per step: HISTORY_COLUMNS
    previews: list[tuple[int, np.ndarray]]  # (step, uint8 (PREVIEW_COUNT, 50, 50, 3))
    seconds_per_step: float  # of the steps this call ran (NaN when it resumed a finished run)


@dataclass
class _RandomStreams:
    """The seeded CPU streams a run draws from after init, each saved in the checkpoint."""

    noise: torch.Generator
    augment: torch.Generator

    @classmethod
    def seeded(cls, seed: int) -> _RandomStreams:
        noise_seed, augment_seed = np.random.SeedSequence([seed, 1]).generate_state(2)
        return cls(
            noise=torch.Generator().manual_seed(int(noise_seed)),
            augment=torch.Generator().manual_seed(int(augment_seed)),
        )


def steps_per_epoch(n_images: int, batch_size: int) -> int:
    """Full batches only (a ragged last batch skews D's batch statistics); a set smaller than
    one batch trains on all of it each step."""
    return max(1, n_images // batch_size)


def _epoch_order(n_images: int, seed: int, epoch: int) -> np.ndarray:
    """Each epoch's shuffle derives from (seed, epoch) alone, so a resumed run needs no saved
    permutation to continue the same order mid-epoch."""
    return np.random.default_rng([seed, 0, epoch]).permutation(n_images)


def _batches(
    n_images: int, settings: DCGANSettings, first_step: int, total_steps: int
) -> Iterator[tuple[int, int, np.ndarray]]:
    """(step, epoch, sorted rows) for steps first_step+1 .. total_steps; both 1-based."""
    per_epoch = steps_per_epoch(n_images, settings.batch_size)
    size = min(settings.batch_size, n_images)
    order, order_epoch = None, None
    for step in range(first_step + 1, total_steps + 1):
        epoch, batch = divmod(step - 1, per_epoch)
        if epoch != order_epoch:
            order, order_epoch = _epoch_order(n_images, settings.seed, epoch), epoch
        # Sorted rows read a memory map sequentially; order within a batch does not matter.
        yield step, epoch + 1, np.sort(order[batch * size : (batch + 1) * size])


def _preview_inputs(settings: DCGANSettings) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The fixed preview batch: its own seed, so it is the same whatever else a run draws."""
    preview_seed = int(np.random.SeedSequence([settings.seed, 2]).generate_state(1)[0])
    rng = torch.Generator().manual_seed(preview_seed)
    noise = torch.randn(PREVIEW_COUNT, settings.latent_dim, generator=rng)
    if not settings.conditional:
        return noise, None
    return noise, torch.arange(PREVIEW_COUNT) * len(CLASSES) // PREVIEW_COUNT


class _Run:
    """Everything a training run carries from step to step, and its checkpoint round trip."""

    def __init__(self, settings: DCGANSettings, data: str, device: torch.device) -> None:
        self.settings = settings
        self.data = data  # data_digest of the training images and labels
        self.device = device
        torch.manual_seed(settings.seed)  # weight init
        self.generator = build_generator(settings).to(device)
        self.discriminator = build_discriminator(settings).to(device)
        betas = (settings.beta1, ADAM_BETA2)
        self.opt_g = torch.optim.Adam(
            self.generator.parameters(), lr=settings.lr_generator, betas=betas
        )
        self.opt_d = torch.optim.Adam(
            self.discriminator.parameters(), lr=settings.lr_discriminator, betas=betas
        )
        self.streams = _RandomStreams.seeded(settings.seed)
        self.preview_noise, self.preview_labels = _preview_inputs(settings)
        self.step = 0
        self.history: list[list[float]] = []
        self.previews: list[tuple[int, np.ndarray]] = []

    def identity(self) -> dict:
        """What a checkpoint must match to be resumed: same settings, same training data."""
        return {"settings": asdict(self.settings), "data": self.data}

    def state(self, epoch: int) -> dict:
        return {
            **self.identity(),
            "step": self.step,
            "epoch": epoch,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": capture_rng(),
            "noise_rng": self.streams.noise.get_state(),
            "augment_rng": self.streams.augment.get_state(),
            "preview_noise": self.preview_noise,
            "history": torch.tensor(self.history, dtype=torch.float64).reshape(-1, 6),
            "preview_steps": torch.tensor([step for step, _ in self.previews], dtype=torch.int64),
            "preview_images": torch.from_numpy(
                np.stack([images for _, images in self.previews])
                if self.previews
                else np.empty((0, PREVIEW_COUNT, PATCH_SIZE, PATCH_SIZE, 3), np.uint8)
            ),
        }

    def restore(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        restore_rng(state["rng"])
        self.streams.noise.set_state(state["noise_rng"])
        self.streams.augment.set_state(state["augment_rng"])
        self.preview_noise = state["preview_noise"]
        self.step = int(state["step"])
        self.history = state["history"].tolist()
        self.previews = [
            (int(step), images.numpy())
            for step, images in zip(state["preview_steps"], state["preview_images"], strict=True)
        ]

    def preview(self) -> np.ndarray:
        labels = None if self.preview_labels is None else self.preview_labels.to(self.device)
        images = _render(self.generator, self.preview_noise.to(self.device), labels)
        self.previews.append((self.step, images))
        return images


def _resume(run: _Run, state_path: Path, total_steps: int) -> None:
    state = load_checkpoint(state_path)
    if state is not None and {key: state.get(key) for key in run.identity()} != run.identity():
        log.warning("checkpoint %s was made with other settings or data; ignoring it", state_path)
        state = None
    if state is None:
        log.info("starting from step 0 of %d (no usable checkpoint at %s)", total_steps, state_path)
        return
    run.restore(state)
    log.info("resuming from step %d of %d (checkpoint %s)", run.step, total_steps, state_path)


def _train_step(
    run: _Run, real: torch.Tensor, labels: torch.Tensor | None, loss_fn: nn.Module
) -> torch.Tensor:
    """One D then one G update (the non-saturating G loss); returns
    (loss_d, loss_g, mean D(x), mean D(G(z))) as one tensor, so logging costs one sync."""
    count = real.shape[0]
    noise = torch.randn(count, run.settings.latent_dim, generator=run.streams.noise)
    fake = run.generator(noise.to(run.device), labels)
    ones = torch.ones(count, device=run.device)
    zeros = torch.zeros(count, device=run.device)

    logits_real = run.discriminator(real, labels)
    logits_fake = run.discriminator(fake.detach(), labels)
    loss_d = loss_fn(logits_real, ones) + loss_fn(logits_fake, zeros)
    run.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    run.opt_d.step()

    loss_g = loss_fn(run.discriminator(fake, labels), ones)
    run.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    run.opt_g.step()
    d_real, d_fake = torch.sigmoid(logits_real).mean(), torch.sigmoid(logits_fake).mean()
    return torch.stack([loss_d, loss_g, d_real, d_fake]).detach()


def preview_steps(total_steps: int) -> set[int]:
    """The steps whose snapshot the progress grid shows: PREVIEW_ROWS evenly spaced ones, the
    first and the last included. Fixed by the step count, so that no preview knob reaches the
    training job (a change to one would retrain)."""
    return set(np.linspace(0, total_steps, PREVIEW_ROWS).round().astype(int).tolist())


def _log_window(run: _Run, total_steps: int, window: int) -> None:
    """Mean losses since the last preview: single-step GAN losses are too noisy to read."""
    recent = np.asarray(run.history[-window:])
    loss_d, loss_g, d_real, d_fake = recent[:, 2:].mean(axis=0)
    log.info(
        "step %d/%d (epoch %d): loss_d %.3f, loss_g %.3f, D(x) %.3f, D(G(z)) %.3f",
        run.step,
        total_steps,
        int(recent[-1, 1]),
        loss_d,
        loss_g,
        d_real,
        d_fake,
    )


def train_dcgan(
    images: np.ndarray,
    labels: np.ndarray,
    settings: DCGANSettings,
    state_path: Path,
    device: torch.device | str,
    on_preview: PreviewCallback | None = None,
) -> DCGANResult:
    """Train on uint8 (N, 50, 50, 3) train-split patches (a memory map is fine: each step reads
    only its batch), scaled to [-1, 1] and randomly flipped / rotated by 90 degrees.

    ``labels`` matter only when ``settings.conditional``. There are ``settings.epochs`` x
    ``steps_per_epoch`` steps, or ``settings.min_steps`` if that is more. After step s, a
    snapshot of the fixed preview batch is taken when s is one of ``preview_steps`` (evenly
    spaced, step 0 and the last included), and then the whole run state is checkpointed
    atomically to ``state_path`` when s is a multiple of ``checkpoint_every`` or the last
    step; ``on_preview(step, images)`` is called last.

    Resuming: a checkpoint at ``state_path`` with the same settings and training data is
    continued from its step (a stale one from other settings or data is ignored, with a
    warning). The resumed run is the same run, not an approximation of it: each epoch's batch
    order derives from (seed, epoch), so the remaining batches of the interrupted epoch are
    exactly the ones it would have used, and the noise and augmentation streams, both
    optimizers, batch-norm statistics, the history and the previews are restored. On the CPU,
    with the same thread count, a killed-and-resumed run ends with the same weights as an
    uninterrupted one; on CUDA it is equally exact up to the nondeterminism of cuDNN kernels.
    """
    device = torch.device(device)
    labels = np.asarray(labels, dtype=np.int64)
    if len(images) == 0 or len(images) != len(labels):
        raise ValueError(
            f"need a non-empty image set with one label each, got {len(images)} "
            f"images and {len(labels)} labels"
        )
    if settings.conditional and not np.isin(labels, CLASSES).all():
        raise ValueError(f"labels must be in {CLASSES}, got {np.unique(labels).tolist()}")
    per_epoch = steps_per_epoch(len(images), settings.batch_size)
    total_steps = max(settings.epochs * per_epoch, settings.min_steps)
    shown = preview_steps(total_steps)
    window = max(1, total_steps // (PREVIEW_ROWS - 1))
    run = _Run(settings, data_digest(images, labels), device)
    _resume(run, state_path, total_steps)
    if run.step == 0:
        run.preview()
    log.info(
        "DCGAN on %s: %d images, %d steps per epoch, %d steps in all, settings %s",
        device,
        len(images),
        per_epoch,
        total_steps,
        asdict(settings),
    )
    loss_fn = nn.BCEWithLogitsLoss()
    run.generator.train()
    run.discriminator.train()
    first_step, started = run.step, time.perf_counter()
    progress = tqdm(
        total=total_steps,
        initial=run.step,
        unit="step",
        desc="dcgan",
        file=sys.stderr,
        mininterval=PROGRESS_MININTERVAL_S,
    )
    for step, epoch, rows in _batches(len(images), settings, run.step, total_steps):
        batch = torch.from_numpy(np.ascontiguousarray(images[rows])).to(device)
        real = to_model_input(augment_batch(batch, run.streams.augment))
        batch_labels = torch.from_numpy(labels[rows]).to(device) if settings.conditional else None
        values = _train_step(run, real, batch_labels, loss_fn)
        run.step = step
        run.history.append([step, epoch, *values.tolist()])
        progress.update(1)
        last = step == total_steps
        snapshot = run.preview() if step in shown else None
        if snapshot is not None:
            _log_window(run, total_steps, window)
        if last or step % settings.checkpoint_every == 0:
            save_checkpoint(state_path, run.state(epoch))
        if snapshot is not None and on_preview is not None:
            on_preview(step, snapshot)
    progress.close()
    steps_run = run.step - first_step
    seconds = time.perf_counter() - started
    seconds_per_step = seconds / steps_run if steps_run else math.nan
    log.info(
        "ran steps %d-%d in %.1f s (%.3f s/step)",
        first_step + 1,
        run.step,
        seconds,
        seconds_per_step,
    )
    history = pd.DataFrame(run.history, columns=HISTORY_COLUMNS)
    history = history.astype({"step": "int64", "epoch": "int64"})
    run.generator.eval()
    return DCGANResult(run.generator, history, run.previews, seconds_per_step)


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
