"""Rule sample_diffusion: one shard of one draw of synthetic patches of one class (diffusion)."""

from pathlib import Path

import pandas as pd

from idc_synth.diffusion.sampling import empty_patches, load_sampler
from idc_synth.diffusion.settings import DiffusionSettings
from idc_synth.diffusion.training import make_accelerator
from idc_synth.runtime import limit_torch_threads, rule_logging
from idc_synth.synthetic import CountPolicy, plan_shard


def main(
    *,
    model: Path,
    split: Path,
    settings: DiffusionSettings,
    label: int,
    shard: int,
    n_shards: int,
    count: CountPolicy,
    base_seed: int,
    images: Path,
    table: Path,
    device: str,
    threads: int,
    log: Path | None,
    draw: int = 0,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        plan = plan_shard(
            pd.read_parquet(split),
            count,
            generator="diffusion",
            label=label,
            shard=shard,
            draw=draw,
            n_shards=n_shards,
            base_seed=base_seed,
        )
        logger.info(plan.describe())
        if plan.size == 0:
            patches = empty_patches()
        else:
            sampler = load_sampler(model, settings, make_accelerator(settings, device))
            patches = sampler.sample(label, plan.size, plan.seed)
        plan.write(patches, images, table)
        logger.info("read %s, %s; wrote %s, %s", model, split, images, table)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        model=Path(sm.input.model),
        split=Path(sm.input.split),
        settings=DiffusionSettings(**sm.params.settings),
        label=int(sm.params.label),
        shard=int(sm.params.shard),
        draw=int(sm.params.draw),
        n_shards=int(sm.params.n_shards),
        count=CountPolicy(**sm.params.count_policy),
        base_seed=int(sm.params.base_seed),
        images=Path(sm.output.images),
        table=Path(sm.output.table),
        device=sm.params.device,
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
