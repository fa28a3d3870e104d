# Shared by every file in rules/: config checks and the study's preflight, wildcard constraints,
# study constants and config lookups, generic helpers, the helpers several rule files use (the
# generator contract, synthetic draws and realizations, the sweep's fractions) and the final
# targets. A rule family's own input functions live beside its rules, in rules/inputs/.
import functools
import json
import os
import re
import shlex
import sys
from pathlib import Path
from types import SimpleNamespace

import yaml
from snakemake.cli import get_profile_dir
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config, validate

LIBRARY = os.path.join(workflow.basedir, "workflow_scripts")
sys.path.insert(0, LIBRARY)
# Jobs import this checkout's library too, also where another checkout's idc_synth is installed
# (pip install -e .): Snakemake appends a script's folders to sys.path, after site-packages,
# whereas PYTHONPATH comes before them.
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [LIBRARY, os.environ.get("PYTHONPATH")]))
)
from idc_synth.arms import (
    GENERATORS,
    SYNTHETIC_ONLY,
    Arm,
    arms_of_kind,
    comparisons,
    selected_sets,
    study_generators,
)
from idc_synth.code_version import code_digest
from idc_synth.config_checks import (
    ConfigError,
    check_config,
    expand_user_paths,
    imply_folder_source,
    schema_problems,
)
from idc_synth.listing import refresh_listing
from idc_synth.preflight import plan_from_walk
from idc_synth.presets import preset_lists, read_lists, split_description
from idc_synth.quality.table import PACKED_SET, REFERENCE_SETS
from idc_synth.study_checks import (
    device_refusal,
    list_refusal,
    planned_sizes,
    profile_named,
    replaced_configfiles,
    study_lines,
    too_few_test_patients,
)
from idc_synth.study_record import (
    STUDY_RECORD,
    coerce_config,
    ordered_like,
    read_record,
    write_record,
)

SCHEMA = os.path.join(workflow.basedir, "schemas", "config.schema.yaml")
SCHEMA_TREE = yaml.safe_load(Path(SCHEMA).read_text())
# The command line's config (--configfile, --config; nested --config values arrive as strings),
# typed by the schema; a command naming none applies the last run's (results/study.yaml), so a
# rerun or `snakemake --report` is about the study that ran, not the embedded demo.
COMMAND_LINE = coerce_config(workflow.config_settings.config, SCHEMA_TREE)
OVERRIDES = coerce_config(workflow.config_settings.overwrite_config, SCHEMA_TREE)
RECORDED = None if OVERRIDES else read_record()
if RECORDED:
    OVERRIDES = RECORDED
    STUDY_ORIGIN = f"config.yaml + {STUDY_RECORD}, the last run's command line"
else:
    STUDY_ORIGIN = "config.yaml + the command line" if OVERRIDES else "config.yaml"
    if OVERRIDES and STUDY_RECORD.is_file():
        STUDY_ORIGIN += f"; {STUDY_RECORD}, the last run's, not applied"
update_config(config, OVERRIDES)
try:
    validate(config, SCHEMA)  # also fills in each missing key's default
except WorkflowError:
    # Snakemake's message dumps the whole schema and config; name only what is wrong.
    problems = schema_problems(config, SCHEMA_TREE)
    raise WorkflowError(
        "invalid config (keys and values: schemas/config.schema.yaml):\n  "
        + "\n  ".join(problems)
    ) from None
expand_user_paths(config)
# config.yaml's key order whatever the merge order, so params compare equal (ordered_like)
_ORDERED = ordered_like(
    dict(config), yaml.safe_load(Path(workflow.basedir, "config.yaml").read_text())
)
config.clear()
config.update(_ORDERED)
try:
    SOURCE_IMPLIED = imply_folder_source(config["data"], COMMAND_LINE)
    check_config(config, Path.cwd())
except ConfigError as error:
    raise WorkflowError(f"invalid config: {error}") from None

SPLITS = ("train", "val", "test")
# Packed sets: the splits, plus the held-out share of the train patients' patches.
PACKED_SETS = ("train", "holdout", "val", "test")
ARMS = config["arms"]
CLASSIC_ARMS = arms_of_kind(ARMS, "classic")
SELECTED_SETS = selected_sets(ARMS)  # each selected arm's synthetic set bears its name
SEEDS = config["classifier"]["seeds"]
DEMO_ROOT = "results/data/demo"
DATA_ROOT = DEMO_ROOT if config["data"]["source"] == "demo" else config["data"]["root"]
# Train-on-synthetic, test-on-real arms: a classifier that sees only a generator's patches.
TSTR_ARMS = [f"{arm}{SYNTHETIC_ONLY}" for arm in arms_of_kind(ARMS, "generator")]
TSTR_SEEDS = config["classifier"]["tstr_seeds"]
GPUS = config["gpus"]
# For shell commands: the scripts, relative to the working directory, so that they hold
# wherever snakemake runs (--directory, SLURM jobs) and a study moved or copied with its
# checkout reruns nothing (an absolute path in params would look like a changed param).
SCRIPTS = os.path.relpath(os.path.join(workflow.basedir, "workflow_scripts"))
# The patient lists of the split, relative like SCRIPTS: a preset's (shipped in resources/), the
# user's, or none (a stratified split).
SPLIT_LISTS = {
    split: os.path.relpath(path)
    for split, path in (
        preset_lists(config["split"]["preset"])
        if config["split"]["preset"]
        else config["split"]["patient_lists"] or {}
    ).items()
}
# Names of data-root files with their sizes and mtimes: the manifest's input for a user's folder,
# so that a deleted, added or overwritten patch reruns the manifest (a folder's own mtime misses
# overwritten files). Rewritten only when the listing changed, by the main process only, which
# also prints the study (source, root, split, design) and the ingest preflight as planned from
# the file names, and refuses a study that cannot answer (idc_synth.study_checks): a wrong root,
# a nested copy or a split that does not fit the root shows in seconds, on every command, `-n`
# included.
DATA_LISTING = "results/data/root_listing.tsv"


def preflight_study():
    """Print the study and its planned ingest; stop (or, with preflight: warn, warn) on a
    study that cannot answer."""
    split = config["split"]
    description = split_description(
        split["preset"], SPLIT_LISTS, split["fractions"], split["seed"]
    )
    refusals, patients = [], config["demo"]["n_patients"]
    # the demo's patients are made by a job: a list's patients are taken to be among them
    listed = read_lists(SPLIT_LISTS) if SPLIT_LISTS else {}
    fitted = (
        {name: list(listed.values()).count(name) for name in SPLITS} if listed else None
    )
    if config["data"]["source"] == "folder":
        walk = refresh_listing(Path(DATA_ROOT), Path(DATA_LISTING))
        plan = plan_from_walk(
            DATA_ROOT,
            walk,
            description,
            listed if SPLIT_LISTS else None,
        )
        print("\n".join(plan.lines()), file=sys.stderr)
        refusals.append(list_refusal(split, plan.split_error))
        fitted, patients = plan.split_sizes, plan.patients
    sizes, refusal = planned_sizes(
        config["data"]["source"], patients, split["fractions"], fitted
    )
    refusals.append(refusal)
    if sizes and not any(refusals):  # a split that cannot be made says enough
        refusals.append(too_few_test_patients(config["data"]["source"], sizes))
    # jobs that a cluster scheduler places (--jobs) run where its GPUs are, not here
    scheduled = workflow.resource_settings.nodes is not None
    refusals.append(device_refusal(config["device"], scheduled))
    origin = STUDY_ORIGIN + (
        "; data.source folder implied by data.root" if SOURCE_IMPLIED else ""
    )
    print("\n".join(study_lines(config, description, sizes, origin)), file=sys.stderr)
    profile = profile_named(sys.argv, os.environ)
    found = profile and get_profile_dir(profile)
    if found:
        settings = yaml.safe_load(Path(found[1]).read_text()) or {}
        note = replaced_configfiles(
            settings.get("configfiles", []), workflow.config_settings.configfiles
        )
        if note:
            print(f"warning: {note}", file=sys.stderr)
    lines = [refusal.line() for refusal in refusals if refusal]
    if lines and config["preflight"] == "stop":
        raise WorkflowError(
            "preflight: this study cannot answer (--config preflight=warn goes on anyway):\n  "
            + "\n  ".join(lines)
        )
    for line in lines:
        print(f"preflight warning: {line}", file=sys.stderr)


if workflow.is_main_process:
    preflight_study()


# The command line's config, recorded once the run starts (not by -n, --report or a job).
onstart:
    if OVERRIDES and not RECORDED:
        write_record(OVERRIDES)


wildcard_constraints:
    split="|".join(SPLITS),
    arm="|".join(re.escape(arm) for arm in ARMS + TSTR_ARMS),
    seed=r"\d+",
    model="class0|class1|conditional",
    generator="|".join(re.escape(generator) for generator in GENERATORS),
    label="0|1",
    shard=r"\d+",
    draw=r"\d+",
    realization=r"[1-9]\d*",


@functools.cache
def code_version(script):
    """A digest of the idc_synth modules the entry script imports: as a param, it reruns the
    rule when that library code changes (Snakemake itself sees only the script)."""
    scripts = Path(workflow.basedir, "workflow_scripts")
    return code_digest(scripts / f"{script}.py", scripts)


def state_path(folder, script):
    """The undeclared resumable checkpoint of a training job, in one folder per code version,
    so that changed training code trains afresh instead of resuming a finished run."""
    return f"results/state/{folder}/code-{code_version(script)}/checkpoint.pt"


def accelerate_launch(wildcards, resources):
    """`accelerate launch` options for a job holding `resources.gpu` GPUs: one process per GPU,
    one on a CPU; a free port, so that two multi-GPU jobs can share a node."""
    processes = max(1, resources.gpu)
    options = [
        f"--config_file {shlex.quote(os.path.join(SCRIPTS, 'accelerate.yaml'))}",
        f"--num_processes {processes}",
    ]
    if processes > 1:
        options.append("--multi_gpu --main_process_port 0")
    return " ".join(options)


def retry_resources(mem_mb, runtime, gpu=False):
    """A rule's `resources:` (unpacked into it): memory (MB) and runtime (minutes) that grow
    with each retry (`attempt`), and with `gpu` the configured GPUs per GPU job."""
    return {
        **({"gpu": GPUS} if gpu else {}),
        "mem_mb": lambda wildcards, attempt: mem_mb * attempt,
        "runtime": lambda wildcards, attempt: runtime * attempt,
    }


def packed(split):
    """Both files of a packed split, named for a rule's input."""
    return {
        f"{split}_images": rules.pack.output.images.format(split=split),
        f"{split}_table": rules.pack.output.table.format(split=split),
    }


def synthetic_draws():
    """The independent synthetic sets each generator samples: one per classifier seed
    (synthetic.replicates per_seed), or the configured number."""
    replicates = config["synthetic"]["replicates"]
    if replicates == "per_seed":
        replicates = max(len(SEEDS), len(TSTR_SEEDS))
    return list(range(replicates))


def classifier_draw(wildcards):
    """The synthetic draw a classifier trains on: the i-th seed of its arm's seed list reads
    draw i mod the number of draws; -1 (none) for the baseline."""
    arm = Arm.parse(wildcards.arm)
    if arm.generator is None:
        return -1
    seeds = TSTR_SEEDS if arm.synthetic_only else SEEDS
    return seeds.index(int(wildcards.seed)) % len(synthetic_draws())


def generator_realization(draw):
    """The trained generator a synthetic draw samples from: realization 0 (one generator for
    every draw) or the draw's own (synthetic.generator_realizations per_draw); a selection
    pool's further draw (pool_draws), that of the draw it pools for."""
    if config["synthetic"]["generator_realizations"] == "per_draw":
        return int(draw) % len(synthetic_draws())
    return 0


def pool_draws(draw):
    """The draws a selected arm's draw picks from: the plain draw itself and pool_factor - 1
    more of the same generator, numbered past the plain draws (so each has its own seeds).
    """
    count = len(synthetic_draws())
    factor = config["synthetic"]["selection"]["pool_factor"]
    return [int(draw) + count * extra for extra in range(factor)]


def generator_realizations():
    """Every generator realization the draws sample from."""
    return sorted({generator_realization(draw) for draw in synthetic_draws()})


def realization_settings(section, settings):
    """A generator realization's training settings: its own seed, the generator's + r."""
    return lambda wildcards: {
        **settings,
        "seed": config[section]["seed"] + int(wildcards.realization),
    }


def synthetic_shards(generator, extension, draws, folder="results/synthetic"):
    """Every shard file of a generator's draws, both classes (`folder`: as in shard_files)."""
    return expand(
        f"{folder}/{generator}/draw{{draw}}/class{{label}}/shard{{shard}}.{extension}",
        draw=draws,
        label=(0, 1),
        shard=range(config["synthetic"]["shards_per_class"]),
    )


# The classes a sampling job makes: every class, one job per draw and shard (a Python start
# and a model load per class would cost more than a demo-sized class takes to sample).
LABELS = (0, 1)


def shard_files(generator, extension, folder="results/synthetic"):
    """One sampling job's files, one per class in LABELS order ({draw}, {shard}: its wildcards;
    a wildcard in `folder` is written doubled, as {{fraction}})."""
    return expand(
        f"{folder}/{generator}/draw{{{{draw}}}}/class{{label}}/shard{{{{shard}}}}.{extension}",
        label=LABELS,
    )


def synthetic_params():
    """How many synthetic patches each shard job makes and from which seed, of which classes."""
    return {
        "labels": list(LABELS),
        "n_shards": config["synthetic"]["shards_per_class"],
        "count_policy": config["synthetic"]["count"],
        "base_seed": config["synthetic"]["seed"],
    }


def generators():
    """The generators this study trains (for generator and combined arms)."""
    return study_generators(ARMS)


# The generator contract (docs/generators.md): a generator `g`, a name in
# idc_synth.arms.GENERATORS, is its rule file rules/{g}.smk (the Snakefile includes one per
# name), its entry scripts, its package idc_synth/{g}/, its config section `g:` and its docs.
# Its rule file defines these rules, which the shared files look up by name in `rules`;
#   train_{g}               the main study's generator (realization 0), outputs under
#                           trained_files(g, ...)["main"]
#   train_{g}_realization   a further realization (synthetic.generator_realizations per_draw)
#   sample_{g}              one draw's shard of both classes (sampled_files(g)["main"]), from
#                           its training jobs' outputs (generator_file, class_files)
#   sweep_train_{g}         a sweep fraction's generator, trained on its patients alone
#   sweep_sample_{g}        a sweep fraction's draws (sampled_files(g)["sweep"])
# and registers GENERATOR_JOBS[g]: for each class in LABELS, the wildcards (besides
# realization and fraction) of the training job whose generator makes it, e.g. a DCGAN's model.
GENERATOR_JOBS = {}


def training_jobs(generator):
    """The wildcards of each of a generator's training jobs, once each in LABELS order: one
    per class for a generator per class, one (maybe empty) for a class-conditional one.
    """
    jobs = [GENERATOR_JOBS[generator][label] for label in LABELS]
    return [job for index, job in enumerate(jobs) if job not in jobs[:index]]


# Where each copy of a generator's training job writes: the main study's, a further
# realization's and a sweep fraction's (wildcards doubled: {g} is filled in first).
TRAINED_COPIES = {
    "main": {
        "output": "results/models/{g}",
        "log": "results/logs/train_{g}",
        "benchmark": "results/benchmarks/train_{g}",
        "state": "{g}",
    },
    "realization": {
        "output": "results/models/realization{{realization}}/{g}",
        "log": "results/logs/train_{g}/realization{{realization}}",
        "benchmark": "results/benchmarks/train_{g}/realization{{realization}}",
        "state": "realization{{realization}}/{g}",
    },
    "sweep": {
        "output": "results/sweep/frac{{fraction}}/models/{g}",
        "log": "results/logs/sweep/frac{{fraction}}/train_{g}",
        "benchmark": "results/benchmarks/sweep_train_{g}/frac{{fraction}}",
        "state": "sweep/frac{{fraction}}/{g}",
    },
}


def trained_files(generator, outputs, job=""):
    """Per copy (TRAINED_COPIES), the output, log, benchmark and resumable state of a
    generator's training rule: `outputs` names each output under the copy's folder (a name
    ending in / is a folder), `job` the job's own wildcards in the other paths ("{model}").
    """
    copies = {}
    for copy, places in TRAINED_COPIES.items():
        place = {key: value.format(g=generator) for key, value in places.items()}
        copies[copy] = SimpleNamespace(
            output={
                key: (
                    directory(f"{place['output']}/{name[:-1]}")
                    if name.endswith("/")
                    else f"{place['output']}/{name}"
                )
                for key, name in outputs.items()
            },
            log=os.path.join(place["log"], job).rstrip(os.sep) + ".log",
            benchmark=os.path.join(place["benchmark"], job).rstrip(os.sep) + ".tsv",
            state=state_path(
                os.path.join(place["state"], job).rstrip(os.sep), f"train_{generator}"
            ),
        )
    return copies


def sweep_generator_train(wildcards):
    """A sweep fraction's packed train patches, which its generators train on."""
    return sweep_train(wildcards.fraction)


def sampled_files(generator):
    """Per copy (the main study's, a sweep fraction's), the outputs, log and benchmark of a
    generator's sampling rule, the split table its counts are sized by, and the sweep's count
    policy (every fraction samples at the largest ratio; smaller ratios use their start).
    """
    job = "draw{draw}/shard{shard}"
    sweep = "results/sweep/frac{{fraction}}/synthetic"
    return {
        "main": SimpleNamespace(
            output={
                "images": shard_files(generator, "npy"),
                "tables": shard_files(generator, "parquet"),
            },
            log=f"results/logs/sample_{generator}/{job}.log",
            benchmark=f"results/benchmarks/sample_{generator}/{job}.tsv",
            split=rules.split.output.split,
        ),
        "sweep": SimpleNamespace(
            output={
                "images": shard_files(generator, "npy", sweep),
                "tables": shard_files(generator, "parquet", sweep),
            },
            log=f"results/logs/sweep/frac{{fraction}}/sample_{generator}/{job}.log",
            benchmark=f"results/benchmarks/sweep_sample_{generator}/frac{{fraction}}/{job}.tsv",
            split=lambda wildcards: sweep_split(wildcards.fraction),
            params={
                "count_policy": {"mode": "ratio", "value": SWEEP_LARGEST_RATIO},
            },
        ),
    }


# Test-time perturbations with at least one strength (rules/robustness.smk).
PERTURBATIONS = [
    name
    for name, strengths in config["robustness"]["perturbations"].items()
    if strengths
]


def final_targets():
    """What `snakemake` builds by default: tables, figures (FIGURES, rules/figures.smk) and the
    summary; called by rule all, after every rule file."""
    tables = rules.compare_arms.output
    targets = [
        rules.collect_metrics.output.classification,
        tables.tests,
        tables.summary_ci,
        tables.primary,
        tables.per_patient,
        tables.patient_spread,
        tables.probability_calibration,
        *FIGURES.values(),
        rules.write_summary.output.summary,
    ]
    if PERTURBATIONS:
        targets.append(rules.robustness_metrics.output.table)
    if config["sweep"]["enabled"]:
        targets.append(rules.sweep_efficiency.output.table)
    if TSTR_ARMS:
        targets += [
            rules.collect_metrics.output.tstr,
            rules.gather_image_quality.output.table,
        ]
    if config["synthetic"]["write_png"]:
        targets += expand(rules.synthetic_pngs.output.folder, generator=generators())
    return targets


def generator_file(generator, key, realization=0, fraction=1, **job):
    """Output `key` of a trained generator, from the training job that made it (the rule-name
    contract above): the main study's for realization 0, train_*_realization for a further one,
    sweep_train_* for a sweep fraction below 1 (fraction 1 shares the main study's); `job`: the
    training job's own wildcards (training_jobs), e.g. a DCGAN's model."""
    if float(fraction) != 1:
        trained = getattr(rules, f"sweep_train_{generator}")
    elif int(realization) != 0:
        trained = getattr(rules, f"train_{generator}_realization")
    else:
        trained = getattr(rules, f"train_{generator}")
    return getattr(trained.output, key).format(
        realization=realization, fraction=fraction, **job
    )


def class_files(generator, key, realization=0, fraction=1):
    """Output `key` of the generator of each class in LABELS order (GENERATOR_JOBS; one
    class-conditional generator: the same file twice)."""
    return [
        generator_file(generator, key, realization, fraction, **job)
        for job in (GENERATOR_JOBS[generator][label] for label in LABELS)
    ]


def tstr_skip_reason():
    """Why no synthetic-only classifier can be trained under synthetic.count, or None: it
    needs synthetic patches of both classes."""
    count = config["synthetic"]["count"]
    if count["mode"] == "balance":
        return (
            "synthetic.count 'balance' makes no synthetic patches of the majority class "
            "(it only tops up the minority), so a synthetic-only training set has one class"
        )
    if count["mode"] == "absolute" and count["value"] < 1:
        return "synthetic.count 'absolute' below 1 makes no synthetic patches"
    if count["mode"] == "ratio" and count["value"] <= 0:
        return "synthetic.count 'ratio' 0 makes no synthetic patches"
    return None


TSTR_SKIPPED = {arm: tstr_skip_reason() for arm in TSTR_ARMS if tstr_skip_reason()}


# Image quality: the sets measured against real train (generators, held-out train = floor, val =
# shift).
QUALITY_CANDIDATES = [*generators(), *SELECTED_SETS, *REFERENCE_SETS]


# The data-efficiency sweep (rules/sweep.smk, config `sweep:`).
SWEEP = config["sweep"]


def sweep_name(value):
    """A fraction's or ratio's wildcard: 0.5 -> '0.5', 1.0 -> '1' (as idc_synth.sweep)."""
    return f"{float(value):g}"


SWEEP_FRACTIONS = [sweep_name(value) for value in sorted(set(SWEEP["real_fractions"]))]
# Ratio 0 (real only) is every cell's reference, so it is always trained.
SWEEP_RATIOS = [sweep_name(value) for value in sorted({0, *SWEEP["synthetic_ratios"]})]
SWEEP_SYNTHETIC_RATIOS = [ratio for ratio in SWEEP_RATIOS if float(ratio) > 0]
SWEEP_LARGEST_RATIO = max(float(ratio) for ratio in SWEEP_RATIOS)


wildcard_constraints:
    fraction=r"[0-9.]+",
    ratio=r"[0-9.]+",


def sweep_train(fraction):
    """The packed train patches a fraction trains on: the main ones for fraction 1."""
    if float(fraction) == 1:
        return packed("train")
    subset = rules.sweep_subset.output
    return {
        "train_images": subset.train_images.format(fraction=fraction),
        "train_table": subset.train_table.format(fraction=fraction),
    }


def sweep_split(fraction):
    """The split table a fraction's draws are sized by (its excluded patients do not count)."""
    if float(fraction) == 1:
        return rules.split.output.split
    return rules.sweep_subset.output.split.format(fraction=fraction)
