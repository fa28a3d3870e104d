# Image quality (results/metrics/image_quality.tsv): every candidate set against real train, per
# class and feature space, all rows of one space and class at one matched n. Candidates: each
# generator's synthetic patches, `holdout` (held-out train patches no model saw: the floor a
# perfect generator matches) and `real_val` (val patients: the cross-patient shift). Real train's
# features and the near-copy calibration are extracted once, by quality_reference.

if generators() and "baseline" not in ARMS:
    raise ValueError(
        "image quality is measured in the baseline classifier's feature space: "
        "add 'baseline' to arms (config) when a generator arm runs"
    )

QUALITY_CLASSIFIER = (
    f"results/classifiers/baseline/seed{config['quality']['classifier_seed']}"
)
QUALITY_CANDIDATES = [*generators(), "holdout", "real_val"]
QUALITY_SETTINGS = {
    **{
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
    },
    "confidence_level": config["statistics"]["confidence_level"],
}
QUALITY_RESOURCES = {
    "gpu": GPUS,
    "mem_mb": lambda wildcards, attempt: 8000 * attempt,
    "runtime": lambda wildcards, attempt: 60 * attempt,
}


localrules:
    gather_image_quality,


def inception_weights():
    """The Inception file quality.inception_weights names (a folder holding it, the file, or
    null: clean-fid's cache path); as idc_synth.quality.inception_weights_file resolves it.
    """
    # clean-fid 0.1.35 only ever looks in /tmp (spelt out here to keep the lint quiet).
    path = config["quality"]["inception_weights"] or os.path.join(
        os.sep, "tmp", "inception-2015-12-05.pt"
    )
    return (
        path if path.endswith(".pt") else os.path.join(path, "inception-2015-12-05.pt")
    )


def quality_model_inputs():
    """The baseline classifier, and Inception's weights when they are on disk (weights that
    appear later change the input set, which reruns the rules)."""
    inputs = {
        "weights": f"{QUALITY_CLASSIFIER}/model.safetensors",
        "info": f"{QUALITY_CLASSIFIER}/info.json",
    }
    if os.path.isfile(inception_weights()):
        inputs["inception"] = inception_weights()
    return inputs


def quality_candidate(wildcards):
    """What one image_quality job measures: a packed real set or a synthetic manifest."""
    packed_name = {"holdout": "holdout", "real_val": "val"}.get(wildcards.candidate)
    if packed_name:
        return packed(packed_name)
    return {"synthetic": f"results/synthetic/{wildcards.candidate}/manifest.parquet"}


rule quality_reference:
    input:
        **packed("train"),
        **packed("holdout"),
        **{
            f"synthetic_{generator}": f"results/synthetic/{generator}/manifest.parquet"
            for generator in generators()
        },
        **quality_model_inputs(),
        val_table=packed("val")["val_table"],
    output:
        reference="results/metrics/quality/reference.npz",
    log:
        "results/logs/image_quality/reference.log",
    benchmark:
        "results/benchmarks/image_quality/reference.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        **QUALITY_RESOURCES,
    params:
        generators=generators(),
        settings=QUALITY_SETTINGS,
        device=config["device"],
    script:
        "../workflow_scripts/image_quality.py"


rule image_quality:
    input:
        unpack(quality_candidate),
        **packed("train"),
        **quality_model_inputs(),
        reference=rules.quality_reference.output.reference,
    output:
        table="results/metrics/quality/{candidate}.tsv",
        pairs="results/metrics/quality/{candidate}_closest_pairs.npz",
    log:
        "results/logs/image_quality/{candidate}.log",
    benchmark:
        "results/benchmarks/image_quality/{candidate}.tsv"
    wildcard_constraints:
        candidate="|".join(QUALITY_CANDIDATES),
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        **QUALITY_RESOURCES,
    params:
        settings=QUALITY_SETTINGS,
        device=config["device"],
    script:
        "../workflow_scripts/image_quality.py"


rule gather_image_quality:
    input:
        tables=expand(rules.image_quality.output.table, candidate=QUALITY_CANDIDATES),
    output:
        table="results/metrics/image_quality.tsv",
    log:
        "results/logs/image_quality/gather.log",
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/image_quality.py"
