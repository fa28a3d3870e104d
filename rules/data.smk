# Data stages: demo set -> manifest + QC + pixels -> patient split -> packed arrays per split.
# Each patch is decoded once, by the manifest; packing gathers rows of its pixel array. The
# train patients' patches are packed twice, disjointly: `train` (what every model learns from)
# and `holdout` (a seeded share no model sees: the image-quality floor and near-copy calibration).


include: "inputs/data.smk"  # its input functions


localrules:
    split,


rule make_demo_data:
    output:
        root=directory(DEMO_ROOT),
    log:
        "results/logs/make_demo_data.log",
    benchmark:
        "results/benchmarks/make_demo_data.tsv"
    conda:
        "../envs/data.yaml"
    # Small enough for any node: SLURM never starts a job asking more cores than a node has.
    threads: 2
    resources:
        **retry_resources(mem_mb=2000, runtime=20),
    params:
        code=code_version("make_demo_data"),
        spec=config["demo"],
    script:
        "../workflow_scripts/make_demo_data.py"


rule manifest:
    input:
        unpack(get_manifest_inputs),
    output:
        manifest="results/data/manifest.parquet",
        qc="results/data/qc_rejected.tsv",
        # row i: the RGB pixels of manifest row i, decoded once here
        pixels="results/data/pixels.npy",
    log:
        "results/logs/manifest.log",
    benchmark:
        "results/benchmarks/manifest.tsv"
    conda:
        "../envs/data.yaml"
    threads: config["pack"]["workers"]
    resources:
        **retry_resources(mem_mb=4000, runtime=60),
    params:
        code=code_version("manifest"),
        size_policy=config["data"]["size_policy"],
        max_reject_fraction=config["data"]["max_reject_fraction"],
        # Where the QC table goes when the scan stops: a failed job's outputs are deleted.
        failed_qc="results/logs/manifest_qc_rejected.tsv",
    script:
        "../workflow_scripts/manifest.py"


rule split:
    input:
        unpack(get_split_inputs),
    output:
        split="results/data/split.parquet",
        # how the split was made and who was left out: the summary's split section
        info="results/data/split_info.json",
        preflight=report(
            "results/data/preflight.tsv",
            caption="../report/preflight.rst",
            category="Data",
        ),
    log:
        "results/logs/split.log",
    conda:
        "../envs/data.yaml"
    params:
        code=code_version("split"),
        fractions=config["split"]["fractions"],
        seed=config["split"]["seed"],
        preset=config["split"]["preset"],
        root=DATA_ROOT,
    script:
        "../workflow_scripts/split.py"


rule pack:
    input:
        manifest=rules.manifest.output.manifest,
        pixels=rules.manifest.output.pixels,
        split=rules.split.output.split,
    output:
        images="results/data/packed/{split}.npy",
        table="results/data/packed/{split}.parquet",
    log:
        "results/logs/pack/{split}.log",
    benchmark:
        "results/benchmarks/pack/{split}.tsv"
    wildcard_constraints:
        split="|".join(PACKED_SETS),
    conda:
        "../envs/data.yaml"
    # gathers rows of the manifest's pixel array: memory-bound, nothing to decode
    threads: 1
    resources:
        **retry_resources(mem_mb=2000, runtime=60),
    params:
        code=code_version("pack"),
        # only the train patients' two sets depend on the holdout (val/test never rerun for it)
        holdout=lambda wildcards: (
            {
                "fraction": config["quality"]["holdout_fraction"],
                "seed": config["quality"]["holdout_seed"],
            }
            if wildcards.split in ("train", "holdout")
            else None
        ),
    script:
        "../workflow_scripts/pack.py"
