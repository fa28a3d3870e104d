# Figures: one rule per family, generated from one table, each reading only tables, predictions
# or shards, so a style change (config `figures:`) redraws one cheap figure, never trains or
# scores anything. Which families exist is decided in common.smk (FIGURES).

# The options every family shares; families add their own keys (FIGURE_TABLE "options").
FIGURE_STYLE = {key: config["figures"][key] for key in ("dpi", "font_size", "colors")}
# One row per family: named inputs, where the HTML report files it, `figures:` options of its
# own, and settings from other config sections it depends on.
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
        "inputs": {"image_quality": rules.gather_image_quality.output.table},
        "category": ("Synthetic images", None),
    },
    "training": {
        # Classifier histories of every arm and seed, and the losses and snapshot quality of each
        # generator trained.
        "inputs": {
            **{
                f"history_{arm}_seed{seed}": f"results/classifiers/{arm}/seed{seed}/history.tsv"
                for arm in ARMS
                for seed in SEEDS
            },
            **{
                f"{kind}_dcgan_{model}": f"results/models/dcgan/{model}/{kind}.tsv"
                for model in sorted({dcgan_model(label) for label in (0, 1)})
                for kind in ("losses", "quality")
                if "dcgan" in generators()
            },
            **(
                {
                    "losses_diffusion": rules.train_diffusion.output.losses,
                    "quality_diffusion": rules.train_diffusion.output.quality,
                }
                if "diffusion" in generators()
                else {}
            ),
        },
        "category": ("Training", None),
    },
    "closest_pairs": {
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
        "inputs": {"robustness": rules.robustness_metrics.output.table},
        "category": ("Classification", "Robustness"),
    },
    "efficiency": {
        "inputs": {"efficiency": rules.sweep_efficiency.output.table},
        "category": ("Classification", "Data efficiency"),
    },
    "learning_curve": {
        "inputs": {"efficiency": rules.sweep_efficiency.output.table},
        "category": ("Classification", "Data efficiency"),
    },
    "calibration_simulation": {
        "inputs": {"calibration_simulation": rules.calibration_simulation.output.table},
        "category": ("Methods", None),
    },
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
