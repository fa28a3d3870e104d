# Evaluation: the per-seed classification metrics (written by predict), gathered into one tidy table per question:
# the arms (classification.tsv) and train-on-synthetic, test-on-real (tstr.tsv: ROC AUC first,
# next to the real-trained baseline; an arm whose synthetic set lacks a class is a skipped row).


localrules:
    collect_metrics,
    collect_tstr_metrics,


rule collect_metrics:
    input:
        metrics=expand(rules.predict.output.metrics, arm=ARMS, seed=SEEDS),
    output:
        table="results/metrics/classification.tsv",
    log:
        "results/logs/collect_metrics.log",
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/collect_metrics.py"


rule collect_tstr_metrics:
    input:
        tstr=expand(
            rules.predict.output.metrics,
            arm=[arm for arm in TSTR_ARMS if arm not in TSTR_SKIPPED],
            seed=TSTR_SEEDS,
        ),
        baseline=expand(
            rules.predict.output.metrics,
            arm=[arm for arm in ARMS if arm == "baseline"],
            seed=SEEDS,
        ),
    output:
        table="results/metrics/tstr.tsv",
    log:
        "results/logs/collect_tstr_metrics.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        skipped=TSTR_SKIPPED,
    script:
        "../workflow_scripts/collect_metrics.py"
