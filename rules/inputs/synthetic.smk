# Input functions of the selection rule (rules/synthetic.smk).


def selection_scorer():
    """The baseline classifier that scores selection pools (synthetic.selection.scorer_seed,
    else the first classifier seed)."""
    seed = config["synthetic"]["selection"]["scorer_seed"]
    job = {"arm": "baseline", "seed": SEEDS[0] if seed is None else seed}
    return {
        "weights": rules.train_classifier.output.weights.format(**job),
        "info": rules.train_classifier.output.info.format(**job),
    }


def get_selection_inputs(wildcards):
    """A selected draw's pool (every shard of its pool draws) and the scoring classifier."""
    generator = Arm.parse(wildcards.selected).generator
    draws = pool_draws(wildcards.draw)
    return {
        "pool": synthetic_shards(generator, "parquet", draws),
        "pool_images": synthetic_shards(generator, "npy", draws),
        **selection_scorer(),
    }
