# Image quality (results/metrics/image_quality.tsv): every candidate set against real train, per
# class and feature space, all rows of one space and class at one matched n. Candidates: each
# generator's synthetic patches, `holdout` (held-out train patches no model saw: the floor a
# perfect generator matches) and `real_val` (val patients: the cross-patient shift). Real train's
# features and the near-copy calibration are extracted once, by quality_reference; the gather
# job adds the patient-level bootstrap intervals, which need every set at once, and writes
# memorization per train patient (results/metrics/memorization.tsv) from the same arrays.


include: "inputs/quality.smk"  # its input functions


if generators() and "baseline" not in ARMS:
    raise ValueError(
        "image quality is measured in the baseline classifier's feature space: "
        "add 'baseline' to arms (config) when a generator arm runs"
    )

QUALITY_SETTINGS = {
    **{
        key: config["quality"][key]
        for key in (
            "inception_weights",
            "encoders",
            "max_patches",
            "kid_subset_size",
            "kid_subsets",
            "pr_k",
            "near_copy_percentile",
            "closest_pairs",
            "sample_seed",
        )
    },
    "confidence_level": config["statistics"]["confidence_level"],
}
# Two-thread jobs whose inputs are ready long before the end: run as soon as both cores are
# free, not last, where each would wait for every one-thread job to finish.
QUALITY_PRIORITY = 1
QUALITY_RESOURCES = retry_resources(mem_mb=8000, runtime=60, gpu=True)


rule quality_reference:
    input:
        **packed("train"),
        **packed("holdout"),
        **{
            f"synthetic_{generator}": rules.gather_synthetic.output.manifest.format(
                generator=generator
            )
            for generator in [*generators(), *SELECTED_SETS]
        },
        **quality_model_inputs(),
        val_table=packed("val")["val_table"],
    output:
        reference="results/metrics/quality/reference.npz",
    log:
        "results/logs/image_quality/reference.log",
    benchmark:
        "results/benchmarks/image_quality/reference.tsv"
    priority: QUALITY_PRIORITY
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        **QUALITY_RESOURCES,
    params:
        code=code_version("quality_reference"),
        generators=[*generators(), *SELECTED_SETS],
        settings=QUALITY_SETTINGS,
        device=config["device"],
    script:
        "../workflow_scripts/quality_reference.py"


rule image_quality:
    input:
        unpack(get_quality_candidate),
        **packed("train"),
        **quality_model_inputs(),
        reference=rules.quality_reference.output.reference,
    output:
        table="results/metrics/quality/{candidate}.tsv",
        pairs="results/metrics/quality/{candidate}_closest_pairs.npz",
        features="results/metrics/quality/{candidate}_features.npz",
    log:
        "results/logs/image_quality/{candidate}.log",
    benchmark:
        "results/benchmarks/image_quality/{candidate}.tsv"
    wildcard_constraints:
        candidate="|".join(QUALITY_CANDIDATES),
    priority: QUALITY_PRIORITY
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        **QUALITY_RESOURCES,
    params:
        code=code_version("image_quality"),
        settings=QUALITY_SETTINGS,
        device=config["device"],
    script:
        "../workflow_scripts/image_quality.py"


rule gather_image_quality:
    input:
        tables=expand(rules.image_quality.output.table, candidate=QUALITY_CANDIDATES),
        features=expand(
            rules.image_quality.output.features, candidate=QUALITY_CANDIDATES
        ),
        reference=rules.quality_reference.output.reference,
    output:
        table=report(
            "results/metrics/image_quality.tsv",
            caption="../report/image_quality.rst",
            category="Synthetic images",
        ),
        memorization=report(
            "results/metrics/memorization.tsv",
            caption="../report/memorization.rst",
            category="Synthetic images",
        ),
    log:
        "results/logs/image_quality/gather.log",
    benchmark:
        "results/benchmarks/image_quality/gather.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        **retry_resources(mem_mb=4000, runtime=30),
    params:
        code=code_version("gather_image_quality"),
        candidates=QUALITY_CANDIDATES,
        # only what the bootstrap reads: a new replicate count reruns no feature extraction
        settings={
            **{
                key: config["quality"][key]
                for key in (
                    "encoders",
                    "pr_k",
                    "near_copy_percentile",
                    "sample_seed",
                    "bootstrap_samples",
                    "bootstrap_max_patches",
                )
            },
            "confidence_level": config["statistics"]["confidence_level"],
        },
    script:
        "../workflow_scripts/gather_image_quality.py"
