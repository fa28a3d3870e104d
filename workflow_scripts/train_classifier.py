"""Rule train_classifier: fit a patch classifier on the train split, picking the epoch on val."""

from __future__ import annotations

from pathlib import Path

from idc_synth.classifier import (
    TrainSettings,
    resolve_device,
    save_classifier,
    train_classifier,
)
from idc_synth.pack import load_packed
from idc_synth.runtime import limit_torch_threads, rule_logging


def main(
    *,
    train_images: Path,
    train_table: Path,
    val_images: Path,
    val_table: Path,
    settings: TrainSettings,
    device: str,
    weights: Path,
    info: Path,
    history: Path,
    threads: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        train_x, train_rows = load_packed(train_images, train_table)
        val_x, val_rows = load_packed(val_images, val_table)
        logger.info(
            "read train %s (%d patches), val %s (%d patches)",
            train_images,
            len(train_x),
            val_images,
            len(val_x),
        )
        trained = train_classifier(
            train_x,
            train_rows["label"].to_numpy(),
            val_x,
            val_rows["label"].to_numpy(),
            settings,
            resolve_device(device),
        )
        save_classifier(trained, weights, info)
        history.parent.mkdir(parents=True, exist_ok=True)
        trained.history.to_csv(history, sep="\t", index=False)
        logger.info("wrote %s, %s, %s", weights, info, history)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        train_images=Path(sm.input.train_images),
        train_table=Path(sm.input.train_table),
        val_images=Path(sm.input.val_images),
        val_table=Path(sm.input.val_table),
        settings=TrainSettings(**sm.params.settings),
        device=sm.params.device,
        weights=Path(sm.output.weights),
        info=Path(sm.output.info),
        history=Path(sm.output.history),
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
