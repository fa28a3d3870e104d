# Figures: one rule per family, generated from one table, each reading only tables, predictions
# or shards, so a style change (config `figures:`) redraws one cheap figure, never trains or
# scores anything. A family is one FIGURE_TABLE row, one idc_synth.figures.registry row (its
# function and how each named input is read), its function and its caption report/<family>.rst.

# The options every family shares; families add their own keys (FIGURE_TABLE "options").
FIGURE_STYLE = {key: config["figures"][key] for key in ("dpi", "font_size", "colors")}
# Every classifier run as [arm, seed]: the training figure's histories, in this order.
CLASSIFIER_RUNS = [[arm, seed] for arm in ARMS for seed in SEEDS]
# One row per family: when this study draws it ("when", default: always), its named inputs
# (the keywords of its plot function; "<name>_<key>" inputs reach it as one mapping <name>),
# where the HTML report files it, `figures:` options of its own, and settings from other config
# sections it depends on (options and settings are keywords of the plot function too).
FIGURE_TABLE = {
    "metrics": {
        "inputs": {
            "summary_ci": rules.compare_arms.output.summary_ci,
            "classification": rules.collect_metrics.output.classification,
        },
        "category": ("Classification", "Figures"),
    },
    "confusion": {
        "inputs": {"classification": rules.collect_metrics.output.classification},
        "category": ("Classification", "Figures"),
    },
    "curves": {
        "inputs": {
            "predictions": expand(
                rules.predict.output.predictions, arm=ARMS, seed=SEEDS
            )
        },
        "category": ("Classification", "Figures"),
    },
    "samples": {
        "inputs": {
            **{
                f"manifest_{generator}": expand(
                    rules.gather_synthetic.output.manifest, generator=generator
                )[0]
                for generator in generators()
            },
            **packed("train"),
        },
        "category": ("Synthetic images", None),
        "options": ("grid_samples", "sample_seed"),
    },
    "quality": {
        "when": bool(generators()),
        "inputs": {"image_quality": rules.gather_image_quality.output.table},
        "category": ("Synthetic images", None),
    },
    "training": {
        # Classifier histories of every run ("runs": the (arm, seed) of each, in input order),
        # and the losses and snapshot quality of each generator trained.
        "inputs": {
            "histories": [
                expand(rules.train_classifier.output.history, arm=arm, seed=seed)[0]
                for arm, seed in CLASSIFIER_RUNS
            ],
            # keyed "<kind>_<generator>[_<job wildcards>]", e.g. losses_dcgan_class0
            **{
                "_".join([kind, generator, *job.values()]): generator_file(
                    generator, kind, **job
                )
                for generator in generators()
                for job in training_jobs(generator)
                for kind in ("losses", "quality")
            },
        },
        "category": ("Training", None),
        "settings": {"runs": CLASSIFIER_RUNS},
    },
    "closest_pairs": {
        "when": bool(generators()),
        "inputs": {
            f"pairs_{generator}": expand(
                rules.image_quality.output.pairs, candidate=generator
            )[0]
            for generator in generators()
        }
        | {"memorization": rules.gather_image_quality.output.memorization},
        "category": ("Synthetic images", None),
        "options": ("closest_pairs",),
    },
    "per_patient": {
        "inputs": {"per_patient": rules.compare_arms.output.per_patient},
        "category": ("Classification", "Generalization"),
        "settings": {"primary_metric": config["statistics"]["primary_metric"]},
    },
    "reliability": {
        "inputs": {
            "predictions": expand(
                rules.predict.output.predictions, arm=ARMS, seed=SEEDS
            )
        },
        "category": ("Classification", "Calibration"),
        "settings": {"ece_bins": config["statistics"]["ece_bins"]},
    },
    "robustness": {
        "when": bool(PERTURBATIONS),
        "inputs": {"robustness": rules.robustness_metrics.output.table},
        "category": ("Classification", "Robustness"),
    },
    "efficiency": {
        "when": config["sweep"]["enabled"],
        "inputs": {"efficiency": rules.sweep_efficiency.output.table},
        "category": ("Classification", "Data efficiency"),
    },
    "learning_curve": {
        "when": config["sweep"]["enabled"],
        "inputs": {"efficiency": rules.sweep_efficiency.output.table},
        "category": ("Classification", "Data efficiency"),
    },
    "calibration_simulation": {
        "inputs": {"calibration_simulation": rules.calibration_simulation.output.table},
        "category": ("Methods", None),
    },
}

# Every figure this study draws, by family (one rule each; final_targets in common.smk).
FIGURES = {
    family: f"results/figures/{family}.{config['figures']['format']}"
    for family, row in FIGURE_TABLE.items()
    if row.get("when", True)
}


for family, figure in FIGURES.items():
    row = FIGURE_TABLE[family]

    rule:
        name:
            f"plot_{family}"
        input:
            **row["inputs"],
        output:
            figure=report(
                figure,
                caption=f"../report/{family}.rst",
                category=row["category"][0],
                subcategory=row["category"][1],
            ),
        log:
            f"results/logs/figures/{family}.log",
        localrule: True
        conda:
            "../envs/evaluate.yaml"
        params:
            code=code_version("plot_figure"),
            family=family,
            options={
                **FIGURE_STYLE,
                **{key: config["figures"][key] for key in row.get("options", ())},
                **row.get("settings", {}),
            },
        script:
            "../workflow_scripts/plot_figure.py"
