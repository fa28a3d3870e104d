# DCGAN arm: one generator per class (or one class-conditional generator), trained on the
# train split only (the held-out train patches only score its snapshots), then sampled into
# synthetic shards.


rule train_dcgan:
    input:
        **packed("train"),
        **packed("holdout"),
    output:
        weights="results/models/dcgan/{model}/generator.safetensors",
        config="results/models/dcgan/{model}/generator.json",
        losses="results/models/dcgan/{model}/losses.tsv",
        quality="results/models/dcgan/{model}/quality.tsv",
        previews="results/models/dcgan/{model}/previews.png",
    log:
        "results/logs/train_dcgan/{model}.log",
    benchmark:
        "results/benchmarks/train_dcgan/{model}.tsv"
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
        state=state_path("dcgan/{model}", "train_dcgan"),
        device=config["device"],
    script:
        "../workflow_scripts/train_dcgan.py"


# Further generator realizations (synthetic.generator_realizations per_draw): the same training
# with the seed + r, in a folder of their own.
use rule train_dcgan as train_dcgan_realization with:
    output:
        weights="results/models/realization{realization}/dcgan/{model}/generator.safetensors",
        config="results/models/realization{realization}/dcgan/{model}/generator.json",
        losses="results/models/realization{realization}/dcgan/{model}/losses.tsv",
        quality="results/models/realization{realization}/dcgan/{model}/quality.tsv",
        previews="results/models/realization{realization}/dcgan/{model}/previews.png",
    log:
        "results/logs/train_dcgan/realization{realization}/{model}.log",
    benchmark:
        "results/benchmarks/train_dcgan/realization{realization}/{model}.tsv"
    params:
        settings=realization_settings("dcgan", config["dcgan"]),
        state=state_path("realization{realization}/dcgan/{model}", "train_dcgan"),


rule sample_dcgan:
    input:
        # the generator of each class in LABELS order (the conditional one: the same file)
        weights=lambda wildcards: dcgan_files(
            "weights", generator_realization(wildcards.draw)
        ),
        configs=lambda wildcards: dcgan_files(
            "config", generator_realization(wildcards.draw)
        ),
        split=rules.split.output.split,
    output:
        images=shard_files("dcgan", "npy"),
        tables=shard_files("dcgan", "parquet"),
    log:
        "results/logs/sample_dcgan/draw{draw}/shard{shard}.log",
    benchmark:
        "results/benchmarks/sample_dcgan/draw{draw}/shard{shard}.tsv"
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
