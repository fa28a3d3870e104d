# Latent diffusion arm: Stable-Diffusion-style model trained from scratch (or LoRA on a local
# pretrained pipeline) on the train split only (the held-out train patches only score its
# checkpoints), then sampled into synthetic shards.


rule train_diffusion:
    input:
        **packed("train"),
        **packed("holdout"),
        **get_pretrained_inputs(None),
    output:
        model=directory("results/models/diffusion/model"),
        losses="results/models/diffusion/losses.tsv",
        quality="results/models/diffusion/quality.tsv",
        previews="results/models/diffusion/previews.png",
    log:
        "results/logs/train_diffusion.log",
    benchmark:
        "results/benchmarks/train_diffusion.tsv"
    # The head of the DAG's longest chain (train, sample, 4 classifiers, their predictions):
    # started first, while every core is free for its two threads, it leaves the many
    # one-thread jobs to fill the cores at the end instead of cores idling behind it.
    priority: 1
    retries: 2
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        **retry_resources(mem_mb=8000, runtime=480, gpu=True),
    params:
        # accelerate starts one training process per GPU the job holds (see README, multi-GPU)
        launch=accelerate_launch,
        script=os.path.join(SCRIPTS, "train_diffusion.py"),
        settings=json.dumps(diffusion_training_settings()),
        state=state_path("diffusion", "train_diffusion"),
        # checkpoints scored against held-out train; a change retrains (they are gone after)
        progress_patches=config["quality"]["progress_patches"],
        device=config["device"],
    shell:
        # --quiet: a failed run's traceback is in the log once, not again as accelerate's own
        "accelerate launch --quiet {params.launch} {params.script:q}"
        " --train-images {input.train_images} --train-table {input.train_table}"
        " --holdout-images {input.holdout_images} --holdout-table {input.holdout_table}"
        " --progress-patches {params.progress_patches}"
        " --settings {params.settings:q} --state {params.state} --device {params.device}"
        " --model {output.model} --losses {output.losses} --quality {output.quality}"
        " --previews {output.previews}"
        " --threads {threads} --log {log} >> {log} 2>&1"


# Further generator realizations (synthetic.generator_realizations per_draw), as for the DCGAN.
use rule train_diffusion as train_diffusion_realization with:
    output:
        model=directory("results/models/realization{realization}/diffusion/model"),
        losses="results/models/realization{realization}/diffusion/losses.tsv",
        quality="results/models/realization{realization}/diffusion/quality.tsv",
        previews="results/models/realization{realization}/diffusion/previews.png",
    log:
        "results/logs/train_diffusion/realization{realization}.log",
    benchmark:
        "results/benchmarks/train_diffusion/realization{realization}.tsv"
    params:
        settings=lambda wildcards: json.dumps(
            realization_settings("diffusion", diffusion_training_settings())(wildcards)
        ),
        state=state_path("realization{realization}/diffusion", "train_diffusion"),


rule sample_diffusion:
    input:
        model=lambda wildcards: generator_file(
            "diffusion", "model", generator_realization(wildcards.draw)
        ),
        split=rules.split.output.split,
    output:
        images=shard_files("diffusion", "npy"),
        tables=shard_files("diffusion", "parquet"),
    log:
        "results/logs/sample_diffusion/draw{draw}/shard{shard}.log",
    benchmark:
        "results/benchmarks/sample_diffusion/draw{draw}/shard{shard}.tsv"
    priority: 1  # the longest chain, as train_diffusion
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        **retry_resources(mem_mb=4000, runtime=120, gpu=True),
    params:
        **synthetic_params(),
        settings=diffusion_sampling_settings(),
        device=config["device"],
        code=code_version("sample_diffusion"),
        shard=lambda wildcards: int(wildcards.shard),
        draw=lambda wildcards: int(wildcards.draw),
    script:
        "../workflow_scripts/sample_diffusion.py"
