# Shared by the generative arms: gather the shards of every draw of a generator into one
# manifest (its `draw` column tells the draws apart).


localrules:
    gather_synthetic,
    synthetic_pngs,


rule gather_synthetic:
    input:
        tables=lambda wildcards: synthetic_shards(
            wildcards.generator, "parquet", synthetic_draws()
        ),
        images=lambda wildcards: synthetic_shards(
            wildcards.generator, "npy", synthetic_draws()
        ),
    output:
        manifest="results/synthetic/{generator}/manifest.parquet",
    log:
        "results/logs/gather_synthetic/{generator}.log",
    conda:
        "../envs/data.yaml"
    params:
        code=code_version("gather_synthetic"),
    script:
        "../workflow_scripts/gather_synthetic.py"


rule synthetic_pngs:
    input:
        manifest=rules.gather_synthetic.output.manifest,
    output:
        folder=directory("results/synthetic/{generator}/png"),
    log:
        "results/logs/synthetic_pngs/{generator}.log",
    conda:
        "../envs/data.yaml"
    params:
        code=code_version("synthetic_pngs"),
    script:
        "../workflow_scripts/synthetic_pngs.py"
