# Input functions of the report rules (rules/report.smk): the cost table's.


def classifier_jobs():
    """(arm, seed) of every classifier the study trains: the arms' seeds, the train-on-synthetic
    seeds that are not skipped, and the baseline whose embedding image quality uses."""
    jobs = [(arm, seed) for arm in ARMS for seed in SEEDS]
    jobs += [
        (arm, seed)
        for arm in TSTR_ARMS
        if arm not in TSTR_SKIPPED
        for seed in TSTR_SEEDS
    ]
    if generators():
        jobs.append(("baseline", config["quality"]["classifier_seed"]))
    return list(dict.fromkeys(jobs))


def get_cost_inputs(wildcards):
    """The benchmark file of every heavy job in the study's DAG (declared, so the cost table
    reads no file the DAG does not make), and every classifier's info.json (its steps).
    """
    classifiers = classifier_jobs()
    arms, seeds = [arm for arm, _ in classifiers], [seed for _, seed in classifiers]
    files = [
        rules.manifest.benchmark,
        *expand(
            rules.pack.benchmark,
            split=[*SPLITS, *(["holdout"] if generators() else [])],
        ),
        *expand(rules.train_classifier.benchmark, zip, arm=arms, seed=seeds),
        *expand(rules.predict.benchmark, zip, arm=arms, seed=seeds),
        rules.compare_arms.benchmark,
        rules.calibration_simulation.benchmark,
    ]
    if config["data"]["source"] == "demo":
        files.append(rules.make_demo_data.benchmark)
    further = generator_realizations()[1:]
    for generator in generators():
        jobs = training_jobs(generator)
        trained = getattr(rules, f"train_{generator}").benchmark
        files += [trained.format(**job) for job in jobs]
        trained = getattr(rules, f"train_{generator}_realization").benchmark
        files += [trained.format(**job, realization=r) for job in jobs for r in further]
    for generator in generators():
        files += expand(
            getattr(rules, f"sample_{generator}").benchmark,
            draw=synthetic_draws(),
            shard=range(config["synthetic"]["shards_per_class"]),
        )
    if generators():
        files.append(rules.quality_reference.benchmark)
        files += expand(rules.image_quality.benchmark, candidate=QUALITY_CANDIDATES)
    files += expand(rules.predict_perturbed.benchmark, perturbation=PERTURBATIONS)
    if config["sweep"]["enabled"]:
        files += sweep_benchmarks()
    selection, pools = selection_benchmarks()
    return {
        "benchmarks": files + selection,
        "pool_benchmarks": pools,
        "infos": expand(rules.train_classifier.output.info, zip, arm=arms, seed=seeds),
    }


def selection_benchmarks():
    """The selected arms' extra jobs: (each selection and an extra scoring classifier, the
    sampling of each pool's further draws)."""
    if not SELECTED_SETS:
        return [], []
    files = expand(
        rules.select_synthetic.benchmark, selected=SELECTED_SETS, draw=synthetic_draws()
    )
    scorer = config["synthetic"]["selection"]["scorer_seed"]
    if scorer is not None and scorer not in SEEDS:
        files.append(
            rules.train_classifier.benchmark.format(arm="baseline", seed=scorer)
        )
    pools = {
        getattr(rules, f"sample_{Arm.parse(name).generator}").benchmark.format(
            draw=extra, shard=shard
        )
        for name in SELECTED_SETS
        for draw in synthetic_draws()
        for extra in pool_draws(draw)[1:]
        for shard in range(config["synthetic"]["shards_per_class"])
    }
    return files, sorted(pools)
