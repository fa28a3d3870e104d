"""Rule select_synthetic: a selected arm's draw, kept from its generator's pool of draws by a
score of the scoring classifier (idc_synth.selection), written as shards like a sampled draw's,
with every pool patch's score beside them."""

from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.arms import SELECTIONS
from idc_synth.classifier import load_classifier, predict_probabilities
from idc_synth.pack import load_packed
from idc_synth.quality.features import classifier_features
from idc_synth.quality.subsets import subsample
from idc_synth.runtime import limit_torch_threads, resolve_device, rule_logging
from idc_synth.selection import score_pool, selected_rows
from idc_synth.synthetic import load_patches, shard_size, write_shard


def _pool(tables: list[Path]) -> tuple[np.ndarray, pd.DataFrame]:
    """Every patch of the pool's shards, and their rows (draw, shard, index, label, seed)."""
    parts = [(pd.read_parquet(path), path.parent) for path in tables]
    images = [load_patches(table, root)[0] for table, root in parts]
    return np.concatenate(images), pd.concat([table for table, _ in parts], ignore_index=True)


def main(
    *,
    pool: list[Path],
    weights: Path,
    info: Path,
    train_images: Path,
    train_table: Path,
    set_name: str,
    selection: str,
    draw: int,
    labels: list[int],
    n_shards: int,
    k: int,
    reference_patches: int,
    seed: int,
    device: str,
    images: list[Path],
    tables: list[Path],
    scores: Path,
    threads: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        torch_device = resolve_device(device)
        model, _ = load_classifier(weights, info, torch_device)
        pool_images, pool_table = _pool(pool)
        logger.info(
            "%s draw %d: scoring %d pool patches of draws %s by %s (classifier %s)",
            set_name,
            draw,
            len(pool_table),
            sorted(set(pool_table["draw"])),
            SELECTIONS[selection],
            weights,
        )
        real_images, real_table = load_packed(train_images, train_table)
        real_labels = real_table["label"].to_numpy()

        def real_features(label: int) -> np.ndarray:
            rows = np.flatnonzero(real_labels == label)
            rows = subsample(rows, reference_patches, seed, "selection", label)
            return classifier_features(model, real_images, rows, torch_device)

        pool_scores = score_pool(
            SELECTIONS[selection],
            pool_table["label"].to_numpy(),
            lambda: predict_probabilities(model, pool_images, 512, torch_device),
            lambda: classifier_features(model, pool_images, None, torch_device),
            real_features,
            k,
        )
        scored = selected_rows(pool_table, pool_scores, draw)
        scores.parent.mkdir(parents=True, exist_ok=True)
        scored.drop(columns="images").to_parquet(scores, index=False)
        places = iter(zip(images, tables, strict=True))
        for label in labels:
            kept = scored.index[scored["kept"] & (scored["label"] == label)].to_numpy()
            logger.info(
                "class %d: kept %d of %d, scores %.3g-%.3g (kept from %.3g)",
                label,
                len(kept),
                int((scored["label"] == label).sum()),
                scored.loc[scored["label"] == label, "score"].min(),
                scored.loc[scored["label"] == label, "score"].max(),
                scored.loc[kept, "score"].min() if len(kept) else np.nan,
            )
            start = 0
            for shard in range(n_shards):
                rows = kept[start : start + shard_size(len(kept), n_shards, shard)]
                start += len(rows)
                images_path, table_path = next(places)
                images_path.parent.mkdir(parents=True, exist_ok=True)
                write_shard(
                    pool_images[rows],
                    label=label,
                    generator=set_name,
                    seed=scored.loc[rows, "seed"].to_numpy(),
                    shard=shard,
                    draw=draw,
                    images_path=images_path,
                    table_path=table_path,
                )
        logger.info("wrote %s and %d shards", scores, len(tables))


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        pool=[Path(path) for path in sm.input.pool],
        weights=Path(sm.input.weights),
        info=Path(sm.input.info),
        train_images=Path(sm.input.train_images),
        train_table=Path(sm.input.train_table),
        set_name=sm.wildcards.selected,
        images=[Path(path) for path in sm.output.images],
        tables=[Path(path) for path in sm.output.tables],
        scores=Path(sm.output.scores),
        threads=sm.threads,
        log=Path(sm.log[0]),
        selection=sm.params.selection,
        draw=int(sm.params.draw),
        labels=list(sm.params.labels),
        n_shards=int(sm.params.n_shards),
        k=int(sm.params.k),
        reference_patches=int(sm.params.reference_patches),
        seed=int(sm.params.seed),
        device=sm.params.device,
    )
