# Robustness: test-time perturbations. predict_perturbed is a prediction job: like predict, and
# only like the prediction jobs, it reads the test split (perturbed in memory, never written
# back). STATISTICS_PARAMS: rules/statistics.smk.


rule predict_perturbed:
    input:
        **packed("test"),
        weights=expand(rules.train_classifier.output.weights, arm=ARMS, seed=SEEDS),
        info=expand(rules.train_classifier.output.info, arm=ARMS, seed=SEEDS),
    output:
        predictions="results/robustness/{perturbation}.parquet",
    log:
        "results/logs/predict_perturbed/{perturbation}.log",
    benchmark:
        "results/benchmarks/predict_perturbed/{perturbation}.tsv"
    wildcard_constraints:
        perturbation="|".join(PERTURBATIONS) or "none",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        **retry_resources(mem_mb=3000, runtime=60, gpu=True),
    params:
        code=code_version("predict_perturbed"),
        # (arm, seed) of each weights/info pair, in expand's order.
        classifiers=[[arm, seed] for arm in ARMS for seed in SEEDS],
        strengths=lambda wildcards: config["robustness"]["perturbations"][
            wildcards.perturbation
        ],
        seed=config["robustness"]["seed"],
        batch_size=512,
        device=config["device"],
    script:
        "../workflow_scripts/predict_perturbed.py"


rule robustness_metrics:
    input:
        clean=expand(rules.predict.output.predictions, arm=ARMS, seed=SEEDS),
        perturbed=expand(
            rules.predict_perturbed.output.predictions, perturbation=PERTURBATIONS
        ),
    output:
        table=report(
            "results/metrics/robustness.tsv",
            caption="../report/robustness.rst",
            category="Classification",
            subcategory="Robustness",
        ),
    log:
        "results/logs/robustness_metrics.log",
    localrule: True
    conda:
        "../envs/evaluate.yaml"
    params:
        **STATISTICS_PARAMS,
        code=code_version("robustness_metrics"),
    script:
        "../workflow_scripts/robustness_metrics.py"
