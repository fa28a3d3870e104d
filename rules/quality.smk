# Image quality of each generator's synthetic patches against real train, per class: FID, KID,
# precision/recall in the baseline classifier's feature space (always) and Inception's (when its
# weights are on disk; never downloaded), near copies of train patches, closest pairs. Real val
# against train gives the reference rows (generator real_val) a good generator nears.

if generators() and "baseline" not in ARMS:
    raise ValueError(
        "image quality is measured in the baseline classifier's feature space: "
        "add 'baseline' to arms (config) when a generator arm runs"
    )


localrules:
    gather_image_quality,


QUALITY_CLASSIFIER = (
    f"results/classifiers/baseline/seed{config['quality']['classifier_seed']}"
)
QUALITY_SETTINGS = {
    key: config["quality"][key]
    for key in (
        "inception_weights",
        "max_patches",
        "kid_subset_size",
        "kid_subsets",
        "pr_k",
        "near_copy_percentile",
        "closest_pairs",
        "sample_seed",
    )
}


rule image_quality:
    input:
        unpack(quality_inputs),
    output:
        table="results/metrics/quality/{generator}.tsv",
        pairs="results/metrics/quality/{generator}_closest_pairs.npz",
    log:
        "results/logs/image_quality/{generator}.log",
    benchmark:
        "results/benchmarks/image_quality/{generator}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        gpu=GPUS,
        mem_mb=lambda wildcards, attempt: 8000 * attempt,
        runtime=lambda wildcards, attempt: 60 * attempt,
    params:
        generator=lambda wildcards: wildcards.generator,
        settings=QUALITY_SETTINGS,
        device=config["device"],
    script:
        "../workflow_scripts/image_quality.py"


rule image_quality_reference:
    input:
        unpack(quality_inputs),
    output:
        table="results/metrics/quality/real_val.tsv",
    log:
        "results/logs/image_quality/real_val.log",
    benchmark:
        "results/benchmarks/image_quality/real_val.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        gpu=GPUS,
        mem_mb=lambda wildcards, attempt: 8000 * attempt,
        runtime=lambda wildcards, attempt: 60 * attempt,
    params:
        generator="real_val",
        settings=QUALITY_SETTINGS,
        device=config["device"],
    script:
        "../workflow_scripts/image_quality.py"


rule gather_image_quality:
    input:
        tables=[
            *expand("results/metrics/quality/{generator}.tsv", generator=generators()),
            "results/metrics/quality/real_val.tsv",
        ],
    output:
        table="results/metrics/image_quality.tsv",
    log:
        "results/logs/image_quality/gather.log",
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/image_quality.py"
