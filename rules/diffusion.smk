# Latent diffusion arm: Stable-Diffusion-style model trained from scratch (or LoRA on a local
# pretrained pipeline) on the train split only (the held-out train patches only score its
# checkpoints), then sampled into synthetic shards. The rules the generator contract names
# (rules/common.smk): train_diffusion, train_diffusion_realization, sample_diffusion,
# sweep_train_diffusion, sweep_sample_diffusion.
from idc_synth.diffusion.folder import pipeline_files

# A local pretrained pipeline's files (new weights at the same path retrain the LoRA).
PRETRAINED = Path(config["diffusion"]["pretrained_path"]).expanduser()
PRETRAINED_INPUTS = (
    {"pretrained": [str(file) for file in pipeline_files(PRETRAINED)]}
    if config["diffusion"]["mode"] == "pretrained" and PRETRAINED.exists()
    else {}
)
# Diffusion knobs that shape only sampling: the training job never receives them, so changing
# one reruns the sampling shards, never training (its previews use the defaults).
DIFFUSION_SAMPLING = ("sampling_steps", "guidance_scale", "sample_batch_size")
# The settings train_diffusion depends on: all but the sampling knobs.
DIFFUSION_TRAINING_SETTINGS = {
    key: value
    for key, value in config["diffusion"].items()
    if key not in DIFFUSION_SAMPLING
}
# The settings sample_diffusion depends on: the sampling knobs, and what loading the model
# needs (the trained model itself is its input).
DIFFUSION_SAMPLING_SETTINGS = {
    key: config["diffusion"][key]
    for key in (*DIFFUSION_SAMPLING, "allow_download", "mixed_precision")
}
# One class-conditional model makes both classes: one training job.
GENERATOR_JOBS["diffusion"] = {label: {} for label in LABELS}
DIFFUSION_TRAINED = trained_files(
    "diffusion",
    {
        "model": "model/",
        "losses": "losses.tsv",
        "quality": "quality.tsv",
        "previews": "previews.png",
    },
)
DIFFUSION_SAMPLED = sampled_files("diffusion")


rule train_diffusion:
    input:
        **packed("train"),
        **packed("holdout"),
        **PRETRAINED_INPUTS,
    output:
        **DIFFUSION_TRAINED["main"].output,
    log:
        DIFFUSION_TRAINED["main"].log,
    benchmark:
        DIFFUSION_TRAINED["main"].benchmark
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
        settings=json.dumps(DIFFUSION_TRAINING_SETTINGS),
        state=DIFFUSION_TRAINED["main"].state,
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
        **DIFFUSION_TRAINED["realization"].output,
    log:
        DIFFUSION_TRAINED["realization"].log,
    benchmark:
        DIFFUSION_TRAINED["realization"].benchmark
    params:
        settings=lambda wildcards: json.dumps(
            realization_settings("diffusion", DIFFUSION_TRAINING_SETTINGS)(wildcards)
        ),
        state=DIFFUSION_TRAINED["realization"].state,


# A sweep fraction's model, trained on its patients alone (as the DCGAN's).
use rule train_diffusion as sweep_train_diffusion with:
    input:
        unpack(sweep_generator_train),
        **PRETRAINED_INPUTS,
        **packed("holdout"),
    output:
        **DIFFUSION_TRAINED["sweep"].output,
    log:
        DIFFUSION_TRAINED["sweep"].log,
    benchmark:
        DIFFUSION_TRAINED["sweep"].benchmark
    params:
        state=DIFFUSION_TRAINED["sweep"].state,


rule sample_diffusion:
    input:
        model=lambda wildcards: generator_file(
            "diffusion", "model", generator_realization(wildcards.draw)
        ),
        split=DIFFUSION_SAMPLED["main"].split,
    output:
        **DIFFUSION_SAMPLED["main"].output,
    log:
        DIFFUSION_SAMPLED["main"].log,
    benchmark:
        DIFFUSION_SAMPLED["main"].benchmark
    priority: 1  # the longest chain, as train_diffusion
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        **retry_resources(mem_mb=4000, runtime=120, gpu=True),
    params:
        **synthetic_params(),
        settings=DIFFUSION_SAMPLING_SETTINGS,
        device=config["device"],
        code=code_version("sample_diffusion"),
        shard=lambda wildcards: int(wildcards.shard),
        draw=lambda wildcards: int(wildcards.draw),
    script:
        "../workflow_scripts/sample_diffusion.py"


use rule sample_diffusion as sweep_sample_diffusion with:
    input:
        model=lambda wildcards: generator_file(
            "diffusion", "model", fraction=wildcards.fraction
        ),
        split=DIFFUSION_SAMPLED["sweep"].split,
    output:
        **DIFFUSION_SAMPLED["sweep"].output,
    log:
        DIFFUSION_SAMPLED["sweep"].log,
    benchmark:
        DIFFUSION_SAMPLED["sweep"].benchmark
    params:
        **DIFFUSION_SAMPLED["sweep"].params,
