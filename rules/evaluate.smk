# Evaluation: per-seed classification metrics, gathered into one tidy table per question:
# the arms (classification.tsv) and train-on-synthetic, test-on-real (tstr.tsv: ROC AUC first,
# next to the real-trained baseline; an arm whose synthetic set lacks a class is a skipped row).


localrules:
    score_predictions,
    collect_metrics,
    collect_tstr_metrics,


rule score_predictions:
    input:
        predictions="results/predictions/{arm}/seed{seed}.parquet",
    output:
        metrics="results/metrics/per_seed/{arm}/seed{seed}.tsv",
    log:
        "results/logs/score_predictions/{arm}/seed{seed}.log",
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/score_predictions.py"


rule collect_metrics:
    input:
        metrics=expand(
            "results/metrics/per_seed/{arm}/seed{seed}.tsv", arm=ARMS, seed=SEEDS
        ),
    output:
        table="results/metrics/classification.tsv",
    log:
        "results/logs/collect_metrics.log",
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/collect_metrics.py"


def tstr_skip_reason():
    """Why no synthetic-only classifier can be trained under synthetic.count, or None: it
    needs synthetic patches of both classes."""
    count = config["synthetic"]["count"]
    if count["mode"] == "balance":
        return (
            "synthetic.count 'balance' makes no synthetic patches of the majority class "
            "(it only tops up the minority), so a synthetic-only training set has one class"
        )
    if count["mode"] == "absolute" and count["value"] < 1:
        return "synthetic.count 'absolute' below 1 makes no synthetic patches"
    if count["mode"] == "ratio" and count["value"] <= 0:
        return "synthetic.count 'ratio' 0 makes no synthetic patches"
    return None


TSTR_SKIPPED = {arm: tstr_skip_reason() for arm in TSTR_ARMS if tstr_skip_reason()}


rule collect_tstr_metrics:
    input:
        tstr=expand(
            "results/metrics/per_seed/{arm}/seed{seed}.tsv",
            arm=[arm for arm in TSTR_ARMS if arm not in TSTR_SKIPPED],
            seed=TSTR_SEEDS,
        ),
        baseline=expand(
            "results/metrics/per_seed/{arm}/seed{seed}.tsv",
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
