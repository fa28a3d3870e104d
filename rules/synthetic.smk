# Shared by the generative arms: gather the shards of every draw of a generator (or of a
# selected arm's set) into one manifest (its `draw` column tells the draws apart), and select a
# selected arm's draws from their pools.


include: "inputs/synthetic.smk"  # its input functions


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
    wildcard_constraints:
        generator="|".join(re.escape(name) for name in [*GENERATORS, *SELECTED_SETS]),
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


rule select_synthetic:
    input:
        unpack(get_selection_inputs),
        **packed("train"),
    output:
        # a sampled draw's shard layout, {selected} and {draw} left as the rule's wildcards
        images=synthetic_shards("{{selected}}", "npy", ["{draw}"]),
        tables=synthetic_shards("{{selected}}", "parquet", ["{draw}"]),
        scores="results/synthetic/{selected}/draw{draw}/scores.parquet",
    log:
        "results/logs/select_synthetic/{selected}/draw{draw}.log",
    benchmark:
        "results/benchmarks/select_synthetic/{selected}/draw{draw}.tsv"
    wildcard_constraints:
        selected="|".join(re.escape(name) for name in SELECTED_SETS) or "(?!)",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        **retry_resources(mem_mb=4000, runtime=30, gpu=True),
    params:
        selection=lambda wildcards: Arm.parse(wildcards.selected).selection,
        draw=lambda wildcards: int(wildcards.draw),
        labels=list(LABELS),
        n_shards=config["synthetic"]["shards_per_class"],
        k=config["synthetic"]["selection"]["realism_k"],
        reference_patches=config["synthetic"]["selection"]["reference_patches"],
        seed=config["synthetic"]["seed"],
        device=config["device"],
        code=code_version("select_synthetic"),
    script:
        "../workflow_scripts/select_synthetic.py"
