# Report: results/summary.md (headline table, tests, image quality, cost, conclusion). The HTML
# report (`snakemake --report`) gathers every output wrapped in report(...).


localrules:
    write_summary,


rule write_summary:
    input:
        **(
            {"image_quality": "results/metrics/image_quality.tsv"}
            if generators()
            else {}
        ),
        summary_ci="results/metrics/summary_ci.tsv",
        tests="results/metrics/tests.tsv",
    output:
        summary=report(
            "results/summary.md",
            caption="../report/summary.rst",
            category="Summary",
        ),
    log:
        "results/logs/write_summary.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        alpha=config["statistics"]["alpha"],
        data_source=config["data"]["source"],
        arms=ARMS,
        benchmarks="results/benchmarks",
    script:
        "../workflow_scripts/write_summary.py"
