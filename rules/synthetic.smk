# Shared by the generative arms: gather a generator's shards into one manifest.


rule gather_synthetic:
    input:
        tables=lambda wildcards: synthetic_shards(wildcards.generator, "parquet"),
        images=lambda wildcards: synthetic_shards(wildcards.generator, "npy"),
    output:
        manifest="results/synthetic/{generator}/manifest.parquet",
    log:
        "results/logs/gather_synthetic/{generator}.log",
    conda:
        "../envs/data.yaml"
    script:
        "../workflow_scripts/gather_synthetic.py"
