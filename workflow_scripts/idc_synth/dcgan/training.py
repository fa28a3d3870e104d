"""DCGAN training: resumable (see ``train_dcgan``) and deterministic on CPU for a given seed
and thread count: weight init comes from the seeded global torch RNG, while batch order, noise,
augmentation and the preview batch each have their own seeded stream. At every preview
snapshot an optional ``ProgressScorer`` scores samples of a copy of the generator against
held-out train patches (quality over training), without touching the run. With
``ema_decay`` set, previews, snapshots and the returned generator are the moving average of G's
weights (``_Run.sampled``), trained alongside and checkpointed with the run.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from idc_synth.augment import augment_batch
from idc_synth.checkpoint import (
    capture_rng,
    data_digest,
    restore_rng,
    resume,
    save_checkpoint,
)
from idc_synth.dcgan.model import (
    ARCHITECTURE,
    DCGANGenerator,
    DCGANSettings,
    _render,
    build_discriminator,
    build_generator,
    generate,
    standing_statistics,
)
from idc_synth.layout import CLASSES, PATCH_SIZE
from idc_synth.models import to_model_input
from idc_synth.progress import COLUMNS as PROGRESS_COLUMNS
from idc_synth.progress import ProgressScorer, Sampler, progress_table
from idc_synth.runtime import log_progress

log = logging.getLogger(__name__)

ADAM_BETA2 = 0.999
PREVIEW_COUNT = 16  # fixed-noise patches per snapshot (conditional: half per class)
PREVIEW_ROWS = 20  # snapshots over a training run, each a row of the progress grid
HISTORY_COLUMNS = ["step", "epoch", "loss_d", "loss_g", "d_real", "d_fake"]
SNAPSHOT_STANDING_BATCHES = 4  # a scored snapshot's batch-norm statistics (sampling: 64)

PreviewCallback = Callable[[int, np.ndarray], None]


def _ema_update(decay: float) -> Callable[[list, list, torch.Tensor], None]:
    """AveragedModel's update with the usual warm-up, min(decay, (1 + n) / (10 + n)) after n
    updates: early snapshots follow the weights instead of averaging in the initial noise."""

    def update(averaged: list, current: list, n_averaged: torch.Tensor) -> None:
        n = float(n_averaged)
        weight = 1.0 - min(decay, (1.0 + n) / (10.0 + n))
        for average, value in zip(averaged, current, strict=True):
            average.lerp_(value, weight)

    return update


@dataclass
class DCGANResult:
    generator: DCGANGenerator
    history: pd.DataFrame  # one row per step: HISTORY_COLUMNS
    previews: list[tuple[int, np.ndarray]]  # (step, uint8 (PREVIEW_COUNT, 50, 50, 3))
    progress: pd.DataFrame  # quality over training: one row per snapshot and class scored
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


def total_dcgan_steps(n_images: int, settings: DCGANSettings) -> int:
    """epochs x steps per epoch, at least min_steps, at most max_steps (where set)."""
    steps = max(
        settings.epochs * steps_per_epoch(n_images, settings.batch_size), settings.min_steps
    )
    return min(steps, settings.max_steps or steps)


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

    def __init__(
        self,
        settings: DCGANSettings,
        data: str,
        device: torch.device,
        scorer: ProgressScorer | None = None,
    ) -> None:
        self.settings = settings
        self.data = data  # data_digest of the training images and labels
        self.device = device
        self.scorer = scorer
        torch.manual_seed(settings.seed)  # weight init
        self.generator = build_generator(settings).to(device)
        self.discriminator = build_discriminator(settings).to(device)
        # Parameters only: batch-norm buffers follow G's (sampling replaces them anyway).
        self.ema = (
            AveragedModel(self.generator, multi_avg_fn=_ema_update(settings.ema_decay))
            if settings.ema_decay
            else None
        )
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
        self.progress: list[list[float]] = []

    def identity(self) -> dict:
        """What a checkpoint must match to be resumed: same network layout, settings, training
        data and snapshot scoring."""
        return {
            "architecture": ARCHITECTURE,
            "settings": asdict(self.settings),
            "data": self.data,
            "scoring": None if self.scorer is None else self.scorer.identity(),
        }

    def state(self, epoch: int) -> dict:
        return {
            **self.identity(),
            "step": self.step,
            "epoch": epoch,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            **({} if self.ema is None else {"generator_ema": self.ema.state_dict()}),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": capture_rng(),
            "noise_rng": self.streams.noise.get_state(),
            "augment_rng": self.streams.augment.get_state(),
            "preview_noise": self.preview_noise,
            "history": torch.tensor(self.history, dtype=torch.float64).reshape(-1, 6),
            "progress": torch.tensor(self.progress, dtype=torch.float64).reshape(
                -1, len(PROGRESS_COLUMNS)
            ),
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
        if self.ema is not None:
            self.ema.load_state_dict(state["generator_ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        restore_rng(state["rng"])
        self.streams.noise.set_state(state["noise_rng"])
        self.streams.augment.set_state(state["augment_rng"])
        self.preview_noise = state["preview_noise"]
        self.step = int(state["step"])
        self.history = state["history"].tolist()
        self.progress = state["progress"].tolist()
        self.previews = [
            (int(step), images.numpy())
            for step, images in zip(state["preview_steps"], state["preview_images"], strict=True)
        ]

    def sampled(self) -> DCGANGenerator:
        """The generator that previews, snapshots and sampling use: G's moving average where
        ``ema_decay`` is set, else G itself."""
        return self.generator if self.ema is None else self.ema.module

    def preview(self) -> np.ndarray:
        """The fixed preview batch at this step, and the snapshot's quality scores."""
        labels = None if self.preview_labels is None else self.preview_labels.to(self.device)
        images = _render(self.sampled(), self.preview_noise.to(self.device), labels)
        self.previews.append((self.step, images))
        if self.scorer is not None:
            self.progress += self.scorer.score(self.step, self.snapshot_sampler())
        return images

    def snapshot_sampler(self) -> Sampler:
        """Samples of a copy of the generator with standing batch-norm statistics, as the
        sampling rule draws them (fewer batches), from streams of their own."""
        seed = int(np.random.SeedSequence([self.settings.seed, 3]).generate_state(1)[0])
        snapshot = copy.deepcopy(self.sampled())
        batches, size = SNAPSHOT_STANDING_BATCHES, self.settings.batch_size
        standing_statistics(snapshot, seed, size, self.device, n_batches=batches)
        return lambda label, n: generate(snapshot, n, seed, self.device, label=label)


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
    if run.ema is not None:
        run.ema.update_parameters(run.generator)
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
    scorer: ProgressScorer | None = None,
) -> DCGANResult:
    """Train on uint8 (N, 50, 50, 3) train-split patches (a memory map is fine: each step reads
    only its batch), scaled to [-1, 1] and randomly flipped / rotated by 90 degrees.

    ``labels`` matter only when ``settings.conditional``. There are ``settings.epochs`` x
    ``steps_per_epoch`` steps, or ``settings.min_steps`` if that is more, at most
    ``settings.max_steps``. After step s, a
    snapshot of the fixed preview batch is taken when s is one of ``preview_steps`` (evenly
    spaced, step 0 and the last included), and then the whole run state is checkpointed
    atomically to ``state_path`` when s is a multiple of ``checkpoint_every`` or the last
    step; ``on_preview(step, images)`` is called last. With a ``scorer``, each snapshot is
    also scored against held-out train patches (``DCGANResult.progress``).

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
    total_steps = total_dcgan_steps(len(images), settings)
    shown = preview_steps(total_steps)
    window = max(1, total_steps // (PREVIEW_ROWS - 1))
    run = _Run(settings, data_digest(images, labels), device, scorer)
    if resume(run, state_path):
        log.info("resuming from step %d of %d (checkpoint %s)", run.step, total_steps, state_path)
    else:
        log.info("starting from step 0 of %d (no usable checkpoint at %s)", total_steps, state_path)
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
    progress = log_progress(None, total=total_steps, initial=run.step, unit="step", desc="dcgan")
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
    generator = run.sampled().eval()
    progress = progress_table(run.progress)
    return DCGANResult(generator, history, run.previews, progress, seconds_per_step)
