# Classifier stages for every arm and seed: train on the train split (plus the arm's synthetic
# patches), pick the epoch on val, predict the test split.


rule train_classifier:
    input:
        **packed("train"),
        **packed("val"),
    output:
        weights="results/classifiers/{arm}/seed{seed}/model.safetensors",
        info="results/classifiers/{arm}/seed{seed}/info.json",
        history="results/classifiers/{arm}/seed{seed}/history.tsv",
    params:
        settings=classifier_settings,
        device=config["classifier"]["device"],
    threads: 2
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
    log:
        "results/logs/train_classifier/{arm}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_classifier/{arm}/seed{seed}.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/train_classifier.py"


rule predict:
    input:
        weights="results/classifiers/{arm}/seed{seed}/model.safetensors",
        info="results/classifiers/{arm}/seed{seed}/info.json",
        **packed("test"),
    output:
        predictions="results/predictions/{arm}/seed{seed}.parquet",
    params:
        arm=lambda wildcards: wildcards.arm,
        seed=lambda wildcards: int(wildcards.seed),
        batch_size=512,
        device=config["classifier"]["device"],
    threads: 2
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=lambda wildcards, attempt: 30 * attempt,
    log:
        "results/logs/predict/{arm}/seed{seed}.log",
    benchmark:
        "results/benchmarks/predict/{arm}/seed{seed}.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/predict_test.py"
