"""Rule train_classifier: fit a patch classifier on the train split, picking the period on val."""

from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.batches import IndexedImages, Part, synthetic_parts, synthetic_share
from idc_synth.classifier import (
    TrainSettings,
    save_classifier,
    train_classifier,
)
from idc_synth.pack import load_packed
from idc_synth.runtime import limit_torch_threads, resolve_device, rule_logging
from idc_synth.synthetic import NO_DRAW


def main(
    *,
    train_images: Path | None,
    train_table: Path,
    val_images: Path,
    val_table: Path,
    synthetic: list[Path],
    synthetic_draw: int,
    generator_realization: int,
    settings: TrainSettings,
    synthetic_ratio: float | None = None,
    state: Path | None,
    device: str,
    weights: Path,
    info: Path,
    history: Path,
    threads: int,
    log: Path | None,
) -> None:
    """Train on real train patches, one synthetic draw's patches (``synthetic``: its shard
    tables), or both (an arm's mix). Without ``train_images`` (a synthetic-only arm) the real
    train table still sets the step budget, so every arm gets the same optimizer steps.

    Synthetic patches only ever join the training set; validation (period choice) stays real.
    ``synthetic_draw`` and the ``generator_realization`` that sampled it are recorded (NO_DRAW
    without synthetic patches); ``synthetic_ratio``
    (the data-efficiency sweep) keeps only round(ratio x real count) of each class, the first
    ones of the draw; ``state`` is the checkpoint a killed job resumes from.
    """
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        parts = []
        if train_images is not None:
            real_x, real_rows = load_packed(train_images, train_table)
            parts.append(Part(real_x, real_rows["label"].to_numpy()))
            logger.info("mapped %d real train patches from %s", len(real_x), train_images)
            n_real = len(real_rows)
        else:
            n_real = len(pd.read_parquet(train_table, columns=["label"]))
            logger.info("%s lists %d real train patches (not trained on)", train_table, n_real)
        synthetic_counts = {}
        if synthetic_draw == NO_DRAW and synthetic:
            raise ValueError(f"synthetic shards {synthetic} given without a draw")
        if synthetic:
            shards = synthetic_parts(synthetic)
            if synthetic_ratio is not None:
                if train_images is None:
                    raise ValueError("a synthetic ratio is relative to real train patches")
                shards = synthetic_share(shards, parts[0].labels, synthetic_ratio)
            parts.extend(shards)
            synthetic_y = np.concatenate([part.labels for part in shards])
            synthetic_counts = {
                int(k): int(v)
                for k, v in zip(*np.unique(synthetic_y, return_counts=True), strict=True)
            }
            logger.info(
                "mapped %d synthetic patches %s of draw %d from %d shards",
                len(synthetic_y),
                synthetic_counts,
                synthetic_draw,
                len(synthetic),
            )
        if not parts:
            raise ValueError("a classifier needs real train patches, synthetic patches, or both")
        # Batches read their rows from the memory maps: the training set is never copied.
        train_x = IndexedImages(parts)
        val_x, val_rows = load_packed(val_images, val_table)
        logger.info("read %d real val patches from %s", len(val_x), val_images)
        trained = train_classifier(
            train_x,
            train_x.labels,
            val_x,
            val_rows["label"].to_numpy(),
            settings,
            resolve_device(device),
            reference_size=n_real,
            state_path=state,
        )
        trained.info["synthetic_per_class"] = synthetic_counts
        trained.info["synthetic_draw"] = synthetic_draw
        trained.info["generator_realization"] = generator_realization
        save_classifier(trained, weights, info)
        history.parent.mkdir(parents=True, exist_ok=True)
        trained.history.to_csv(history, sep="\t", index=False)
        logger.info("wrote %s, %s, %s", weights, info, history)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    shards = sm.input.get("synthetic") or []  # one file comes as a plain string
    main(
        train_images=Path(sm.input.train_images) if sm.input.get("train_images") else None,
        train_table=Path(sm.input.train_table),
        val_images=Path(sm.input.val_images),
        val_table=Path(sm.input.val_table),
        synthetic=[Path(path) for path in ([shards] if isinstance(shards, str) else shards)],
        synthetic_draw=int(sm.params.synthetic_draw),
        generator_realization=int(sm.params.generator_realization),
        settings=TrainSettings(**sm.params.settings),
        synthetic_ratio=sm.params.get("synthetic_ratio"),  # set by the sweep's rule only
        state=Path(sm.params.state),
        device=sm.params.device,
        weights=Path(sm.output.weights),
        info=Path(sm.output.info),
        history=Path(sm.output.history),
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
