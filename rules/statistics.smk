# Statistics: paired tests between arms on the same test patches, and patient-bootstrap CIs.


rule compare_arms:
    input:
        predictions=expand(
            "results/predictions/{arm}/seed{seed}.parquet", arm=ARMS, seed=SEEDS
        ),
    output:
        tests=report(
            "results/metrics/tests.tsv",
            caption="../report/tests.rst",
            category="Classification",
            subcategory="Statistics",
        ),
        summary_ci=report(
            "results/metrics/summary_ci.tsv",
            caption="../report/summary_ci.rst",
            category="Classification",
            subcategory="Statistics",
        ),
    log:
        "results/logs/compare_arms.log",
    benchmark:
        "results/benchmarks/compare_arms.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=lambda wildcards, attempt: 30 * attempt,
    params:
        bootstrap_samples=config["statistics"]["bootstrap_samples"],
        bootstrap_seed=config["statistics"]["bootstrap_seed"],
        confidence_level=config["statistics"]["confidence_level"],
        mcnemar_exact_below=config["statistics"]["mcnemar_exact_below"],
    script:
        "../workflow_scripts/compare_arms.py"
