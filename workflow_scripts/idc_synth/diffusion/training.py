"""The training skeleton both modes share: accelerate, the denoising loss, resumable phases.

A run is a sequence of named phases (scratch: ``vae`` then ``unet``; pretrained: ``lora``).
Each phase checkpoints its trainable weights, optimizer, LR scheduler, EMA, step, RNG and the
loss history atomically every ``checkpoint_every`` steps, together with the final weights of
the phases already finished, so a killed job resumes mid-phase and never redoes a phase.

A checkpoint is resumed only by a run with the same training settings and data (its
``identity``); sampling-only settings may change, so a new guidance scale reuses the trained
model instead of training it again. A phase may score a snapshot of its model at each
checkpoint (quality over training, ``Trainer.progress``), saved with the checkpoint.

Batch, noise and timestep draws come from a generator seeded by (seed, phase, step, process):
a resumed run draws exactly what the uninterrupted run would have, and each GPU process of a
multi-GPU run draws different batches.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from diffusers import DDPMScheduler
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel
from tqdm import tqdm

from idc_synth.checkpoint import (
    capture_rng,
    data_digest,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from idc_synth.diffusion.settings import DiffusionSettings
from idc_synth.layout import CLASSES
from idc_synth.runtime import resolve_device

log = logging.getLogger(__name__)
T = TypeVar("T")

ARM_FILE = "arm.json"  # in every model folder: which mode made it, and what sampling needs
NULL_CLASS = len(CLASSES)  # the "no label" condition, trained by label dropout, used by CFG
MAX_GRAD_NORM = 1.0
# Settings that shape only sampling, previews or checkpoint timing, not the trained weights.
NOT_TRAINING = (
    "sampling_steps",
    "guidance_scale",
    "sample_batch_size",
    "preview_per_class",
    "checkpoint_every",
)


def make_accelerator(settings: DiffusionSettings, device: str = "auto") -> Accelerator:
    """An Accelerator on the config's device; under `accelerate launch` with several
    processes, each process gets its own GPU (or a gloo process group on CPUs)."""
    return Accelerator(
        cpu=resolve_device(device).type == "cpu",
        mixed_precision=settings.mixed_precision,
        gradient_accumulation_steps=settings.grad_accumulation,
    )


def training_identity(
    settings: DiffusionSettings, images: np.ndarray, labels: np.ndarray
) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the training settings and the data."""
    knobs = {key: value for key, value in asdict(settings).items() if key not in NOT_TRAINING}
    return {"settings": knobs, "data": data_digest(images, labels)}


def write_arm(model_dir: Path, arm: dict[str, Any]) -> None:
    (model_dir / ARM_FILE).write_text(json.dumps(arm, indent=2))


def derived_seed(seed: int, name: str, *numbers: int) -> int:
    state = np.random.SeedSequence([seed, zlib.crc32(name.encode()), *numbers])
    return int(state.generate_state(1)[0])


def step_generator(seed: int, phase: str, step: int, process: int) -> torch.Generator:
    return torch.Generator().manual_seed(derived_seed(seed, phase, step, process))


def seeded_init(seed: int, name: str, build: Callable[[], T]) -> T:
    """Build a model (or add an adapter) with weights drawn from (seed, name) alone: a fresh,
    a resumed and a multi-process run start from the same weights, and nothing else shifts."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(seed, name))
        return build()


def draw_batch(count: int, batch_size: int, generator: torch.Generator) -> np.ndarray:
    return torch.randint(0, count, (batch_size,), generator=generator).numpy()


def drop_labels(labels: np.ndarray, rate: float, generator: torch.Generator) -> torch.Tensor:
    """Replace a `rate` share of labels by NULL_CLASS so one model learns p(x|c) and p(x)."""
    labels = torch.as_tensor(labels, dtype=torch.long)
    dropped = torch.rand(len(labels), generator=generator) < rate
    return torch.where(dropped, NULL_CLASS, labels)


class DenoisingLoss(torch.nn.Module):
    """DDPM training loss of a UNet; a Module so that accelerate's DDP and autocast wrap it."""

    def __init__(self, unet: torch.nn.Module, scheduler: DDPMScheduler) -> None:
        super().__init__()
        self.unet = unet
        self.scheduler = scheduler

    def forward(
        self, latents: torch.Tensor, generator: torch.Generator, **condition: torch.Tensor
    ) -> torch.Tensor:
        steps = self.scheduler.config.num_train_timesteps
        noise = torch.randn(latents.shape, generator=generator).to(latents.device)
        timesteps = torch.randint(0, steps, (len(latents),), generator=generator)
        timesteps = timesteps.to(latents.device)
        noisy = self.scheduler.add_noise(latents, noise, timesteps)
        prediction = self.unet(noisy, timesteps, **condition).sample
        if self.scheduler.config.prediction_type == "v_prediction":
            target = self.scheduler.get_velocity(latents, noise, timesteps)
        else:
            target = noise
        return F.mse_loss(prediction.float(), target.float())


@dataclass
class Phase:
    """One optimisation run. `loss` computes one micro-batch loss from the step's generator;
    `weights`/`load_weights` get and set the trainable weights (whole model or LoRA only)."""

    name: str
    steps: int
    model: torch.nn.Module
    parameters: list[torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    lr_scheduler: torch.optim.lr_scheduler.LRScheduler
    loss: Callable[[torch.Generator], torch.Tensor]
    weights: Callable[[], dict[str, torch.Tensor]]
    load_weights: Callable[[dict[str, torch.Tensor]], Any]
    ema: EMAModel | None = None
    # at each checkpoint, on the main process: rows scoring the model after that many steps
    snapshot: Callable[[int], list[list[float]]] | None = None


class Trainer:
    """Runs phases in order, resuming from the checkpoint at `state_path` when there is one."""

    def __init__(
        self,
        accelerator: Accelerator,
        settings: DiffusionSettings,
        state_path: Path,
        identity: dict[str, Any],
    ) -> None:
        self.accelerator = accelerator
        self.settings = settings
        self.state_path = state_path
        self.identity = identity
        self.saved = load_checkpoint(state_path)
        if self.saved is not None and self.saved.get("identity") != identity:
            log.warning(
                "checkpoint %s was made with other training settings or data; starting afresh",
                state_path,
            )
            self.saved = None
        self.losses: list[list] = self.saved["losses"] if self.saved else []
        self.finished: dict[str, dict[str, torch.Tensor]] = (
            self.saved["finished"] if self.saved else {}
        )
        self.progress: list[list[float]] = self.saved["progress"] if self.saved else []
        if self.saved:
            restore_rng(self.saved["rng"])

    def optimizer(
        self, parameters: Iterable[torch.nn.Parameter], lr: float, steps: int
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        """AdamW and its LR schedule; the schedule stays unprepared so that it steps once per
        optimizer update (accelerate's wrapper would step it once per process). Warmup is
        capped at a quarter of the phase so that short test runs still decay."""
        optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=1e-2)
        schedule = get_scheduler(
            self.settings.lr_schedule,
            optimizer,
            num_warmup_steps=min(self.settings.lr_warmup_steps, steps // 4),
            num_training_steps=steps,
        )
        return self.accelerator.prepare(optimizer), schedule

    def run(self, phase: Phase) -> None:
        if phase.name in self.finished:
            phase.load_weights(self.finished[phase.name])
            log.info("phase %s finished in an earlier run; reusing its weights", phase.name)
            return
        start = self._resume(phase)
        accelerator = self.accelerator
        bar = tqdm(
            range(start, phase.steps),
            desc=phase.name,
            initial=start,
            total=phase.steps,
            disable=not accelerator.is_main_process,
            mininterval=10,
        )
        for step in bar:
            generator = step_generator(
                self.settings.seed, phase.name, step, accelerator.process_index
            )
            total = torch.zeros((), device=accelerator.device)
            for _ in range(self.settings.grad_accumulation):
                with accelerator.accumulate(phase.model):
                    loss = phase.loss(generator)
                    accelerator.backward(loss)
                    if accelerator.sync_gradients:
                        accelerator.clip_grad_norm_(phase.parameters, MAX_GRAD_NORM)
                    phase.optimizer.step()
                    phase.optimizer.zero_grad(set_to_none=True)
                total += loss.detach()
            phase.lr_scheduler.step()
            if phase.ema is not None:
                phase.ema.step(phase.parameters)
            mean = accelerator.reduce(total / self.settings.grad_accumulation, "mean").item()
            self.losses.append([step + 1, phase.name, mean])
            bar.set_postfix(loss=f"{mean:.4f}", refresh=False)
            if (step + 1) % self.settings.checkpoint_every == 0 or step + 1 == phase.steps:
                if phase.snapshot is not None and accelerator.is_main_process:
                    self.progress += phase.snapshot(step + 1)
                self._save(phase, step + 1)
        log.info("phase %s done: %d of %d steps", phase.name, phase.steps, phase.steps)
        self.finished[phase.name] = phase.weights()

    def _resume(self, phase: Phase) -> int:
        saved = self.saved
        if not saved or saved["phase"] != phase.name:
            log.info("phase %s: starting at step 0 of %d", phase.name, phase.steps)
            return 0
        phase.load_weights(saved["weights"])
        phase.optimizer.load_state_dict(saved["optimizer"])
        phase.lr_scheduler.load_state_dict(saved["lr_scheduler"])
        if phase.ema is not None:
            phase.ema.load_state_dict(saved["ema"])
            phase.ema.to(self.accelerator.device)
        log.info(
            "phase %s: resuming from step %d of %d (%s)",
            phase.name,
            saved["step"],
            phase.steps,
            self.state_path,
        )
        return saved["step"]

    def _save(self, phase: Phase, step: int) -> None:
        if self.accelerator.is_main_process:
            state = {
                "identity": self.identity,
                "phase": phase.name,
                "step": step,
                "weights": phase.weights(),
                "optimizer": phase.optimizer.state_dict(),
                "lr_scheduler": phase.lr_scheduler.state_dict(),
                "losses": self.losses,
                "progress": self.progress,
                "finished": self.finished,
                "rng": capture_rng(),
            }
            if phase.ema is not None:
                state["ema"] = phase.ema.state_dict()
            save_checkpoint(self.state_path, state)
        self.accelerator.wait_for_everyone()
