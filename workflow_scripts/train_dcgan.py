"""Rule train_dcgan: fit one class's DCGAN (or the conditional one) on the train split, scoring
its snapshots against the held-out train patches as it goes."""

from pathlib import Path

import numpy as np

from idc_synth.dcgan.model import DCGANSettings, save_generator
from idc_synth.dcgan.training import train_dcgan
from idc_synth.grids import save_grid
from idc_synth.layout import CLASSES
from idc_synth.pack import load_packed
from idc_synth.progress import ProgressScorer
from idc_synth.runtime import limit_torch_threads, resolve_device, rule_logging


def select_training_rows(labels: np.ndarray, label: int | None, conditional: bool) -> np.ndarray:
    """Rows to train on: one class for a per-class generator, all for the conditional one."""
    if conditional != (label is None):
        raise ValueError(
            f"label {label!r} with conditional={conditional}: a per-class generator needs "
            "label 0 or 1 and conditional false; the conditional one needs label null"
        )
    rows = np.arange(len(labels)) if label is None else np.flatnonzero(labels == label)
    if len(rows) == 0:
        raise ValueError(f"the train split has no patches of class {label}")
    return rows


def main(
    *,
    train_images: Path,
    train_table: Path,
    holdout_images: Path,
    holdout_table: Path,
    settings: DCGANSettings,
    label: int | None,
    progress_patches: int,
    state: Path,
    device: str,
    weights: Path,
    config: Path,
    losses: Path,
    quality: Path,
    previews: Path,
    threads: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        images, table = load_packed(train_images, train_table)
        all_labels = table["label"].to_numpy()
        rows = select_training_rows(all_labels, label, settings.conditional)
        # One class of a memory-mapped split, copied to RAM: steps then gather without disk reads.
        train_x = images if label is None else np.asarray(images[rows])
        logger.info(
            "read %s: %d train patches, training the %s generator on %d of them",
            train_images,
            len(images),
            "conditional" if label is None else f"class-{label}",
            len(rows),
        )
        scorer = None
        if progress_patches:
            held, held_table = load_packed(holdout_images, holdout_table)
            scorer = ProgressScorer(
                (held, held_table["label"].to_numpy()),
                (images, all_labels),
                CLASSES if label is None else [label],
                progress_patches,
                settings.seed,
            )
        result = train_dcgan(
            train_x, all_labels[rows], settings, state, resolve_device(device), scorer=scorer
        )
        save_generator(result.generator, settings, weights, config, label=label)
        losses.parent.mkdir(parents=True, exist_ok=True)
        result.history.to_csv(losses, sep="\t", index=False)
        result.progress.to_csv(quality, sep="\t", index=False)
        shown = result.previews
        save_grid(
            np.concatenate([snapshot for _, snapshot in shown]), previews, columns=len(shown[0][1])
        )
        logger.info(
            "%d steps, %.3f s/step; preview rows are steps %s",
            len(result.history),
            result.seconds_per_step,
            [step for step, _ in shown],
        )
        logger.info("wrote %s, %s, %s, %s, %s", weights, config, losses, quality, previews)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        train_images=Path(sm.input.train_images),
        train_table=Path(sm.input.train_table),
        holdout_images=Path(sm.input.holdout_images),
        holdout_table=Path(sm.input.holdout_table),
        settings=DCGANSettings(**sm.params.settings),
        label=sm.params.label,
        progress_patches=sm.params.progress_patches,
        state=Path(sm.params.state),
        device=sm.params.device,
        weights=Path(sm.output.weights),
        config=Path(sm.output.config),
        losses=Path(sm.output.losses),
        quality=Path(sm.output.quality),
        previews=Path(sm.output.previews),
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
