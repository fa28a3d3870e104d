# Evaluation: the per-seed classification metrics (written by predict) gathered into one tidy
# table per question by one job: the arms (classification.tsv) and train-on-synthetic,
# test-on-real (tstr.tsv: ROC AUC first, next to the real-trained baseline; an arm whose
# synthetic set lacks a class is a skipped row).


localrules:
    collect_metrics,


rule collect_metrics:
    input:
        metrics=expand(rules.predict.output.metrics, arm=ARMS, seed=SEEDS),
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
        classification=report(
            "results/metrics/classification.tsv",
            caption="../report/classification.rst",
            category="Classification",
            subcategory="Metrics",
        ),
        tstr=report(
            "results/metrics/tstr.tsv",
            caption="../report/tstr.rst",
            category="Synthetic images",
        ),
    log:
        "results/logs/collect_metrics.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        code=code_version("collect_metrics"),
        skipped=TSTR_SKIPPED,
    script:
        "../workflow_scripts/collect_metrics.py"
