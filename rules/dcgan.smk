# DCGAN arm: one generator per class (or one class-conditional generator), trained on the
# train split only (the held-out train patches only score its snapshots), then sampled into
# synthetic shards. The rules the generator contract names (rules/common.smk): train_dcgan,
# train_dcgan_realization, sample_dcgan, sweep_train_dcgan, sweep_sample_dcgan.


# One generator per class, or one class-conditional generator for both.
GENERATOR_JOBS["dcgan"] = {
    label: {
        "model": "conditional" if config["dcgan"]["conditional"] else f"class{label}"
    }
    for label in LABELS
}
DCGAN_TRAINED = trained_files(
    "dcgan",
    {
        "weights": "{model}/generator.safetensors",
        "config": "{model}/generator.json",
        "losses": "{model}/losses.tsv",
        "quality": "{model}/quality.tsv",
        "previews": "{model}/previews.png",
    },
    job="{model}",
)
DCGAN_SAMPLED = sampled_files("dcgan")


rule train_dcgan:
    input:
        **packed("train"),
        **packed("holdout"),
    output:
        **DCGAN_TRAINED["main"].output,
    log:
        DCGAN_TRAINED["main"].log,
    benchmark:
        DCGAN_TRAINED["main"].benchmark
    retries: 2
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        **retry_resources(mem_mb=4000, runtime=240, gpu=True),
    params:
        settings=config["dcgan"],
        label=lambda wildcards: (
            None if wildcards.model == "conditional" else int(wildcards.model[-1])
        ),
        # snapshots scored against held-out train; a change retrains (they are gone after)
        progress_patches=config["quality"]["progress_patches"],
        state=DCGAN_TRAINED["main"].state,
        device=config["device"],
    script:
        "../workflow_scripts/train_dcgan.py"


# Further generator realizations (synthetic.generator_realizations per_draw): the same training
# with the seed + r, in a folder of their own.
use rule train_dcgan as train_dcgan_realization with:
    output:
        **DCGAN_TRAINED["realization"].output,
    log:
        DCGAN_TRAINED["realization"].log,
    benchmark:
        DCGAN_TRAINED["realization"].benchmark
    params:
        settings=realization_settings("dcgan", config["dcgan"]),
        state=DCGAN_TRAINED["realization"].state,


# A sweep fraction's generators train on its patients alone and score their snapshots against
# the main study's held-out train patches (never trained on by any generator).
use rule train_dcgan as sweep_train_dcgan with:
    input:
        unpack(sweep_generator_train),
        **packed("holdout"),
    output:
        **DCGAN_TRAINED["sweep"].output,
    log:
        DCGAN_TRAINED["sweep"].log,
    benchmark:
        DCGAN_TRAINED["sweep"].benchmark
    params:
        state=DCGAN_TRAINED["sweep"].state,


rule sample_dcgan:
    input:
        # the generator of each class in LABELS order (the conditional one: the same file)
        weights=lambda wildcards: class_files(
            "dcgan", "weights", generator_realization(wildcards.draw)
        ),
        configs=lambda wildcards: class_files(
            "dcgan", "config", generator_realization(wildcards.draw)
        ),
        split=DCGAN_SAMPLED["main"].split,
    output:
        **DCGAN_SAMPLED["main"].output,
    log:
        DCGAN_SAMPLED["main"].log,
    benchmark:
        DCGAN_SAMPLED["main"].benchmark
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        **retry_resources(mem_mb=2000, runtime=30, gpu=True),
    params:
        **synthetic_params(),
        shard=lambda wildcards: int(wildcards.shard),
        draw=lambda wildcards: int(wildcards.draw),
        device=config["device"],
        code=code_version("sample_dcgan"),
    script:
        "../workflow_scripts/sample_dcgan.py"


use rule sample_dcgan as sweep_sample_dcgan with:
    input:
        weights=lambda wildcards: class_files(
            "dcgan", "weights", fraction=wildcards.fraction
        ),
        configs=lambda wildcards: class_files(
            "dcgan", "config", fraction=wildcards.fraction
        ),
        split=DCGAN_SAMPLED["sweep"].split,
    output:
        **DCGAN_SAMPLED["sweep"].output,
    log:
        DCGAN_SAMPLED["sweep"].log,
    benchmark:
        DCGAN_SAMPLED["sweep"].benchmark
    params:
        **DCGAN_SAMPLED["sweep"].params,
