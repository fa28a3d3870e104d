"""Every supported kind of config builds its DAG; the cheap ones run; bad ones stop at load time.

In the spirit of the model workflows' `.test/config_*`: each entry is the tiny config with one
change a user makes. Dry runs take seconds and share one copy of the workflow (each passes its
config with --configfile); the baseline-only study reruns what it changes in a copy of the
finished tiny study.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from patchdata import REAL_SAMPLE, make_tree
from workflow_helpers import (
    REPO,
    copy_study,
    copy_workflow,
    dry_run_rules,
    job_rules,
    snakemake,
    summary_values,
    tiny_config,
    write_config,
)

from idc_synth.arms import arms_of_kind, study_generators

pytestmark = pytest.mark.workflow


def baseline_only(config: dict) -> None:
    config["arms"] = ["baseline"]


def baseline_dcgan(config: dict) -> None:
    config["arms"] = ["baseline", "dcgan"]


def conditional_dcgan(config: dict) -> None:
    config["arms"] = ["baseline", "dcgan"]
    config["dcgan"]["conditional"] = True


def count_mode(mode: str, value: float | None):
    def change(config: dict) -> None:
        config["synthetic"]["count"] = {"mode": mode, **({} if value is None else {"value": value})}

    return change


MATRIX = {
    "baseline_only": baseline_only,
    "baseline_dcgan": baseline_dcgan,
    "conditional_dcgan": conditional_dcgan,
    "count_absolute": count_mode("absolute", 24),
    "count_ratio": count_mode("ratio", 0.5),
    "count_balance": count_mode("balance", None),
}


@pytest.fixture(scope="module")
def plan_copy(tmp_path_factory) -> Path:
    """One copy of the workflow (no results: every job is planned) for the dry runs here; each
    passes its own config with --configfile (a target must come before it)."""
    return copy_workflow(tmp_path_factory.mktemp("plans"), tiny_config())


def overlay(tmp_path: Path, config: dict) -> list[str]:
    return ["--configfile", str(write_config(tmp_path / "config.yaml", config))]


@pytest.mark.parametrize("name", MATRIX)
def test_config_builds_its_dag(plan_copy, tmp_path, name):
    config = tiny_config()
    MATRIX[name](config)
    rules = dry_run_rules(plan_copy, *overlay(tmp_path, config))
    # a synthetic-only classifier per generator arm; balance gives the majority class no
    # synthetic patches: none then
    tstr = len(arms_of_kind(config["arms"], "generator"))
    tstr = 0 if config["synthetic"]["count"]["mode"] == "balance" else tstr
    assert rules["train_classifier"] == len(config["arms"]) * 2 + tstr
    assert ("plot_quality" in rules) == bool(study_generators(config["arms"]))
    assert "collect_metrics" in rules  # tstr.tsv comes even where no tstr classifier trains
    if name == "conditional_dcgan":
        assert rules["train_dcgan"] == 1
    if name.startswith("count_"):
        # one synthetic draw per classifier seed (synthetic.replicates: per_seed); one job per
        # draw and shard makes both classes
        draws = max(len(config["classifier"]["seeds"]), len(config["classifier"]["tstr_seeds"]))
        shards = config["synthetic"]["shards_per_class"]
        assert rules["sample_dcgan"] == rules["sample_diffusion"] == shards * draws


def test_one_generator_per_draw_trains_each_with_its_own_seed(plan_copy, tmp_path):
    config = tiny_config()
    config["synthetic"]["generator_realizations"] = "per_draw"
    per_draw = overlay(tmp_path, config)
    rules = dry_run_rules(plan_copy, *per_draw)
    draws = max(len(config["classifier"]["seeds"]), len(config["classifier"]["tstr_seeds"]))
    assert draws > 1
    assert rules["train_dcgan"] == 2 and rules["train_diffusion"] == 1
    assert rules["train_dcgan_realization"] == 2 * (draws - 1)
    assert rules["train_diffusion_realization"] == draws - 1
    # draw 1 samples realization 1, trained with the generator's seed + 1
    shard = "results/synthetic/dcgan/draw1/class0/shard0.npy"
    dry = snakemake(plan_copy, "-n", "-p", "--forceall", shard, *per_draw)
    assert "results/models/realization1/dcgan/class0/generator.safetensors" in dry.stdout
    assert "results/models/dcgan/class0/generator.safetensors" not in dry.stdout
    seed = config["diffusion"].get("seed", 0) + 1
    losses = "results/models/realization1/diffusion/losses.tsv"
    dry = snakemake(plan_copy, "-n", "-p", losses, *per_draw)
    assert f'\\"seed\\": {seed}' in dry.stdout or f'"seed": {seed}' in dry.stdout


def test_baseline_only_study_runs_to_the_end(finished_run, tmp_path):
    """The finished tiny study cut to its baseline: nothing retrains, the tables and summary are
    rewritten for one arm (its DAG has no generator rule: test_config_builds_its_dag)."""
    study = copy_study(finished_run, tmp_path / "study")
    config = tiny_config()
    baseline_only(config)
    write_config(study / "config.yaml", config)
    run = snakemake(study)
    assert run.returncode == 0, run.stderr[-4000:]
    assert not {"train_classifier", "train_dcgan", "train_diffusion"} & set(job_rules(run))
    table = pd.read_csv(study / "results/metrics/classification.tsv", sep="\t")
    assert set(table["arm"]) == {"baseline"}
    values = summary_values(study)
    assert values["arms"] == ["baseline"] and values["primary_table"] is None
    assert values["discussion"] == {}


def test_pretrained_diffusion_dag_lists_the_base_files(plan_copy, tmp_path):
    from tiny_sd import TINY_RESOLUTION, save_tiny_pipeline

    base = save_tiny_pipeline(tmp_path / "tiny-sd")
    config = tiny_config()
    config["diffusion"].update(
        mode="pretrained", pretrained_path=str(base), resolution=TINY_RESOLUTION
    )
    losses = "results/models/diffusion/losses.tsv"
    dry = snakemake(plan_copy, "-n", losses, *overlay(tmp_path, config))
    assert dry.returncode == 0, dry.stderr[-2000:]
    inputs = re.search(r"rule train_diffusion:\n\s+input: ([^\n]+)", dry.stdout).group(1)
    assert str(base / "model_index.json") in inputs
    assert str(base / "unet" / "diffusion_pytorch_model.safetensors") in inputs


def patient_lists(workdir: Path, assignment: dict[str, list[str]]) -> dict[str, str]:
    for split, patients in assignment.items():
        (workdir / "lists").mkdir(exist_ok=True)
        (workdir / "lists" / f"{split}.txt").write_text("\n".join(patients) + "\n")
    return {split: f"lists/{split}.txt" for split in assignment}


def test_patient_lists_are_inputs_of_the_split(finished_run, tmp_path):
    """In a copy of the finished tiny study (its demo patients 90001-90006)."""
    workdir = copy_study(finished_run, tmp_path / "study")
    config = tiny_config()
    config["split"]["patient_lists"] = patient_lists(
        workdir,
        {"train": ["90001", "90002", "90003"], "val": ["90005"], "test": ["90004", "90006"]},
    )
    write_config(workdir / "config.yaml", config)
    run = snakemake(workdir, "results/data/split.parquet")
    assert run.returncode == 0, run.stderr[-3000:]
    split = pd.read_parquet(workdir / "results/data/split.parquet")
    assert split.loc[split["patient"] == "90005", "split"].item() == "val"
    patient_lists(workdir, {"val": ["90006"], "test": ["90004", "90005"]})  # the user swaps two
    assert "split" in dry_run_rules(workdir, "results/data/split.parquet")


def test_missing_patient_list_is_found_when_the_workflow_loads(tmp_path):
    config = tiny_config()
    config["split"]["patient_lists"] = {"train": "t.txt", "val": "v.txt", "test": "x.txt"}
    workdir = copy_workflow(tmp_path, config)
    run = snakemake(workdir, "-n")
    assert run.returncode != 0
    assert "split.patient_lists.train: t.txt is not a file" in run.stdout + run.stderr
    assert not (workdir / "results").exists()


def test_split_fractions_must_sum_to_one(tmp_path):
    config = tiny_config()
    config["split"]["fractions"] = {"train": 0.7, "val": 0.3, "test": 0.3}
    run = snakemake(copy_workflow(tmp_path, config), "-n")
    assert run.returncode != 0 and "sum to 1.3; they must sum to 1" in run.stdout + run.stderr


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"pretrained_path": "/nonexistent/sd"}, "does not exist or is not a folder"),
        ({"pretrained_path": "org/hub-model"}, "set allow_download: true"),
        ({"pretrained_path": "."}, "is missing model_index.json, unet"),
    ],
)
def test_bad_pretrained_path_is_found_when_the_workflow_loads(tmp_path, settings, message):
    config = tiny_config()
    config["diffusion"].update(mode="pretrained", **settings)
    run = snakemake(copy_workflow(tmp_path, config), "-n")
    assert run.returncode != 0
    assert (
        "diffusion.pretrained_path:" in run.stdout + run.stderr
        and message in run.stdout + run.stderr
    )
    assert "Traceback" not in run.stdout + run.stderr


def test_a_changed_patch_in_the_data_root_reruns_the_manifest(tmp_path):
    root = make_tree(tmp_path / "idc", {f"{1001 + p}": (6, 3) for p in range(6)})
    config = tiny_config()
    config["data"].update(source="folder", root=str(root))
    workdir = copy_workflow(tmp_path / "run", config)
    run = snakemake(workdir, "results/data/manifest.parquet")
    assert run.returncode == 0, run.stderr[-3000:]
    assert dry_run_rules(workdir, "results/data/manifest.parquet") == {}
    patch = next(root.glob("1003/1/*.png"))
    patch.write_bytes(patch.read_bytes()[:60])  # overwritten in place with a truncated PNG
    assert "manifest" in dry_run_rules(workdir, "results/data/manifest.parquet")
    run = snakemake(workdir, "results/data/manifest.parquet")
    assert run.returncode == 0, run.stderr[-3000:]
    qc = pd.read_csv(workdir / "results/data/qc_rejected.tsv", sep="\t")
    assert qc["path"].tolist() == [str(patch.relative_to(root))]


@pytest.mark.skipif(not REAL_SAMPLE.is_dir(), reason=f"real IDC sample not found at {REAL_SAMPLE}")
def test_folder_source_on_the_real_sample_builds_its_dag(plan_copy, tmp_path):
    config = tiny_config()
    config["data"].update(source="folder", root=str(REAL_SAMPLE))
    config["preflight"] = "warn"  # its 2 patients cannot fill 3 splits (tests/test_own_data.py)
    rules = dry_run_rules(plan_copy, *overlay(tmp_path, config))
    assert "make_demo_data" not in rules and rules["manifest"] == 1


def test_readme_commands_never_put_a_target_after_configfile():
    """--configfile takes several values: a target after it would be read as a config file."""
    for line in (REPO / "README.md").read_text().splitlines():
        if "snakemake" in line and "--configfile " in line:
            after = line.split("--configfile ", 1)[1].split("#")[0].split()
            assert len(after) == 1 or after[1].startswith("-"), line


def test_a_colour_matplotlib_cannot_draw_stops_the_workflow_before_any_job(tmp_path):
    config = tiny_config()
    config["figures"]["colors"]["dcgan"] = "#12345"
    workdir = copy_workflow(tmp_path, config)
    run = snakemake(workdir, "-n")
    assert run.returncode != 0
    assert "figures.colors.dcgan: '#12345' is not a colour" in run.stdout + run.stderr
    assert not (workdir / "results").exists()
