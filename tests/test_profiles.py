"""The ready profiles of the real study (GPU workstation, SLURM GPU cluster, CPU workstation)
plan it on a tree with the real data set's shape, with the data root the one thing set; the
published-split preset plans 84 / 29 / 49 patients there.

Dry runs only (seconds): the tree has the full set's 279 patients, with the published split's
ids among them, but 4,000 patches instead of 277,524 (the DAG depends on the patients and the
config, not on the patch count; benchmarks/ time the full tree).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from make_full_scale_tree import FULL_SCALE, write_tree
from workflow_helpers import REPO, copy_workflow, default_config, dry_runs

pytestmark = pytest.mark.workflow
PROFILES = ("idc-gpu", "idc-slurm-gpu", "idc-cpu")
DEMO = yaml.safe_load((REPO / "config.yaml").read_text())


def study_of(profile: str) -> dict:
    """The settings file a profile reads on top of config.yaml."""
    profile_config = yaml.safe_load((REPO / "profiles" / profile / "config.yaml").read_text())
    config_file, study_file = profile_config["configfiles"]
    assert config_file == "config.yaml"
    return yaml.safe_load((REPO / study_file).read_text())


@pytest.fixture(scope="module")
def full_shape_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("idc-full-shape")
    idc = round(4000 * FULL_SCALE["idc"] / FULL_SCALE["patches"])
    write_tree(root, patches=4000, patients=FULL_SCALE["patients"], idc=idc, seed=0)
    return root


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    """The dry runs here, in one copy of the workflow with the default config; the GPU
    partition test reads the plan of idc-slurm-gpu's full-study test, not a second run."""
    return dry_runs(copy_workflow(tmp_path_factory.mktemp("profiles"), default_config()))


def job_counts(output: str) -> dict[str, int]:
    """The dry run's job-stats table: rule -> jobs."""
    table = output.split("Job stats:", 1)[1]
    return {
        match[1]: int(match[2])
        for match in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.MULTILINE)
    }


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_plans_the_full_study_with_only_the_data_root_set(
    dry_run, full_shape_tree, profile
):
    # preflight=warn: device cuda on a machine without a GPU is refused (tests/test_own_data.py)
    run = dry_run(
        "--profile",
        f"profiles/{profile}",
        "--config",
        f"data={{root: {full_shape_tree}}}",
        "preflight=warn",
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    study = study_of(profile)
    seeds = len(study["classifier"]["seeds"])
    arms = len(study.get("arms") or DEMO["arms"])
    jobs = job_counts(output)
    assert jobs["train_classifier"] == arms * seeds + 2  # + one synthetic-only per generator
    assert jobs["predict"] == jobs["train_classifier"]
    assert jobs["train_dcgan"] == 2 and jobs["train_diffusion"] == 1
    assert jobs["sample_dcgan"] == jobs["sample_diffusion"] == seeds  # a draw per seed
    assert jobs["manifest"] == jobs["split"] == 1 and "make_demo_data" not in jobs
    # the published split, planned from the file names before any job
    assert re.search(r"split sizes \(patients\)\s+train 84, val 29, test 49", output)
    assert re.search(r"patients left out\s+117: ", output)
    assert "published patient split janowczyk2016" in output
    # the profile's settings reached the rules
    unet_steps = study["diffusion"]["unet_steps"]
    assert f"--device {study['device']}" in output and f'"unet_steps": {unet_steps}' in output


def test_slurm_gpu_profile_gives_every_gpu_rule_a_gpu_on_the_gpu_partition(
    dry_run, full_shape_tree
):
    run = dry_run(
        "--profile", "profiles/idc-slurm-gpu", "--config", f"data={{root: {full_shape_tree}}}"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    blocks = re.findall(r"^(?:local)?rule (\w+):\n(.*?)(?=^\S|\Z)", run.stdout, re.M | re.S)
    resources = {
        rule: re.search(r"resources: (.*)", body)[1]
        for rule, body in blocks
        if "resources:" in body
    }
    gpu_rules = {
        "train_classifier",
        "predict",
        "train_dcgan",
        "sample_dcgan",
        "train_diffusion",
        "sample_diffusion",
    }
    for rule in gpu_rules:
        assert "gpu=1" in resources[rule] and "slurm_partition=gpu" in resources[rule], rule
    assert "gpu=" not in resources["manifest"].replace("slurm_partition=gpu", "")


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_without_a_data_root_says_how_to_set_it(dry_run, profile):
    run = dry_run("--profile", f"profiles/{profile}")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "data.root: not set" in output and "--config 'data={root: " in output
    assert "Traceback" not in output
