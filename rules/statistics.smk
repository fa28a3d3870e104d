# Statistics: the primary comparison of the arms with the test patient as the unit (crossed
# seed x patient model of leave-one-patient-out pseudovalues, Bonferroni over the generators vs
# the baseline and the best classic arm, and the combined arms vs their classic one), secondary
# effects, per-arm intervals, variance components; generalization
# (per-test-patient metrics and their spread) and probability calibration (Brier score, ECE)
# with the same machinery: one job reads the predictions once and writes every table. And the
# simulation of the decisions' false-positive rate and power at this run's design.


include: "inputs/statistics.smk"  # its input functions


localrules:
    calibration_simulation,


STATISTICS_PARAMS = {
    key: config["statistics"][key]
    for key in ("confidence_level", "alpha", "primary_metric")
}


rule compare_arms:
    input:
        predictions=expand(rules.predict.output.predictions, arm=ARMS, seed=SEEDS),
        # val scores of the classic arms: the best is the generators' second reference
        classic_infos=expand(
            rules.train_classifier.output.info, arm=CLASSIC_ARMS, seed=SEEDS
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
        primary=report(
            "results/metrics/primary.tsv",
            caption="../report/primary.rst",
            category="Classification",
            subcategory="Statistics",
        ),
        variance=report(
            "results/metrics/variance.tsv",
            caption="../report/variance.rst",
            category="Classification",
            subcategory="Statistics",
        ),
        per_patient=report(
            "results/metrics/per_patient.tsv",
            caption="../report/generalization.rst",
            category="Classification",
            subcategory="Generalization",
        ),
        patient_spread=report(
            "results/metrics/patient_spread.tsv",
            caption="../report/generalization.rst",
            category="Classification",
            subcategory="Generalization",
        ),
        probability_calibration=report(
            "results/metrics/probability_calibration.tsv",
            caption="../report/reliability.rst",
            category="Classification",
            subcategory="Calibration",
        ),
    log:
        "results/logs/compare_arms.log",
    benchmark:
        "results/benchmarks/compare_arms.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 1
    resources:
        **retry_resources(mem_mb=4000, runtime=30),
    params:
        **STATISTICS_PARAMS,
        code=code_version("compare_arms"),
        ece_bins=config["statistics"]["ece_bins"],
        classic_infos={
            arm: expand(rules.train_classifier.output.info, arm=arm, seed=SEEDS)
            for arm in CLASSIC_ARMS
        },
    script:
        "../workflow_scripts/compare_arms.py"


rule calibration_simulation:
    input:
        split=rules.split.output.split,
    output:
        table=report(
            "results/metrics/calibration_simulation.tsv",
            caption="../report/calibration_simulation.rst",
            category="Methods",
        ),
    log:
        "results/logs/calibration_simulation.log",
    benchmark:
        "results/benchmarks/calibration_simulation.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        **config["statistics"]["simulation"],
        code=code_version("calibration_simulation"),
        n_seeds=len(SEEDS),
        family_size=primary_family_size(),
        alpha=config["statistics"]["alpha"],
    script:
        "../workflow_scripts/calibration_simulation.py"
