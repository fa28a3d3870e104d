# The data-efficiency sweep (config `sweep:`, off by default): nested shares of the train
# patients x synthetic ratios. A fraction below 1 gets its own packed train patches, generators
# trained on those alone, and draws sampled at the largest ratio; its classifiers take the first
# ratio x real count synthetic patches of each class. Fraction 1 shares the main study's
# generators and real-only classifiers. The jobs reuse the main rules with other paths (each
# generator's sweep_train_* and sweep_sample_* copies live in its rule file).


include: "inputs/sweep.smk"  # its input functions


rule sweep_subset:
    input:
        **packed("train"),
        split=rules.split.output.split,
    output:
        train_images="results/sweep/frac{fraction}/train.npy",
        train_table="results/sweep/frac{fraction}/train.parquet",
        split="results/sweep/frac{fraction}/split.parquet",
        patients="results/sweep/frac{fraction}/patients.txt",
    log:
        "results/logs/sweep/frac{fraction}/subset.log",
    conda:
        "../envs/data.yaml"
    resources:
        **retry_resources(mem_mb=2000, runtime=30),
    params:
        code=code_version("sweep_subset"),
        fraction=lambda wildcards: float(wildcards.fraction),
        seed=SWEEP["seed"],
    script:
        "../workflow_scripts/sweep_subset.py"


SWEEP_CLASSIFIER = (
    "results/sweep/frac{fraction}/classifiers/{arm}/ratio{ratio}/seed{seed}"
)


use rule train_classifier as sweep_train_classifier with:
    input:
        unpack(get_sweep_classifier_inputs),
    output:
        weights=f"{SWEEP_CLASSIFIER}/model.safetensors",
        info=f"{SWEEP_CLASSIFIER}/info.json",
        history=f"{SWEEP_CLASSIFIER}/history.tsv",
    log:
        "results/logs/sweep/frac{fraction}/train_classifier/{arm}/ratio{ratio}/seed{seed}.log",
    benchmark:
        "results/benchmarks/sweep_train_classifier/frac{fraction}/{arm}/ratio{ratio}/seed{seed}.tsv"
    params:
        state=state_path(
            "sweep/frac{fraction}/classifiers/{arm}/ratio{ratio}/seed{seed}",
            "train_classifier",
        ),
        synthetic_ratio=lambda wildcards: float(wildcards.ratio),
        # a fraction's draws all sample its one generator realization
        generator_realization=lambda wildcards: -1 if wildcards.arm == "baseline" else 0,


use rule predict as sweep_predict with:
    input:
        **packed("test"),
        weights=rules.sweep_train_classifier.output.weights,
        info=rules.sweep_train_classifier.output.info,
    output:
        predictions="results/sweep/frac{fraction}/predictions/{arm}/ratio{ratio}/seed{seed}.parquet",
        metrics="results/sweep/frac{fraction}/metrics/{arm}/ratio{ratio}/seed{seed}.tsv",
    log:
        "results/logs/sweep/frac{fraction}/predict/{arm}/ratio{ratio}/seed{seed}.log",
    benchmark:
        "results/benchmarks/sweep_predict/frac{fraction}/{arm}/ratio{ratio}/seed{seed}.tsv"


rule sweep_efficiency:
    input:
        predictions=[sweep_predictions(*cell) for cell in sweep_cells()],
        train_tables=[
            sweep_train(fraction)["train_table"] for _, fraction, _, _ in sweep_cells()
        ],
    output:
        table=report(
            "results/metrics/efficiency.tsv",
            caption="../report/efficiency.rst",
            category="Classification",
            subcategory="Data efficiency",
        ),
        contrasts=report(
            "results/metrics/efficiency_contrasts.tsv",
            caption="../report/efficiency.rst",
            category="Classification",
            subcategory="Data efficiency",
        ),
        equivalents=report(
            "results/metrics/efficiency_equivalents.tsv",
            caption="../report/efficiency.rst",
            category="Classification",
            subcategory="Data efficiency",
        ),
    log:
        "results/logs/sweep/efficiency.log",
    benchmark:
        "results/benchmarks/sweep_efficiency.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 1
    resources:
        **retry_resources(mem_mb=4000, runtime=60),
    params:
        code=code_version("sweep_efficiency"),
        cells=[
            {
                "arm": arm,
                "real_fraction": float(fraction),
                "synthetic_ratio": float(ratio),
            }
            for arm, fraction, ratio, _ in sweep_cells()
        ],
        confidence_level=config["statistics"]["confidence_level"],
        alpha=config["statistics"]["alpha"],
        primary_metric=config["statistics"]["primary_metric"],
    script:
        "../workflow_scripts/sweep_efficiency.py"
