"""Rule sample_dcgan: one shard of synthetic patches of one class from a trained DCGAN."""

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from idc_synth.classifier import resolve_device
from idc_synth.dcgan import generate, load_generator
from idc_synth.runtime import limit_torch_threads, rule_logging
from idc_synth.synthetic import (
    CountPolicy,
    class_targets,
    shard_seed,
    shard_size,
    train_class_counts,
    write_shard,
)

GENERATOR_NAME = "dcgan"


def write_pngs(images: np.ndarray, folder: Path, label: int, shard: int) -> None:
    """Every patch of the shard as a PNG, named so shards can share one inspection folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        Image.fromarray(image).save(folder / f"class{label}_shard{shard:03d}_{index:05d}.png")


def main(
    *,
    weights: Path,
    config: Path,
    split: Path,
    label: int,
    shard: int,
    n_shards: int,
    count: CountPolicy,
    base_seed: int,
    write_png: bool,
    png_dir: Path | None,
    device: str,
    images: Path,
    table: Path,
    threads: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        if not 0 <= shard < n_shards:
            raise ValueError(f"shard {shard} is outside 0..{n_shards - 1}")
        if write_png and png_dir is None:
            raise ValueError("write_png needs a png_dir")
        torch_device = resolve_device(device)
        generator, generator_config = load_generator(weights, config, torch_device)
        trained_on = generator_config["label"]
        if trained_on is not None and trained_on != label:
            raise ValueError(
                f"{weights} is the class-{trained_on} generator, asked for class {label}"
            )
        counts = train_class_counts(pd.read_parquet(split))
        target = class_targets(count, counts)[label]
        size = shard_size(target, n_shards, shard)
        seed = shard_seed(base_seed, GENERATOR_NAME, label, shard)
        logger.info(
            "train counts %s, policy %s: %d class-%d patches in %d shards; shard %d gets %d "
            "(seed %d)",
            counts,
            count,
            target,
            label,
            n_shards,
            shard,
            size,
            seed,
        )
        patches = generate(generator, size, seed, torch_device, label=label)
        images.parent.mkdir(parents=True, exist_ok=True)
        table.parent.mkdir(parents=True, exist_ok=True)
        write_shard(
            patches,
            label=label,
            generator=GENERATOR_NAME,
            seed=seed,
            shard=shard,
            images_path=images,
            table_path=table,
        )
        logger.info("wrote %s and %s", images, table)
        if write_png:
            write_pngs(patches, png_dir, label, shard)
            logger.info("wrote %d PNGs to %s", len(patches), png_dir)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        weights=Path(sm.input.weights),
        config=Path(sm.input.config),
        split=Path(sm.input.split),
        label=int(sm.params.label),
        shard=int(sm.params.shard),
        n_shards=int(sm.params.n_shards),
        count=CountPolicy(**sm.params.count_policy),
        base_seed=int(sm.params.base_seed),
        write_png=bool(sm.params.write_png),
        png_dir=Path(sm.params.png_dir) if sm.params.png_dir else None,
        device=sm.params.device,
        images=Path(sm.output.images),
        table=Path(sm.output.table),
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
