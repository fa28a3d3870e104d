# Report: results/summary.md (headline table, data and split, primary endpoint, conclusion,
# methods, secondary effects, variance, train-on-synthetic, image quality, cost) and its HTML
# rendering. The HTML report (`snakemake --report`) gathers every output wrapped in report(...);
# its front page (report/workflow.rst) includes results/summary.html.


include: "inputs/report.smk"  # its input functions


localrules:
    cost_table,
    write_summary,


rule cost_table:
    input:
        unpack(get_cost_inputs),
    output:
        costs=report(
            "results/metrics/cost.tsv",
            caption="../report/cost.rst",
            category="Cost",
        ),
        steps=report(
            "results/metrics/classifier_steps.tsv",
            caption="../report/classifier_steps.rst",
            category="Training",
        ),
    log:
        "results/logs/cost_table.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        code=code_version("cost_table"),
    script:
        "../workflow_scripts/cost_table.py"


rule write_summary:
    input:
        **(
            {
                "image_quality": rules.gather_image_quality.output.table,
                "memorization": rules.gather_image_quality.output.memorization,
            }
            if generators()
            else {}
        ),
        **({"tstr": rules.collect_metrics.output.tstr} if TSTR_ARMS else {}),
        **(
            {"robustness": rules.robustness_metrics.output.table}
            if PERTURBATIONS
            else {}
        ),
        **(
            {
                "efficiency": rules.sweep_efficiency.output.table,
                "efficiency_contrasts": rules.sweep_efficiency.output.contrasts,
                "efficiency_equivalents": rules.sweep_efficiency.output.equivalents,
            }
            if SWEEP["enabled"]
            else {}
        ),
        summary_ci=rules.compare_arms.output.summary_ci,
        tests=rules.compare_arms.output.tests,
        primary=rules.compare_arms.output.primary,
        variance=rules.compare_arms.output.variance,
        calibration=rules.calibration_simulation.output.table,
        patient_spread=rules.compare_arms.output.patient_spread,
        probability_calibration=rules.compare_arms.output.probability_calibration,
        costs=rules.cost_table.output.costs,
        steps=rules.cost_table.output.steps,
        split_info=rules.split.output.info,
    output:
        summary=report(
            "results/summary.md",
            caption="../report/summary.rst",
            category="Summary",
        ),
        # the same summary rendered: report/workflow.rst makes it the report's front page
        html=report(
            "results/summary.html",
            caption="../report/summary.rst",
            category="Summary",
        ),
    log:
        "results/logs/write_summary.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        code=code_version("write_summary"),
        alpha=config["statistics"]["alpha"],
        data_source=config["data"]["source"],
        arms=ARMS,
    script:
        "../workflow_scripts/write_summary.py"
