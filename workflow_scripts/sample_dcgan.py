"""Rule sample_dcgan: one shard of one draw of synthetic patches from a DCGAN, every class in
one job (the i-th label's patches from the i-th generator into the i-th images/table pair)."""

from pathlib import Path

import pandas as pd

from idc_synth.dcgan.model import STANDING_BATCHES, generate, load_generator, standing_statistics
from idc_synth.runtime import limit_torch_threads, resolve_device, rule_logging
from idc_synth.synthetic import CountPolicy, plan_shards


def main(
    *,
    labels: list[int],
    weights: list[Path],
    configs: list[Path],
    split: Path,
    shard: int,
    n_shards: int,
    count: CountPolicy,
    base_seed: int,
    device: str,
    images: list[Path],
    tables: list[Path],
    threads: int,
    log: Path | None,
    draw: int = 0,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        torch_device = resolve_device(device)
        plans = plan_shards(
            pd.read_parquet(split),
            count,
            generator="dcgan",
            labels=labels,
            shard=shard,
            draw=draw,
            n_shards=n_shards,
            base_seed=base_seed,
        )
        for plan, label_weights, config, images_path, table_path in zip(
            plans, weights, configs, images, tables, strict=True
        ):
            label = plan.label
            logger.info(plan.describe())
            # Loaded afresh per class: standing statistics below reset its batch norm.
            generator, generator_config = load_generator(label_weights, config, torch_device)
            trained_on = generator_config["label"]
            if trained_on is not None and trained_on != label:
                raise ValueError(
                    f"{label_weights} is the class-{trained_on} generator, asked for class {label}"
                )
            # Batch norm as the discriminator saw it: standing statistics of the final
            # generator, from the training seed and batch size, so every shard uses the same.
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
            plan.write(patches, images_path, table_path)
            logger.info("wrote %s and %s", images_path, table_path)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        labels=[int(label) for label in sm.params.labels],
        weights=[Path(path) for path in sm.input.weights],
        configs=[Path(path) for path in sm.input.configs],
        split=Path(sm.input.split),
        shard=int(sm.params.shard),
        draw=int(sm.params.draw),
        n_shards=int(sm.params.n_shards),
        count=CountPolicy(**sm.params.count_policy),
        base_seed=int(sm.params.base_seed),
        device=sm.params.device,
        images=[Path(path) for path in sm.output.images],
        tables=[Path(path) for path in sm.output.tables],
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
