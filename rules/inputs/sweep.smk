# Input functions and cell lists of the data-efficiency sweep (rules/sweep.smk).


def sweep_folder(fraction):
    return f"results/sweep/frac{fraction}"


def get_sweep_classifier_inputs(wildcards):
    """Real val, the fraction's real train, and for a generator cell the shards of the seed's
    draw sampled for this fraction."""
    inputs = {**packed("val"), **sweep_train(wildcards.fraction)}
    if wildcards.arm != "baseline":
        draw = [classifier_draw(wildcards)]
        folder = f"{sweep_folder(wildcards.fraction)}/synthetic"
        inputs["synthetic"] = synthetic_shards(wildcards.arm, "parquet", draw, folder)
        inputs["synthetic_images"] = synthetic_shards(
            wildcards.arm, "npy", draw, folder
        )
    return inputs


def sweep_cells():
    """(arm, fraction, ratio, seed) of every classifier in the map: each fraction's real-only
    classifiers and each generator at each synthetic ratio."""
    cells = [("baseline", fraction, "0") for fraction in SWEEP_FRACTIONS]
    cells += [
        (generator, fraction, ratio)
        for generator in generators()
        for fraction in SWEEP_FRACTIONS
        for ratio in SWEEP_SYNTHETIC_RATIOS
    ]
    return [(*cell, seed) for cell in cells for seed in SEEDS]


def sweep_trained_cells():
    """The cells the sweep trains itself: all but fraction 1's real-only classifiers."""
    return [
        (arm, fraction, ratio, seed)
        for arm, fraction, ratio, seed in sweep_cells()
        if arm != "baseline" or float(fraction) != 1
    ]


def sweep_benchmarks():
    """The benchmark file of every job the sweep adds (the cost table's sweep rows)."""
    subsets = [fraction for fraction in SWEEP_FRACTIONS if float(fraction) != 1]
    files = []
    for generator in generators():
        trained = getattr(rules, f"sweep_train_{generator}").benchmark
        files += [
            trained.format(fraction=fraction, **job)
            for fraction in subsets
            for job in training_jobs(generator)
        ]
    if SWEEP_SYNTHETIC_RATIOS:
        for generator in generators():
            files += expand(
                getattr(rules, f"sweep_sample_{generator}").benchmark,
                fraction=SWEEP_FRACTIONS,
                draw=synthetic_draws(),
                shard=range(config["synthetic"]["shards_per_class"]),
            )
    for trained in (rules.sweep_train_classifier, rules.sweep_predict):
        files += [
            trained.benchmark.format(arm=arm, fraction=fraction, ratio=ratio, seed=seed)
            for arm, fraction, ratio, seed in sweep_trained_cells()
        ]
    return [*files, rules.sweep_efficiency.benchmark]


def sweep_predictions(arm, fraction, ratio, seed):
    """A cell's test predictions: the main study's for the real-only classifier of fraction 1."""
    if arm == "baseline" and float(fraction) == 1:
        return rules.predict.output.predictions.format(arm=arm, seed=seed)
    return rules.sweep_predict.output.predictions.format(
        arm=arm, fraction=fraction, ratio=ratio, seed=seed
    )
