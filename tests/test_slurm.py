"""Run the tiny demo study's jobs up to its classification table through profiles/slurm on a
real SLURM cluster: data, packing, both generators' training and sampling, every classifier and
its predictions. The rest of the study (quality, statistics, figures, summary) is tested locally,
on the shared tiny study.

Needs a cluster this machine can submit to: `.ci/slurm/start-slurm.sh` starts a single-node
one (with accounting and two fake GPUs) and CI then sets IDC_SYNTH_SLURM=1. Without a cluster the
test is skipped; with IDC_SYNTH_SLURM=1 and no working `sinfo` it fails instead, so CI cannot
pass by skipping.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pandas as pd
import pytest
from workflow_helpers import REPO, copy_workflow, tiny_config

from idc_synth.metrics import METRIC_COLUMNS

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

# Rules that must have run as SLURM jobs (the workflow has more; every job that Snakemake did not
# run as a `localrule` must be a SLURM job).
REMOTE_RULES = {
    "make_demo_data",
    "manifest",
    "pack",
    "train_dcgan",
    "sample_dcgan",
    "train_diffusion",
    "sample_diffusion",
    "train_classifier",
    "predict",
}
# GPU rules of the tiny run: asked for one (fake) GPU each, they must be granted gres/gpu=1.
GPU_RULES = ("train_dcgan", "train_diffusion", "train_classifier")
TIMEOUT_S = 1200
TARGET = "results/metrics/classification.tsv"


def _sinfo_works() -> bool:
    if shutil.which("sinfo") is None:
        return False
    try:
        return subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _require_slurm() -> None:
    if _sinfo_works():
        return
    if os.environ.get("IDC_SYNTH_SLURM") == "1":
        pytest.fail("IDC_SYNTH_SLURM=1 but `sinfo` does not answer: is the cluster up?")
    pytest.skip(
        "no SLURM cluster: `sinfo` missing or failing; start one with "
        ".ci/slurm/start-slurm.sh (as root) and set IDC_SYNTH_SLURM=1"
    )


def slurm_config() -> dict:
    """The tiny study with one seed, one epoch and one sampling shard per class, and its
    generator arms only."""
    config = tiny_config()
    config["classifier"].update(seeds=[0], max_epochs=1)
    config["synthetic"]["shards_per_class"] = 1
    config["arms"] = ["baseline", "dcgan", "diffusion"]
    return config


def sacct(run_id: str, since: datetime) -> pd.DataFrame:
    """Allocation records (one per job) of one Snakemake run: the plugin names jobs by run id."""
    fields = ["JobID", "JobName", "State", "ExitCode", "Comment", "AllocTRES"]
    out = subprocess.run(
        [
            "sacct",
            "--allocations",
            "--noheader",
            "--parsable2",
            f"--starttime={since:%Y-%m-%dT%H:%M:%S}",
            f"--name={run_id}",
            f"--format={','.join(fields)}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    return pd.DataFrame(rows, columns=fields)


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory) -> dict:
    _require_slurm()
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm_workflow"), slurm_config())
    since = datetime.now() - timedelta(minutes=1)
    command = [
        "timeout",
        "-k",
        "30",
        str(TIMEOUT_S),
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "profiles/slurm",
        # Test-only: a fast first status check, logs kept for the assertions below, local
        # outputs need no latency wait, one thread per job: the node's two CPUs and two fake
        # GPUs then run two jobs at once (test_profile_threads_fit_a_two_core_node checks the
        # profile's own max-threads).
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--slurm-keep-successful-logs",
        "--latency-wait",
        "5",
        "--jobs",
        "4",
        "--max-threads",
        "1",
        "--set-resources",
        *(f"{rule}:gpu=1" for rule in GPU_RULES),
        "--",
        TARGET,
    ]
    started = time.monotonic()
    run = subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S + 60,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wall_s = time.monotonic() - started
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"snakemake --profile profiles/slurm failed:\n{output[-6000:]}"
    match = re.search(r"SLURM run ID: (\S+)", output)
    assert match, "the SLURM executor did not report a run ID:\n" + output[-3000:]
    jobs = sacct(match.group(1), since)
    print(f"\nSLURM run: {len(jobs)} jobs through SLURM, {wall_s:.0f} s wall")
    return {"workdir": workdir, "jobs": jobs, "wall_s": wall_s, "output": output}


def test_demo_study_runs_through_slurm(slurm_run):
    table = pd.read_csv(slurm_run["workdir"] / TARGET, sep="\t")
    assert list(table.columns) == list(METRIC_COLUMNS)
    assert sorted(zip(table["arm"], table["seed"], strict=True)) == [
        ("baseline", 0),
        ("dcgan", 0),
        ("diffusion", 0),
    ]


def test_every_remote_job_is_a_completed_slurm_job(slurm_run):
    jobs = slurm_run["jobs"]
    assert len(jobs) > 0, "sacct has no job of this run"
    assert (jobs["State"] == "COMPLETED").all(), jobs[["JobID", "State", "Comment"]]
    rules = jobs["Comment"].str.extract(r"^rule_(\w+?)(?:_wildcards_|$)")[0]
    assert rules.notna().all(), jobs["Comment"]
    assert set(rules) >= REMOTE_RULES
    # Every job Snakemake ran went through sbatch, except those it ran as localrules.
    output = slurm_run["output"]
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", output)
    assert done, output[-2000:]
    local = set(re.findall(r"^localrule (\w+):", output, flags=re.MULTILINE))
    assert "collect_metrics" in local and not local & set(rules)
    n_local = len(re.findall(r"^localrule \w+:", output, flags=re.MULTILINE))
    assert len(jobs) == int(done[-1][1]) - n_local


def test_slurm_logs_written_per_job(slurm_run):
    logs = list((slurm_run["workdir"] / ".snakemake/slurm_logs").glob("rule_*/**/*.log"))
    assert len(logs) == len(slurm_run["jobs"])
    job_ids = {path.stem for path in logs}
    assert job_ids == set(slurm_run["jobs"]["JobID"])


def test_gpu_rules_got_a_gpu(slurm_run):
    jobs = slurm_run["jobs"]
    gpu_jobs = jobs[jobs["Comment"].str.match(rf"^rule_({'|'.join(GPU_RULES)})(_wildcards_|$)")]
    assert len(gpu_jobs) >= len(GPU_RULES)
    assert gpu_jobs["AllocTRES"].str.contains("gres/gpu=1").all(), gpu_jobs
    cpu_jobs = jobs[jobs["Comment"].str.startswith("rule_manifest")]
    assert not cpu_jobs["AllocTRES"].str.contains("gres/gpu").any()


def test_profile_threads_fit_a_two_core_node():
    """SLURM keeps a job asking for more cores than any node has pending forever; the profile
    caps every rule's threads (no cluster needed for this check)."""
    import yaml

    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    assert 1 <= profile["max-threads"] <= 2
