# Generalization, calibration and robustness: per-test-patient metrics and their spread, Brier
# score and ECE, read from the predictions with the primary endpoint's patient bootstrap.


localrules:
    patient_metrics,
    score_calibration,


STATISTICS_PARAMS = {
    key: config["statistics"][key]
    for key in (
        "bootstrap_samples",
        "bootstrap_seed",
        "confidence_level",
        "alpha",
        "primary_metric",
    )
}


rule patient_metrics:
    input:
        predictions=expand(
            "results/predictions/{arm}/seed{seed}.parquet", arm=ARMS, seed=SEEDS
        ),
    output:
        per_patient=report(
            "results/metrics/per_patient.tsv",
            caption="../report/generalization.rst",
            category="Classification",
            subcategory="Generalization",
        ),
        spread=report(
            "results/metrics/patient_spread.tsv",
            caption="../report/generalization.rst",
            category="Classification",
            subcategory="Generalization",
        ),
    log:
        "results/logs/patient_metrics.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        **STATISTICS_PARAMS,
    script:
        "../workflow_scripts/patient_metrics.py"


rule score_calibration:
    input:
        predictions=expand(
            "results/predictions/{arm}/seed{seed}.parquet", arm=ARMS, seed=SEEDS
        ),
    output:
        table=report(
            "results/metrics/probability_calibration.tsv",
            caption="../report/reliability.rst",
            category="Classification",
            subcategory="Calibration",
        ),
    log:
        "results/logs/score_calibration.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        **{
            key: STATISTICS_PARAMS[key]
            for key in ("bootstrap_samples", "bootstrap_seed", "confidence_level")
        },
        ece_bins=config["statistics"]["ece_bins"],
    script:
        "../workflow_scripts/score_calibration.py"
