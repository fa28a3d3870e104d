# Classifier stages for every arm and seed: train on the train split (plus the arm's synthetic
# draw for that seed) within the step budget, pick the period on val, predict the test split and
# score those predictions (one job: scoring alone would not pay for its own Python start).


include: "inputs/classifier.smk"  # its input functions


rule train_classifier:
    input:
        unpack(get_classifier_inputs),
    output:
        weights="results/classifiers/{arm}/seed{seed}/model.safetensors",
        info="results/classifiers/{arm}/seed{seed}/info.json",
        history="results/classifiers/{arm}/seed{seed}/history.tsv",
    log:
        "results/logs/train_classifier/{arm}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_classifier/{arm}/seed{seed}.tsv"
    retries: 2
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        **retry_resources(mem_mb=4000, runtime=120, gpu=True),
    params:
        settings=classifier_settings,
        synthetic_draw=classifier_draw,
        generator_realization=classifier_realization,
        # undeclared: a killed or preempted job resumes from its last period (retries)
        state=state_path("classifiers/{arm}/seed{seed}", "train_classifier"),
        device=config["device"],
    script:
        "../workflow_scripts/train_classifier.py"


rule predict:
    input:
        **packed("test"),
        weights=rules.train_classifier.output.weights,
        info=rules.train_classifier.output.info,
    output:
        predictions="results/predictions/{arm}/seed{seed}.parquet",
        metrics="results/metrics/per_seed/{arm}/seed{seed}.tsv",
    log:
        "results/logs/predict/{arm}/seed{seed}.log",
    benchmark:
        "results/benchmarks/predict/{arm}/seed{seed}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        **retry_resources(mem_mb=2000, runtime=30, gpu=True),
    params:
        arm=lambda wildcards: wildcards.arm,
        seed=lambda wildcards: int(wildcards.seed),
        batch_size=512,
        device=config["device"],
        code=code_version("predict"),
    script:
        "../workflow_scripts/predict.py"
