"""Every supported kind of config builds its DAG; the cheap ones run; bad ones stop at load time.

In the spirit of the model workflows' `.test/config_*`: each entry is the tiny config with one
change a user makes. Dry runs take seconds; only the baseline-only study runs to the end.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from patchdata import REAL_SAMPLE, make_tree
from test_workflow import REPO, copy_workflow, snakemake, tiny_config

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


def dry_run_rules(workdir: Path, *args: str) -> dict[str, int]:
    """rule -> job count of a dry run (it must succeed)."""
    dry = snakemake(workdir, "-n", *args)
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-3000:]
    counts: dict[str, int] = {}
    for line in (dry.stdout + dry.stderr).splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
            counts[rule] = counts.get(rule, 0) + 1
    return counts


@pytest.mark.parametrize("name", MATRIX)
def test_config_builds_its_dag(tmp_path, name):
    config = tiny_config()
    MATRIX[name](config)
    rules = dry_run_rules(copy_workflow(tmp_path, config))
    generators = [arm for arm in config["arms"] if arm != "baseline"]
    # balance gives the majority class no synthetic patches: no synthetic-only classifier
    tstr = 0 if config["synthetic"]["count"]["mode"] == "balance" else len(generators)
    assert rules["train_classifier"] == len(config["arms"]) * 2 + tstr
    assert ("plot_quality" in rules) == bool(generators)
    if name == "conditional_dcgan":
        assert rules["train_dcgan"] == 1
    if name.startswith("count_"):
        # one synthetic draw per classifier seed (synthetic.replicates: per_seed); one job per
        # draw and shard makes both classes
        draws = max(len(config["classifier"]["seeds"]), len(config["classifier"]["tstr_seeds"]))
        shards = config["synthetic"]["shards_per_class"]
        assert rules["sample_dcgan"] == rules["sample_diffusion"] == shards * draws


def test_one_generator_per_draw_trains_each_with_its_own_seed(tmp_path):
    config = tiny_config()
    config["synthetic"]["generator_realizations"] = "per_draw"
    workdir = copy_workflow(tmp_path, config)
    rules = dry_run_rules(workdir)
    draws = max(len(config["classifier"]["seeds"]), len(config["classifier"]["tstr_seeds"]))
    assert draws > 1
    assert rules["train_dcgan"] == 2 and rules["train_diffusion"] == 1
    assert rules["train_dcgan_realization"] == 2 * (draws - 1)
    assert rules["train_diffusion_realization"] == draws - 1
    # draw 1 samples realization 1, trained with the generator's seed + 1
    shard = "results/synthetic/dcgan/draw1/class0/shard0.npy"
    dry = snakemake(workdir, "-n", "-p", "--forceall", shard)
    assert "results/models/realization1/dcgan/class0/generator.safetensors" in dry.stdout
    assert "results/models/dcgan/class0/generator.safetensors" not in dry.stdout
    seed = config["diffusion"].get("seed", 0) + 1
    dry = snakemake(workdir, "-n", "-p", "results/models/realization1/diffusion/losses.tsv")
    assert f'\\"seed\\": {seed}' in dry.stdout or f'"seed": {seed}' in dry.stdout


def test_baseline_only_study_runs_to_the_end(tmp_path):
    config = tiny_config()
    baseline_only(config)
    workdir = copy_workflow(tmp_path, config)
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-4000:]
    assert (workdir / "results/summary.md").is_file()
    table = pd.read_csv(workdir / "results/metrics/classification.tsv", sep="\t")
    assert set(table["arm"]) == {"baseline"}
    assert not (workdir / "results/figures/quality.png").exists()


def test_classic_arms_enter_the_family_against_the_generator(tmp_path):
    """Stain, rebalance and mixup train as arms; the generator is compared with the baseline
    and with the classic arm of the best val score, the combined arm with stain alone."""
    config = tiny_config()
    config["arms"] = ["baseline", "dcgan", "stain", "rebalance", "mixup", "dcgan+stain"]
    config["robustness"]["perturbations"] = {
        "stain": [0.2],
        "brightness_contrast": [],
        "blur": [],
        "jpeg": [],
    }
    workdir = copy_workflow(tmp_path, config)
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-4000:]
    results = workdir / "results"
    infos = {
        arm: json.loads((results / f"classifiers/{arm}/seed0/info.json").read_text())
        for arm in config["arms"]
    }
    assert infos["stain"]["settings"]["stain_strength"] == 0.05
    assert infos["dcgan+stain"]["settings"]["stain_strength"] == 0.05
    assert infos["dcgan+stain"]["synthetic_draw"] == 0 and infos["stain"]["synthetic_draw"] == -1
    assert (
        infos["rebalance"]["settings"]["balance_classes"] and infos["rebalance"]["pos_weight"] == 1
    )
    assert infos["mixup"]["settings"]["mixup_alpha"] == 0.2
    val = {
        arm: np.mean(
            [
                json.loads((results / f"classifiers/{arm}/seed{seed}/info.json").read_text())[
                    "val_scores"
                ]["balanced_accuracy"]
                for seed in config["classifier"]["seeds"]
            ]
        )
        for arm in ("stain", "rebalance", "mixup")
    }
    best = max(sorted(val), key=val.get)
    primary = pd.read_csv(results / "metrics/primary.tsv", sep="\t")
    assert primary["comparison"].tolist() == [
        "dcgan vs baseline",
        f"dcgan vs {best}",
        "dcgan+stain vs stain",
    ]
    assert (primary["family_size"] == 3).all()
    summary = (results / "summary.md").read_text()
    assert f"each generator vs {best}, the classic augmentation arm with the best val" in summary
    assert "- **dcgan+stain vs stain:" in summary
    assert "on top of stain:" in summary.split("## Advantages and limitations")[1]
    simulated = pd.read_csv(results / "metrics/calibration_simulation.tsv", sep="\t")
    assert (simulated["family_size"] == 3).all()


def test_pretrained_diffusion_dag_lists_the_base_files(tmp_path):
    from tiny_sd import TINY_RESOLUTION, save_tiny_pipeline

    base = save_tiny_pipeline(tmp_path / "tiny-sd")
    config = tiny_config()
    config["diffusion"].update(
        mode="pretrained", pretrained_path=str(base), resolution=TINY_RESOLUTION
    )
    workdir = copy_workflow(tmp_path / "run", config)
    dry = snakemake(workdir, "-n", "results/models/diffusion/losses.tsv")
    assert dry.returncode == 0, dry.stderr[-2000:]
    inputs = re.search(r"rule train_diffusion:\n\s+input: ([^\n]+)", dry.stdout).group(1)
    assert str(base / "model_index.json") in inputs
    assert str(base / "unet" / "diffusion_pytorch_model.safetensors") in inputs


def patient_lists(workdir: Path, assignment: dict[str, list[str]]) -> dict[str, str]:
    for split, patients in assignment.items():
        (workdir / "lists").mkdir(exist_ok=True)
        (workdir / "lists" / f"{split}.txt").write_text("\n".join(patients) + "\n")
    return {split: f"lists/{split}.txt" for split in assignment}


def test_patient_lists_are_inputs_of_the_split(tmp_path):
    config = tiny_config()
    config["split"]["patient_lists"] = patient_lists(
        tmp_path,
        {"train": ["90001", "90002", "90003"], "val": ["90005"], "test": ["90004", "90006"]},
    )
    workdir = copy_workflow(tmp_path, config)
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
def test_folder_source_on_the_real_sample_builds_its_dag(tmp_path):
    config = tiny_config()
    config["data"].update(source="folder", root=str(REAL_SAMPLE))
    config["preflight"] = "warn"  # its 2 patients cannot fill 3 splits (tests/test_own_data.py)
    rules = dry_run_rules(copy_workflow(tmp_path, config))
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
