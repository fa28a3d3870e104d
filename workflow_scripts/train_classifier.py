"""Rule train_classifier: fit a patch classifier on the train split, picking the epoch on val."""

from pathlib import Path

import numpy as np

from idc_synth.classifier import (
    TrainSettings,
    save_classifier,
    train_classifier,
)
from idc_synth.pack import load_packed
from idc_synth.runtime import limit_torch_threads, resolve_device, rule_logging
from idc_synth.synthetic import load_synthetic


def main(
    *,
    train_images: Path | None,
    train_table: Path | None,
    val_images: Path,
    val_table: Path,
    synthetic: Path | None,
    settings: TrainSettings,
    device: str,
    weights: Path,
    info: Path,
    history: Path,
    threads: int,
    log: Path | None,
) -> None:
    """Train on real train patches, a generator's synthetic patches, or both (an arm's mix).

    Synthetic patches only ever join the training set; validation (epoch choice) stays real.
    """
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        parts = []
        if train_images is not None:
            real_x, real_rows = load_packed(train_images, train_table)
            parts.append((real_x, real_rows["label"].to_numpy()))
            logger.info("read %d real train patches from %s", len(real_x), train_images)
        synthetic_counts = {}
        if synthetic is not None:
            synthetic_x, synthetic_y = load_synthetic(synthetic)
            parts.append((synthetic_x, synthetic_y))
            synthetic_counts = {
                int(k): int(v)
                for k, v in zip(*np.unique(synthetic_y, return_counts=True), strict=True)
            }
            logger.info(
                "read %d synthetic patches %s from %s",
                len(synthetic_x),
                synthetic_counts,
                synthetic,
            )
        if not parts:
            raise ValueError("a classifier needs real train patches, synthetic patches, or both")
        train_x = np.concatenate([images for images, _ in parts])
        train_y = np.concatenate([labels for _, labels in parts])
        val_x, val_rows = load_packed(val_images, val_table)
        logger.info("read %d real val patches from %s", len(val_x), val_images)
        trained = train_classifier(
            train_x,
            train_y,
            val_x,
            val_rows["label"].to_numpy(),
            settings,
            resolve_device(device),
        )
        trained.info["synthetic_per_class"] = synthetic_counts
        save_classifier(trained, weights, info)
        history.parent.mkdir(parents=True, exist_ok=True)
        trained.history.to_csv(history, sep="\t", index=False)
        logger.info("wrote %s, %s, %s", weights, info, history)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        train_images=Path(sm.input.train_images) if sm.input.get("train_images") else None,
        train_table=Path(sm.input.train_table) if sm.input.get("train_table") else None,
        val_images=Path(sm.input.val_images),
        val_table=Path(sm.input.val_table),
        synthetic=Path(sm.input.synthetic) if sm.input.get("synthetic") else None,
        settings=TrainSettings(**sm.params.settings),
        device=sm.params.device,
        weights=Path(sm.output.weights),
        info=Path(sm.output.info),
        history=Path(sm.output.history),
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
