"""Generator quality on real patches: each generator at its full-scale widths, trained for a fixed
time budget on real IDC patches, scored against held-out patches of the same patients.

    python benchmarks/generator_quality.py                  # 2 CPU cores, see --help for sizes
    python benchmarks/generator_quality.py --device cuda --budget-s 240 --mixed-precision bf16
    python benchmarks/generator_quality.py --widths demo    # the demo's widths (CPU-sized)
    python benchmarks/generator_quality.py --widths smoke   # tiny, seconds (tests run it)

Data: ``--data`` (default: the shared sample of real patches beside the checkout), in the IDC
layout; where it is absent the script says so and exits 0. A seeded ``--holdout-fraction`` of
each patient's patches per class is held out (idc_synth.pack.holdout_mask, the workflow's
``quality.holdout_fraction``); the generators train on the rest only.

Generators: one DCGAN per class and the scratch latent diffusion (the VAE gets ``--vae-share`` of
its budget), at the README's full-scale settings (benchlib.DCGAN_FULL, DIFFUSION_FULL) or, with
``--widths demo``, the default config's,
each trained for ``--budget-s`` seconds of optimizer steps: the steps are the budget over the
seconds per step measured on a few calibration steps (``--dcgan-steps``, ``--vae-steps`` and
``--unet-steps`` fix the counts instead, for a machine shared with other jobs). Snapshots are
scored as the workflow's training jobs score them (idc_synth.progress: pixel FID of 10 px block
means, power-spectrum distance and periodic spike ratio against the held-out patches), the last
one at the end.

On real tissue (``--data ../shared/data/idc-real``): ``--patients N`` trains on a seeded subset
of patient folders (loading all 34,016 patches takes minutes), ``--threads 1`` keeps a machine
shared with other jobs from stalling torch's thread pool, ``--dcgan-settings`` and
``--diffusion-settings`` override config keys (JSON), ``--classes`` picks the DCGANs, and
``--grids DIR`` writes each generator's patches above real held-out ones of the same class,
the diffusion's sampling cost per 1000 patches, and its VAE's reconstructions of the held-out
patches scored like a snapshot (``vae_ceiling.tsv``: no sample can be sharper than its decoder).
Training costs are process CPU seconds (snapshot scoring included), so a busy machine does not
inflate them.

Prints two tables and writes them as TSV (``--out``): the final quality of each generator and
class next to the held-out floor (real train patches of the same n scored the same way) with the
spike ratio over the floor's, and every snapshot's row (quality over training).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from benchlib import (
    DCGAN_DEMO,
    DCGAN_FULL,
    DIFFUSION_DEMO,
    DIFFUSION_FULL,
    DIFFUSION_SMOKE,
    REPO,
    dcgan_workload,
    diffusion_workload,
    seconds,
)
from PIL import Image

from idc_synth.classifier import load_classifier
from idc_synth.dcgan.model import DCGANSettings, generate, standing_statistics
from idc_synth.dcgan.training import train_dcgan
from idc_synth.diffusion.pixels import crop_patch, to_model_padded, to_patches
from idc_synth.diffusion.sampling import load_sampler
from idc_synth.diffusion.scratch import train_scratch
from idc_synth.diffusion.settings import DiffusionSettings
from idc_synth.diffusion.training import Trainer, make_accelerator, training_identity
from idc_synth.grids import save_grid
from idc_synth.layout import CLASSES, PATCH_SIZE, parse_patch_path
from idc_synth.pack import Holdout, holdout_mask
from idc_synth.progress import SCORES, ProgressScorer, progress_table
from idc_synth.quality.features import classifier_features
from idc_synth.quality.metrics import fid
from idc_synth.quality.subsets import subsample
from idc_synth.runtime import resolve_device

DEFAULT_DATA = REPO.parent / "shared" / "data" / "idc-sample"
CALIBRATION_STEPS = 3
GRID_COUNT = 32  # generated patches per class in a --grids picture, above as many real ones
SMOKE_DCGAN = DCGAN_DEMO | {"latent_dim": 16, "generator_channels": 8, "discriminator_channels": 8}
EMBEDDED = ("fd_classifier", "fd_classifier_floor")
WIDTHS = {  # (DCGAN settings, diffusion settings) per --widths
    "full": (DCGAN_FULL, DIFFUSION_FULL),
    "demo": (DCGAN_DEMO, DIFFUSION_DEMO),
    "smoke": (SMOKE_DCGAN, DIFFUSION_SMOKE),
}


@dataclasses.dataclass
class Patches:
    images: np.ndarray
    labels: np.ndarray
    patients: np.ndarray

    def take(self, mask: np.ndarray) -> Patches:
        return Patches(self.images[mask], self.labels[mask], self.patients[mask])


def load_patches(root: Path, patients: int | None, seed: int) -> tuple[Patches, int]:
    """Every 50x50 patch under root in the IDC layout (of a seeded subset of ``patients``
    patient folders when given), and how many were not 50x50."""
    folders = sorted(path for path in root.iterdir() if path.is_dir())
    if patients is not None and patients < len(folders):
        rng = np.random.default_rng([seed, 4])
        folders = sorted(rng.choice(np.array(folders, dtype=object), patients, replace=False))
    images, labels, patients, skipped = [], [], [], 0
    for path in (png for folder in folders for png in sorted(folder.glob("[01]/*.png"))):
        pixels = np.asarray(Image.open(path).convert("RGB"))
        if pixels.shape[:2] != (PATCH_SIZE, PATCH_SIZE):
            skipped += 1
            continue
        name = parse_patch_path(path.relative_to(root))
        images.append(pixels)
        labels.append(name.label)
        patients.append(name.patient)
    data = Patches(np.stack(images), np.array(labels), np.array(patients))
    return data, skipped


def save_side_by_side(generated: np.ndarray, held: Patches, label: int, path: Path) -> None:
    """Generated patches (top rows) above real held-out patches of the same class."""
    path.parent.mkdir(parents=True, exist_ok=True)
    real = held.images[held.labels == label][:GRID_COUNT]
    save_grid(np.concatenate([generated[:GRID_COUNT], real]), path)


@torch.no_grad()
def reconstruct(sampler, held: Patches, label: int, n: int) -> np.ndarray:
    """The VAE's decoding of the posterior means of n held-out patches of the class."""
    vae = sampler.vae
    real = held.images[held.labels == label][:n]
    size = sampler.settings.model_size
    pixels = to_model_padded(real, size, sampler.accelerator.device)
    return to_patches(crop_patch(vae.decode(vae.encode(pixels).latent_dist.mean).sample))


class ClassifierSpace:
    """FD in a trained classifier's embedding between a class's samples and the held-out patches
    the progress scorer compares them with (same rows, same n), and its floor: real train
    patches of the same n."""

    def __init__(self, folder: Path, scorer: ProgressScorer, train: Patches, held: Patches):
        model, _ = load_classifier(folder / "model.safetensors", folder / "info.json", "cpu")
        self.embed = partial(classifier_features, model)
        self.references: dict[int, tuple[np.ndarray, float]] = {}
        for label, reference in scorer.references.items():
            rows = [
                subsample(
                    np.flatnonzero(data.labels == label), reference.n, scorer.seed, name, label
                )
                for data, name in ((held, "progress holdout"), (train, "progress train"))
            ]
            features = self.embed(held.images, rows[0])
            floor = fid(self.embed(train.images, rows[1]), features)
            self.references[label] = features, floor

    def distance(self, label: int, samples: np.ndarray) -> dict[str, float]:
        features, floor = self.references[label]
        return {"fd_classifier": fid(self.embed(samples), features), "fd_classifier_floor": floor}


class EmbeddedScorer:
    """A ProgressScorer whose snapshots are also scored in a ClassifierSpace (``rows``); the
    training code sees the scorer's own interface and rows."""

    def __init__(self, scorer: ProgressScorer, space: ClassifierSpace) -> None:
        self.scorer, self.space, self.rows = scorer, space, []

    def identity(self) -> dict:
        return self.scorer.identity()

    def score(self, step: int, sample) -> list[list[float]]:
        def recorded(label: int, n: int) -> np.ndarray:
            images = sample(label, n)
            self.rows.append({"step": step, "label": label} | self.space.distance(label, images))
            return images

        return self.scorer.score(step, recorded)

    def table(self, progress: pd.DataFrame) -> pd.DataFrame:
        """The progress table with the classifier-space columns of its snapshots."""
        return progress.merge(pd.DataFrame(self.rows), on=["step", "label"], how="left")


def with_embedding(scored: list[list[float]], scorer) -> pd.DataFrame:
    """A one-off score call's rows (the VAE ceiling), with classifier-space columns when the
    scorer has them (its last rows: ``scored`` was the last call)."""
    table = progress_table(scored)
    if isinstance(scorer, EmbeddedScorer):
        table = table.merge(pd.DataFrame(scorer.rows[-len(table) :]), on=["step", "label"])
        del scorer.rows[-len(table) :]
    return table


def split_holdout(data: Patches, fraction: float, seed: int) -> tuple[Patches, Patches]:
    """(train, held out): the workflow's per patient and class seeded holdout."""
    rows = pd.DataFrame({"patient": data.patients, "label": data.labels})
    held = holdout_mask(rows, Holdout(fraction, seed))
    return data.take(~held), data.take(held)


def steps_for(budget_s: float, seconds_per_step: float, minimum: int) -> int:
    return max(minimum, int(budget_s / seconds_per_step))


def calibrated(step) -> float:
    """Seconds per call of a training step: the fastest of a few, after a warm-up."""
    step()
    return min(seconds(step) for _ in range(CALIBRATION_STEPS))


def run_dcgan(
    train: Patches, held: Patches, scorer: ProgressScorer, label: int, args, device, folder: Path
):
    """One class's DCGAN for the budget; returns (steps, seconds, snapshot rows)."""
    rows = train.labels == label
    images, labels = train.images[rows], train.labels[rows]
    base = WIDTHS[args.widths][0] | {"checkpoint_every": 10**9}
    base |= {"batch_size": args.dcgan_batch} if args.dcgan_batch else {}
    base |= json.loads(args.dcgan_settings)
    steps = args.dcgan_steps or steps_for(
        args.budget_s, calibrated(dcgan_workload(base, device)[0]), 2
    )
    settings = DCGANSettings(**base | {"min_steps": steps})
    started = time.process_time()
    result = train_dcgan(
        images, labels, settings, folder / f"dcgan{label}.pt", device, scorer=scorer
    )
    elapsed = time.process_time() - started
    if args.grids:
        standing_statistics(result.generator, 0, settings.batch_size, device)
        samples = generate(result.generator, GRID_COUNT, 1, device)
        save_side_by_side(samples, held, label, args.grids / f"dcgan_class{label}.png")
    return len(result.history), elapsed, embedded(result.progress, scorer)


def run_diffusion(train: Patches, held: Patches, scorer: ProgressScorer, args, folder: Path):
    """The scratch latent diffusion for the budget (VAE: --vae-share of it)."""
    base = WIDTHS[args.widths][1] | {
        "mixed_precision": args.mixed_precision,
        "sampling_steps": args.sampling_steps,
    }
    base |= json.loads(args.diffusion_settings)
    if args.diffusion_batch:
        base |= {"vae_batch_size": args.diffusion_batch, "unet_batch_size": args.diffusion_batch}
    amp = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.mixed_precision)
    vae_steps, unet_steps = args.vae_steps, args.unet_steps
    if not (vae_steps and unet_steps):
        unet_step, vae_step, _ = diffusion_workload(base, args.device, folder / "timing", amp)
        vae_steps = vae_steps or steps_for(args.budget_s * args.vae_share, calibrated(vae_step), 2)
        unet_budget = args.budget_s * (1 - args.vae_share)
        unet_steps = unet_steps or steps_for(unet_budget, calibrated(unet_step), args.snapshots)
    settings = DiffusionSettings(
        **base,
        vae_steps=vae_steps,
        unet_steps=unet_steps,
        checkpoint_every=max(1, math.ceil(unet_steps / args.snapshots)),
    )
    images, labels = train.images.copy(), train.labels
    identity = training_identity(settings, images, labels)
    trainer = Trainer(make_accelerator(settings, args.device), settings, folder / "d.pt", identity)
    started = time.process_time()
    train_scratch(images, labels, settings, trainer, folder / "model", scorer)
    elapsed = time.process_time() - started
    if args.grids:
        sampler = load_sampler(folder / "model", settings, trainer.accelerator)
        for label in CLASSES:
            sampled = time.process_time()
            samples = sampler.sample(label, GRID_COUNT, 1)
            per_1000 = (time.process_time() - sampled) / GRID_COUNT * 1000
            print(f"diffusion class {label}: sampling {per_1000:.0f} CPU-s per 1000 patches")
            path = args.grids / f"diffusion_class{label}.png"
            save_side_by_side(samples, held, label, path)
        ceiling = with_embedding(
            scorer.score(unet_steps, partial(reconstruct, sampler, held)), scorer
        )
        print("VAE reconstructions of the held-out patches (the decoder's ceiling):")
        print(ceiling.to_string(index=False, float_format="{:.3g}".format))
        ceiling.to_csv(args.grids / "vae_ceiling.tsv", sep="\t", index=False)
    return f"vae {vae_steps} + unet {unet_steps}", elapsed, embedded(trainer.progress, scorer)


def embedded(progress: pd.DataFrame | list, scorer) -> pd.DataFrame:
    """A run's progress table, with its classifier-space columns when it has them."""
    progress = progress if isinstance(progress, pd.DataFrame) else progress_table(progress)
    return scorer.table(progress) if isinstance(scorer, EmbeddedScorer) else progress


def final_rows(name: str, steps, elapsed: float, progress: pd.DataFrame) -> list[dict]:
    """The last snapshot of each class, with the spike ratio over the floor's."""
    last = progress[progress["step"] == progress["step"].max()]
    return [
        {"generator": name, "label": int(row.label), "steps": steps, "train_cpu_s": elapsed}
        | {"n": int(row.n)}
        | {score: getattr(row, score) for score in SCORES}
        | {f"{score}_floor": getattr(row, f"{score}_floor") for score in SCORES}
        | {"spike_over_floor": row.spike_ratio / row.spike_ratio_floor}
        | {key: getattr(row, key) for key in EMBEDDED if hasattr(row, key)}
        for row in last.itertuples()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="IDC-layout patches")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--budget-s", type=float, default=150.0, help="training seconds per generator"
    )
    parser.add_argument("--vae-share", type=float, default=0.25, help="of diffusion's budget")
    for name in ("dcgan", "vae", "unet"):  # a shared machine's timings drift: fixed counts
        parser.add_argument(f"--{name}-steps", type=int, help="steps instead of the budget's")
    parser.add_argument("--holdout-fraction", type=float, default=0.2)
    parser.add_argument("--patches", type=int, default=128, help="scored per class, snapshot")
    parser.add_argument("--snapshots", type=int, default=4, help="diffusion UNet snapshots")
    parser.add_argument("--sampling-steps", type=int, default=20, help="diffusion DDIM steps")
    parser.add_argument("--mixed-precision", default="no", choices=("no", "fp16", "bf16"))
    parser.add_argument("--dcgan-batch", type=int, help="DCGAN batch (default: full-scale 128)")
    parser.add_argument(
        "--diffusion-batch", type=int, help="VAE and UNet batch (default: full-scale 128, 256)"
    )
    parser.add_argument("--generators", nargs="+", default=["dcgan", "diffusion"])
    parser.add_argument("--seed", type=int, default=0, help="of the held-out split and scoring")
    parser.add_argument("--widths", default="full", choices=tuple(WIDTHS))
    parser.add_argument("--classes", type=int, nargs="+", default=list(CLASSES), help="DCGANs")
    parser.add_argument("--threads", type=int, help="CPU threads (default: every core)")
    parser.add_argument("--patients", type=int, help="a seeded subset of patients (quicker)")
    parser.add_argument("--dcgan-settings", default="{}", help="JSON: DCGAN keys to override")
    parser.add_argument("--diffusion-settings", default="{}", help="JSON: diffusion overrides")
    parser.add_argument("--grids", type=Path, help="folder for generated-above-real PNGs")
    parser.add_argument("--embedding", type=Path, help="a study's classifier folder: FD in it")
    parser.add_argument("--out", type=Path, default=REPO / "results/benchmarks/generator_quality")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: no real patches at {args.data} (pass --data <IDC-layout folder>)")
        return 0
    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads or os.cpu_count() or 1)
    data, skipped = load_patches(args.data, args.patients, args.seed)
    train, held = split_holdout(data, args.holdout_fraction, args.seed)
    print(
        f"{len(data.labels)} patches of {len(set(data.patients))} patients from {args.data} "
        f"({skipped} not 50x50 skipped); {len(held.labels)} held out, {len(train.labels)} "
        f"trained on; device {device}, {torch.get_num_threads()} threads, budget "
        f"{args.budget_s:g} s per generator, {args.widths} widths",
        flush=True,
    )

    def scorer(labels) -> ProgressScorer:
        pairs = (held.images, held.labels), (train.images, train.labels)
        plain = ProgressScorer(*pairs, labels, args.patches, args.seed)
        if args.embedding is None:
            return plain
        return EmbeddedScorer(plain, ClassifierSpace(args.embedding, plain, train, held))

    finals, curves = [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        runs = [
            (
                f"dcgan class{label}",
                partial(run_dcgan, train, held, scorer([label]), label, args, device),
            )
            for label in args.classes
            if "dcgan" in args.generators
        ]
        if "diffusion" in args.generators:
            runs.append(("diffusion", partial(run_diffusion, train, held, scorer(CLASSES), args)))
        for name, run in runs:
            steps, elapsed, progress = run(folder)
            finals += final_rows(name, steps, elapsed, progress)
            curves.append(progress.assign(generator=name))
            last = progress[progress["step"] == progress["step"].max()]
            print(f"\n{name}: {steps} steps in {elapsed:.0f} CPU-s; last snapshot:", flush=True)
            print(last.to_string(index=False, float_format="{:.3g}".format), flush=True)
    final = pd.DataFrame(finals)
    curve = pd.concat(curves, ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    final.to_csv(args.out / "final.tsv", sep="\t", index=False)
    curve.to_csv(args.out / "curves.tsv", sep="\t", index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print("\nFinal quality vs held-out patches (floor: real train patches, same n)\n")
        print(final.to_string(index=False, float_format="{:.3g}".format))
        print("\nQuality over training (every snapshot)\n")
        print(curve.to_string(index=False, float_format="{:.3g}".format))
    print(f"\nwrote {args.out / 'final.tsv'}, {args.out / 'curves.tsv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
