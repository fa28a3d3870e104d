# Input functions and settings of the classifier rules (rules/classifier.smk).


def classifier_settings(wildcards):
    """Training settings for one arm and seed, as TrainSettings fields."""
    settings = {
        key: config["classifier"][key]
        for key in (
            "arch",
            "max_epochs",
            "batch_size",
            "learning_rate",
            "weight_decay",
            "patience",
            "threshold",
            "budget",
            "period_steps",
        )
    }
    return {
        **settings,
        **classic_settings(Arm.parse(wildcards.arm).classic),
        "seed": int(wildcards.seed),
    }


def classic_settings(classic):
    """The TrainSettings fields of a classic augmentation (none for the others)."""
    augmentation = config["augmentation"]
    return {
        "stain": {"stain_strength": augmentation["stain_strength"]},
        "rebalance": {"balance_classes": True},
        "mixup": {"mixup_alpha": augmentation["mixup_alpha"]},
    }.get(classic, {})


def get_classifier_inputs(wildcards):
    """Real val for every arm; real train unless the arm is synthetic-only (which still reads
    the real train table: it sets the step budget); the shards of the arm's synthetic draw for
    every arm but the baseline (a selected arm's: those its selection kept)."""
    inputs = packed("val")
    arm = Arm.parse(wildcards.arm)
    if arm.synthetic_only:
        inputs["train_table"] = packed("train")["train_table"]
    else:
        inputs.update(packed("train"))
    if arm.generator is not None:
        source = arm.name if arm.selection else arm.generator
        draw = [classifier_draw(wildcards)]
        inputs["synthetic"] = synthetic_shards(source, "parquet", draw)
        inputs["synthetic_images"] = synthetic_shards(source, "npy", draw)
    return inputs


def classifier_realization(wildcards):
    """The generator realization behind a classifier's synthetic draw; -1 for the baseline."""
    draw = classifier_draw(wildcards)
    return -1 if draw < 0 else generator_realization(draw)
