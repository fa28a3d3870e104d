"""Rule train_diffusion: latent diffusion from scratch, or LoRA on a local Stable Diffusion.

A command-line program, so that the rule can start it under `accelerate launch` with one
process per GPU. With --progress-patches, each checkpoint's model is scored against the held-out
train patches (quality over training, --quality). Resumable: state checkpoints go to `--state`;
a rerun continues from there.
The outputs are written next to the state and moved into place only at the end, so a killed job
leaves no partial output (a plain rerun resumes, no --rerun-incomplete needed).
"""

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.diffusion.folder import base_identity
from idc_synth.diffusion.pretrained import train_lora
from idc_synth.diffusion.sampling import load_sampler
from idc_synth.diffusion.scratch import train_scratch
from idc_synth.diffusion.settings import DiffusionSettings
from idc_synth.diffusion.training import Trainer, make_accelerator, training_identity
from idc_synth.grids import save_grid
from idc_synth.layout import CLASSES
from idc_synth.pack import load_packed
from idc_synth.progress import ProgressScorer, progress_table
from idc_synth.runtime import limit_torch_threads, rule_logging


def main(
    *,
    train_images: Path,
    train_table: Path,
    holdout_images: Path,
    holdout_table: Path,
    settings: DiffusionSettings,
    progress_patches: int,
    state: Path,
    model: Path,
    losses: Path,
    quality: Path,
    previews: Path,
    device: str = "auto",
    threads: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        accelerator = make_accelerator(settings, device)
        if not accelerator.is_main_process:  # one log, not one per GPU; warnings still show
            logging.getLogger().setLevel(logging.WARNING)
        limit_torch_threads(threads // accelerator.num_processes)
        images, table = load_packed(train_images, train_table)
        images, labels = np.array(images), table["label"].to_numpy()  # into RAM, writable
        logger.info(
            "read %s: %d patches (%d IDC); mode %s",
            train_images,
            len(images),
            int(labels.sum()),
            settings.mode,
        )
        logger.info("device %s, %d process(es)", accelerator.device, accelerator.num_processes)
        identity = training_identity(settings, images, labels)
        if settings.mode == "pretrained":  # new weights at the same path: a different base
            identity["base"] = base_identity(settings.pretrained_path, settings.allow_download)
        scorer = None
        if progress_patches:
            held, held_table = load_packed(holdout_images, holdout_table)
            held_labels = held_table["label"].to_numpy()
            scorer = ProgressScorer(
                (held, held_labels), (images, labels), CLASSES, progress_patches, settings.seed
            )
            identity["scoring"] = scorer.identity()
        trainer = Trainer(accelerator, settings, state, identity)
        staging = state.parent / "outputs"
        if accelerator.is_main_process:
            shutil.rmtree(staging, ignore_errors=True)
            (staging / "model").mkdir(parents=True)
        accelerator.wait_for_everyone()
        train = train_scratch if settings.mode == "scratch" else train_lora
        train(images, labels, settings, trainer, staging / "model", scorer)
        accelerator.end_training()  # leaves the process group of a multi-GPU run cleanly
        if not accelerator.is_main_process:
            return
        pd.DataFrame(trainer.losses, columns=["step", "phase", "loss"]).to_csv(
            staging / "losses.tsv", sep="\t", index=False
        )
        progress_table(trainer.progress).to_csv(staging / "quality.tsv", sep="\t", index=False)
        # The rule passes no sampling knob (a change to one must not retrain), so the previews
        # sample with DiffusionSettings' defaults for guidance and DDIM steps.
        sampler = load_sampler(staging / "model", settings, accelerator)
        grid = np.concatenate(
            [
                sampler.sample(label, settings.preview_per_class, settings.seed + label)
                for label in CLASSES
            ]
        )
        save_grid(grid, staging / "previews.png", columns=settings.preview_per_class)
        outputs = {"losses.tsv": losses, "quality.tsv": quality, "previews.png": previews}
        for name, target in (*outputs.items(), ("model", model)):
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():  # an older run's folder (Snakemake removes it before a rerun)
                shutil.rmtree(target)
            (staging / name).replace(target)
        written = ", ".join(str(path) for path in (model, losses, quality, previews))
        logger.info("wrote %s (one preview row per class: %s)", written, CLASSES)


def parse_args(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("train-images", "train-table", "state", "model", "losses", "quality", "previews"):
        parser.add_argument(f"--{name}", type=Path, required=True)
    for name in ("holdout-images", "holdout-table"):
        parser.add_argument(f"--{name}", type=Path, help="held-out train patches (--quality)")
    parser.add_argument(
        "--progress-patches",
        type=int,
        default=0,
        help="samples per class scored against the held-out patches at each checkpoint; 0: none",
    )
    parser.add_argument(
        "--settings",
        type=json.loads,
        default={},
        help="the config's `diffusion` section as JSON; missing keys take their defaults",
    )
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for all processes")
    parser.add_argument("--log", type=Path, help="log file (default: the terminal)")
    args = vars(parser.parse_args(argv))
    return {**args, "settings": DiffusionSettings(**args["settings"])}


if __name__ == "__main__":
    arguments = parse_args()
    try:
        main(**arguments)
    except Exception:
        if arguments["log"] is None:
            raise
        sys.exit(1)  # the traceback is in the log already (rule_logging); not twice
