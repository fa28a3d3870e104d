"""Rule sample_dcgan: one shard of one draw of synthetic patches of one class from a DCGAN."""

from pathlib import Path

import pandas as pd

from idc_synth.dcgan.model import STANDING_BATCHES, generate, load_generator, standing_statistics
from idc_synth.runtime import limit_torch_threads, resolve_device, rule_logging
from idc_synth.synthetic import CountPolicy, plan_shard


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
    device: str,
    images: Path,
    table: Path,
    threads: int,
    log: Path | None,
    draw: int = 0,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        plan = plan_shard(
            pd.read_parquet(split),
            count,
            generator="dcgan",
            label=label,
            shard=shard,
            draw=draw,
            n_shards=n_shards,
            base_seed=base_seed,
        )
        logger.info(plan.describe())
        torch_device = resolve_device(device)
        generator, generator_config = load_generator(weights, config, torch_device)
        trained_on = generator_config["label"]
        if trained_on is not None and trained_on != label:
            raise ValueError(
                f"{weights} is the class-{trained_on} generator, asked for class {label}"
            )
        # Batch norm as the discriminator saw it: standing statistics of the final generator,
        # from the training seed and batch size, so every shard uses the same ones.
        settings = generator_config["settings"]
        standing_statistics(
            generator,
            settings["seed"],
            settings["batch_size"],
            torch_device,
            class_weights=[plan.train_counts[c] for c in sorted(plan.train_counts)],
        )
        logger.info("batch norm: standing statistics of %d noise batches", STANDING_BATCHES)
        patches = generate(generator, plan.size, plan.seed, torch_device, label=label)
        plan.write(patches, images, table)
        logger.info("wrote %s and %s", images, table)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        weights=Path(sm.input.weights),
        config=Path(sm.input.config),
        split=Path(sm.input.split),
        label=int(sm.params.label),
        shard=int(sm.params.shard),
        draw=int(sm.params.draw),
        n_shards=int(sm.params.n_shards),
        count=CountPolicy(**sm.params.count_policy),
        base_seed=int(sm.params.base_seed),
        device=sm.params.device,
        images=Path(sm.output.images),
        table=Path(sm.output.table),
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
