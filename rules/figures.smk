# Figures: one rule per family, each reading only tables, predictions or shards, so a style
# change (config `figures:`) redraws one cheap figure, never trains or scores anything.


localrules:
    plot_metrics,
    plot_confusion,
    plot_curves,
    plot_samples,
    plot_quality,
    plot_training,
    plot_closest_pairs,


# Every figure family's file; the image-quality families only when a generator runs.
FIGURES = {
    name: f"results/figures/{name}.{config['figures']['format']}"
    for name in (
        "metrics",
        "confusion",
        "curves",
        "samples",
        "training",
        *(("quality", "closest_pairs") if generators() else ()),
    )
}
# The options every family shares; families add their own keys in params.
FIGURE_STYLE = {key: config["figures"][key] for key in ("dpi", "font_size", "colors")}
# Classifier histories of every arm and seed, and the losses of each generator trained.
TRAINING_CURVE_INPUTS = {
    **{
        f"history_{arm}_seed{seed}": f"results/classifiers/{arm}/seed{seed}/history.tsv"
        for arm in ARMS
        for seed in SEEDS
    },
    **{
        f"losses_dcgan_{model}": f"results/models/dcgan/{model}/losses.tsv"
        for model in sorted({dcgan_model(label) for label in (0, 1)})
        if "dcgan" in ARMS
    },
    **(
        {"losses_diffusion": "results/models/diffusion/losses.tsv"}
        if "diffusion" in ARMS
        else {}
    ),
}


rule plot_metrics:
    input:
        summary_ci="results/metrics/summary_ci.tsv",
        classification="results/metrics/classification.tsv",
    output:
        figure=report(
            FIGURES["metrics"],
            caption="../report/metrics.rst",
            category="Classification",
            subcategory="Figures",
        ),
    log:
        "results/logs/figures/metrics.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        family="metrics",
        options=FIGURE_STYLE,
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_confusion:
    input:
        classification="results/metrics/classification.tsv",
    output:
        figure=report(
            FIGURES["confusion"],
            caption="../report/confusion.rst",
            category="Classification",
            subcategory="Figures",
        ),
    log:
        "results/logs/figures/confusion.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        family="confusion",
        options=FIGURE_STYLE,
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_curves:
    input:
        predictions=expand(
            "results/predictions/{arm}/seed{seed}.parquet", arm=ARMS, seed=SEEDS
        ),
    output:
        figure=report(
            FIGURES["curves"],
            caption="../report/curves.rst",
            category="Classification",
            subcategory="Figures",
        ),
    log:
        "results/logs/figures/curves.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        family="curves",
        options=FIGURE_STYLE,
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_samples:
    input:
        **{
            f"manifest_{generator}": f"results/synthetic/{generator}/manifest.parquet"
            for generator in generators()
        },
        train_images="results/data/packed/train.npy",
        train_table="results/data/packed/train.parquet",
    output:
        figure=report(
            FIGURES["samples"],
            caption="../report/samples.rst",
            category="Synthetic images",
        ),
    log:
        "results/logs/figures/samples.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        family="samples",
        options={
            **FIGURE_STYLE,
            "grid_samples": config["figures"]["grid_samples"],
            "sample_seed": config["figures"]["sample_seed"],
        },
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_quality:
    input:
        image_quality="results/metrics/image_quality.tsv",
    output:
        figure=report(
            FIGURES["quality"],
            caption="../report/quality.rst",
            category="Synthetic images",
        ),
    log:
        "results/logs/figures/quality.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        family="quality",
        options=FIGURE_STYLE,
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_training:
    input:
        **TRAINING_CURVE_INPUTS,
    output:
        figure=report(
            FIGURES["training"],
            caption="../report/training.rst",
            category="Training",
        ),
    log:
        "results/logs/figures/training.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        family="training",
        options=FIGURE_STYLE,
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_closest_pairs:
    input:
        **{
            f"pairs_{generator}": f"results/metrics/quality/{generator}_closest_pairs.npz"
            for generator in generators()
        },
    output:
        figure=report(
            FIGURES["closest_pairs"],
            caption="../report/closest_pairs.rst",
            category="Synthetic images",
        ),
    log:
        "results/logs/figures/closest_pairs.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        family="closest_pairs",
        options={
            **FIGURE_STYLE,
            "closest_pairs": config["figures"]["closest_pairs"],
        },
    script:
        "../workflow_scripts/plot_figure.py"
