"""Rule train_diffusion: latent diffusion from scratch, or LoRA on a local Stable Diffusion.

Resumable: state checkpoints go to the undeclared `state` path; a rerun continues from there.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.diffusion.pretrained import train_lora
from idc_synth.diffusion.sampling import load_sampler
from idc_synth.diffusion.scratch import train_scratch
from idc_synth.diffusion.settings import DiffusionSettings
from idc_synth.diffusion.training import Trainer, make_accelerator
from idc_synth.grids import save_grid
from idc_synth.layout import CLASSES
from idc_synth.pack import load_packed
from idc_synth.runtime import limit_torch_threads, rule_logging


def main(
    *,
    train_images: Path,
    train_table: Path,
    settings: DiffusionSettings,
    state: Path,
    model: Path,
    losses: Path,
    previews: Path,
    threads: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        images, table = load_packed(train_images, train_table)
        images, labels = np.array(images), table["label"].to_numpy()  # into RAM, writable
        logger.info(
            "read %s: %d patches (%d IDC); mode %s",
            train_images,
            len(images),
            int(labels.sum()),
            settings.mode,
        )
        accelerator = make_accelerator(settings)
        logger.info("device %s, %d process(es)", accelerator.device, accelerator.num_processes)
        trainer = Trainer(accelerator, settings, state)
        model.mkdir(parents=True, exist_ok=True)
        train = train_scratch if settings.mode == "scratch" else train_lora
        train(images, labels, settings, trainer, model)
        if not accelerator.is_main_process:
            return
        losses.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(trainer.losses, columns=["step", "phase", "loss"]).to_csv(
            losses, sep="\t", index=False
        )
        sampler = load_sampler(model, settings, accelerator)
        grid = np.concatenate(
            [
                sampler.sample(label, settings.preview_per_class, settings.seed + label)
                for label in CLASSES
            ]
        )
        save_grid(grid, previews, columns=settings.preview_per_class)
        logger.info("wrote %s, %s, %s (one row per class: %s)", model, losses, previews, CLASSES)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        train_images=Path(sm.input.train_images),
        train_table=Path(sm.input.train_table),
        settings=DiffusionSettings(**sm.params.settings),
        state=Path(sm.params.state),
        model=Path(sm.output.model),
        losses=Path(sm.output.losses),
        previews=Path(sm.output.previews),
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
