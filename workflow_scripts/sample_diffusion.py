"""Rule sample_diffusion: one shard of one draw of synthetic patches from the diffusion model,
every class in one job (the i-th label's patches into the i-th images/table pair): the model
loads once."""

from pathlib import Path

import pandas as pd

from idc_synth.diffusion.sampling import empty_patches, load_sampler
from idc_synth.diffusion.settings import DiffusionSettings
from idc_synth.diffusion.training import make_accelerator
from idc_synth.runtime import limit_torch_threads, rule_logging
from idc_synth.synthetic import CountPolicy, plan_shards


def main(
    *,
    model: Path,
    split: Path,
    settings: DiffusionSettings,
    labels: list[int],
    shard: int,
    n_shards: int,
    count: CountPolicy,
    base_seed: int,
    images: list[Path],
    tables: list[Path],
    device: str,
    threads: int,
    log: Path | None,
    draw: int = 0,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        plans = plan_shards(
            pd.read_parquet(split),
            count,
            generator="diffusion",
            labels=labels,
            shard=shard,
            draw=draw,
            n_shards=n_shards,
            base_seed=base_seed,
        )
        sampler = None  # loaded on the first class with patches to make
        for plan, images_path, table_path in zip(plans, images, tables, strict=True):
            logger.info(plan.describe())
            if plan.size == 0:
                patches = empty_patches()
            else:
                # Each call seeds its own noise generator: a class's patches do not depend on
                # the classes sampled before it in this job.
                sampler = sampler or load_sampler(
                    model, settings, make_accelerator(settings, device)
                )
                patches = sampler.sample(plan.label, plan.size, plan.seed)
            plan.write(patches, images_path, table_path)
            logger.info("read %s, %s; wrote %s, %s", model, split, images_path, table_path)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        model=Path(sm.input.model),
        split=Path(sm.input.split),
        settings=DiffusionSettings(**sm.params.settings),
        labels=[int(label) for label in sm.params.labels],
        shard=int(sm.params.shard),
        draw=int(sm.params.draw),
        n_shards=int(sm.params.n_shards),
        count=CountPolicy(**sm.params.count_policy),
        base_seed=int(sm.params.base_seed),
        images=[Path(path) for path in sm.output.images],
        tables=[Path(path) for path in sm.output.tables],
        device=sm.params.device,
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
