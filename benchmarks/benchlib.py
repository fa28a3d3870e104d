"""The table both benchmark scripts print, interleaved medians, and the workloads they share.

Every row is a measurement next to an anchor measured in the same run and interleaved with it
(round k runs A then B, round k+1 runs B then A), so a machine shared with other jobs shifts
both alike and the ratio stays meaningful where the absolute numbers do not.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
try:
    import idc_synth  # noqa: F401  (every benchmark measures the workflow's library)
except ModuleNotFoundError:
    sys.exit("the benchmarks import idc_synth: pip install -r requirements-dev.txt (installs it)")

COLUMNS = ("section", "what", "value", "unit", "anchor", "anchor_value", "ratio", "note")


@dataclass
class Row:
    section: str
    what: str
    value: float
    unit: str
    anchor: str = ""
    anchor_value: float = math.nan
    note: str = ""

    @property
    def ratio(self) -> float:
        """value / anchor_value, in the row's unit (img/s: higher is better; s: lower)."""
        if not self.anchor_value or math.isnan(self.anchor_value):
            return math.nan
        return self.value / self.anchor_value

    def cells(self) -> list[str]:
        values = {f.name: getattr(self, f.name) for f in fields(self)} | {"ratio": self.ratio}
        return [_format(values[column]) for column in COLUMNS]


def _format(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def failed(section: str, what: str, error: BaseException) -> Row:
    """A row saying what failed and why; the table still prints."""
    traceback.print_exception(error, file=sys.stderr)
    message = " ".join(f"{type(error).__name__}: {error}".split())[:160]
    return Row(section, what, math.nan, "", note=f"FAILED {message}")


def interleaved(measures: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Median over ``repeats`` rounds of each measure, the order reversed every other round."""
    samples: dict[str, list[float]] = {name: [] for name in measures}
    names = list(measures)
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else reversed(names):
            samples[name].append(measures[name]())
    return {name: statistics.median(values) for name, values in samples.items()}


def seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def print_table(rows: list[Row], title: str) -> str:
    table = [list(COLUMNS), *[row.cells() for row in rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = [title, ""]
    for number, line in enumerate(table):
        cells = zip(line, widths, strict=True)
        lines.append("  ".join(cell.ljust(width) for cell, width in cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def write_tsv(rows: list[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(COLUMNS), *["\t".join(row.cells()) for row in rows]]
    path.write_text("\n".join(lines) + "\n")


@contextlib.contextmanager
def section_guard(rows: list[Row], section: str) -> Iterator[None]:
    """Run a section; an exception becomes a FAILED row instead of ending the benchmark."""
    try:
        yield
    except Exception as error:  # noqa: BLE001  (any failure is reported in the table)
        rows.append(failed(section, "(section)", error))


# ---------------------------------------------------------------------------------------------
# Workloads shared by the CPU and the GPU benchmark


def classifier_trainer(arch: str, device, amp_dtype=None, channels_last: bool = True):
    """(model, step) where step(uint8 patches, float labels) runs one training step the way
    idc_synth.classifier does (AdamW, BCE with logits), optionally under autocast."""
    import torch

    from idc_synth.models import build_classifier, to_model_input

    torch.manual_seed(0)
    model = build_classifier(arch).to(device)
    if device.type == "cuda" and channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    scaler = torch.amp.GradScaler(enabled=amp_dtype == torch.float16)
    model.train()

    def step(patches, labels) -> None:
        inputs = to_model_input(patches.to(device, non_blocking=True))
        if not channels_last:
            inputs = inputs.contiguous()
        targets = labels.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    return model, step


def workflow_trainer(arch: str, images, labels, batch_size: int, device):
    """measure(steps) -> (img/s, data-wait share of the elapsed time) for one more period of
    ``steps`` optimizer steps of the classifier job's own training loop
    (idc_synth.classifier._train_period: step-ordered batches read from ``images``, an array or
    IndexedImages, gathered and augmented on its prefetch thread, the data wait it counts).
    Periods continue one run, so only the first pays the model's warm-up; each pays its
    prefetch thread's start, as every period of a real job does."""
    import numpy as np
    import torch

    from idc_synth import classifier

    labels = np.asarray(labels, np.int64)
    settings = classifier.TrainSettings(
        arch, max_epochs=1, batch_size=batch_size, learning_rate=1e-3, weight_decay=1e-4,
        patience=1, seed=0,
    )  # fmt: skip
    steps_per_pass = math.ceil(len(labels) / batch_size)
    run = classifier._Run(settings, classifier.StepPlan(steps_per_pass, 1, 2**62), "", device)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def measure(steps: int) -> tuple[float, float]:
        run.plan = classifier.StepPlan(steps_per_pass, steps, 2**62)
        started = time.perf_counter()
        _, waited = classifier._train_period(run, images, labels, loss_fn, device)
        sync(device)
        elapsed = time.perf_counter() - started
        return batch_size * steps / elapsed, waited / elapsed

    return measure


def dcgan_workload(settings_kw: dict, device, amp_dtype=None):
    """(train_step, sample(n)) of the project's DCGAN at these settings."""
    import torch

    from idc_synth.dcgan import model, training

    settings = model.DCGANSettings(**settings_kw)
    run = training._Run(settings, "benchmark", device)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    real = torch.rand(settings.batch_size, 3, 50, 50, device=device) * 2 - 1

    def train_step() -> None:
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            training._train_step(run, real, None, loss_fn)
        sync(device)

    def sample(n: int) -> None:
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            model.generate(run.generator, n, seed=0, device=device)
        sync(device)

    return train_step, sample


def diffusion_workload(settings_kw: dict, device_name: str, folder: Path, amp_dtype=None):
    """(unet_step, vae_step, sample(n)) of the scratch latent diffusion at these settings;
    sampling runs the project's ScratchSampler on freshly initialised weights. Mixed precision
    comes from ``amp_dtype`` via torch.autocast: accelerate allows one precision per process."""
    import torch

    from idc_synth.diffusion import scratch
    from idc_synth.diffusion.sampling import ScratchSampler
    from idc_synth.diffusion.settings import DiffusionSettings
    from idc_synth.diffusion.training import DenoisingLoss, make_accelerator

    settings = DiffusionSettings(**settings_kw)
    accelerator = make_accelerator(settings, device_name)
    device = accelerator.device
    torch.manual_seed(0)
    vae, unet = scratch.build_vae(settings), scratch.build_unet(settings)
    noise_scheduler = scratch.build_noise_scheduler(settings)
    vae.save_pretrained(folder / "vae")
    unet.save_pretrained(folder / "unet")
    noise_scheduler.save_pretrained(folder / "scheduler")
    vae_loss = accelerator.prepare(scratch.VAELoss(vae, settings.kl_weight))
    denoise = accelerator.prepare(DenoisingLoss(unet, noise_scheduler))
    vae_opt = torch.optim.AdamW(vae.parameters(), lr=settings.vae_lr)
    unet_opt = torch.optim.AdamW(unet.parameters(), lr=settings.unet_lr)
    generator = torch.Generator().manual_seed(0)
    size = settings.model_size
    pixels = torch.rand(settings.vae_batch_size, 3, size, size, device=device) * 2 - 1
    latent_size = size // settings.vae_downsampling
    latents = torch.randn(
        settings.unet_batch_size, settings.latent_channels, latent_size, latent_size, device=device
    )
    classes = torch.randint(0, 2, (settings.unet_batch_size,), device=device)

    def autocast():
        return torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None)

    def optimise(loss_fn, optimizer, *args, **kwargs) -> None:
        with autocast():
            loss = loss_fn(*args, **kwargs)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        optimizer.step()
        sync(device)

    sampler = ScratchSampler.from_folder(folder, settings, accelerator)

    def sample(n: int) -> None:
        with autocast():
            sampler.sample(label=1, count=n, seed=0)
        sync(device)

    return (
        lambda: optimise(denoise, unet_opt, latents, generator, class_labels=classes),
        lambda: optimise(vae_loss, vae_opt, pixels, generator),
        sample,
    )


def sync(device) -> None:
    if getattr(device, "type", str(device)) == "cuda":
        import torch

        torch.cuda.synchronize()


DCGAN_DEMO = {
    "latent_dim": 64,
    "generator_channels": 16,
    "discriminator_channels": 16,
    "epochs": 1,
    "min_steps": 0,
    "batch_size": 32,
    "lr_generator": 2e-4,
    "lr_discriminator": 2e-4,
    "beta1": 0.5,
    "checkpoint_every": 1000,
    "conditional": False,
    "seed": 0,
}
# The README's full-scale (GPU) settings.
DCGAN_FULL = DCGAN_DEMO | {
    "latent_dim": 100,
    "generator_channels": 64,
    "discriminator_channels": 64,
    "batch_size": 128,
}
DIFFUSION_DEMO = {"vae_channels": [8, 16, 32], "unet_channels": [32, 64]}
DIFFUSION_SMOKE = {  # tiny sizes the tests run the benchmark scripts at
    "vae_channels": [4, 8],
    "vae_batch_size": 4,
    "unet_channels": [8, 16],
    "unet_batch_size": 4,
    "sampling_steps": 2,
    "sample_batch_size": 4,
}
DIFFUSION_FULL = {
    "vae_channels": [64, 128, 256],
    "vae_batch_size": 128,
    "unet_channels": [128, 256, 512],
    "unet_layers_per_block": 2,
    "unet_attention_levels": 2,
    "unet_batch_size": 256,
    "sampling_steps": 50,
    "sample_batch_size": 1024,
}
