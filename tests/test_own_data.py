"""A user's own data, first time right, on a few real patients (../shared/data/idc-real, linked
into a temp root): `--config 'data={root: ...}'` alone plans a study of that root, the study is
printed and recorded so that `--report` afterwards describes it, typed --config values work, and
a study that cannot answer stops at `snakemake -n` with one line naming the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from patchdata import REAL_IDC, link_real_patients
from test_config_matrix import dry_run_rules
from workflow_helpers import copy_workflow, snakemake, tiny_config

pytestmark = pytest.mark.workflow


def real_root(folder: Path, patients: int) -> Path:
    """A root holding the first `patients` real patients (linked, never copied)."""
    names = sorted(p.name for p in REAL_IDC.iterdir() if p.is_dir()) if REAL_IDC.is_dir() else []
    return link_real_patients(folder, names[:patients])


def root_option(root: Path) -> str:
    return f"data={{root: {root}}}"


def refusal(run) -> str:
    """The preflight's refusal lines of a failed command (it must have failed before any job)."""
    output = run.stdout + run.stderr
    assert run.returncode != 0 and "Job stats" not in output, output[-3000:]
    lines = [line.strip() for line in output.splitlines() if "; fix: " in line]
    assert len(lines) == 1, output[-3000:]
    return lines[0]


def test_a_root_alone_is_the_study_and_later_commands_describe_it(tmp_path):
    root = real_root(tmp_path / "idc", 8)
    workdir = copy_workflow(tmp_path / "run", tiny_config())
    dry = snakemake(workdir, "-n", "--config", root_option(root))
    output = dry.stdout + dry.stderr
    assert dry.returncode == 0, output[-3000:]
    assert "make_demo_data" not in output and "manifest" in dry.stdout
    assert "data.source folder implied by data.root" in output
    assert re.search(rf"data\.root\s+{re.escape(str(root))}\n", output)
    assert re.search(r"patients train 4, val 2, test 2", output)
    assert not (workdir / "results/study.yaml").exists()  # a dry run records nothing

    run = snakemake(workdir, "results/data/split.parquet", "--config", root_option(root))
    assert run.returncode == 0, run.stderr[-3000:]
    assert str(root) in (workdir / "results/study.yaml").read_text()
    # no --config: the recorded study, not the demo
    again = snakemake(workdir, "-n")
    output = again.stdout + again.stderr
    assert again.returncode == 0 and "make_demo_data" not in output, output[-3000:]
    assert "results/study.yaml, the last run's command line" in output
    # a command naming its own config says that the record is not applied
    other = snakemake(workdir, "-n", "--config", "preflight=warn")
    assert "results/study.yaml, the last run's, not applied" in other.stdout + other.stderr
    report = snakemake(workdir, "--report", "report.html", "results/data/split.parquet")
    assert report.returncode == 0, report.stderr[-3000:]
    html = (workdir / "report.html").read_text()
    assert re.search(r"data root <tt[^>]*>(<span[^>]*>)?" + re.escape(str(root)), html)
    assert "procedurally generated demo patches" not in html


def test_typed_config_values_plan_the_study_they_say(tmp_path):
    root = real_root(tmp_path / "idc", 8)
    config = tiny_config()
    config["arms"] = ["baseline", "dcgan"]
    workdir = copy_workflow(tmp_path / "run", config)
    rules = dry_run_rules(
        workdir,
        "--config",
        root_option(root),
        "classifier={seeds: [0, 1, 2]}",
        "split={preset: null}",
        "dcgan={conditional: true}",
    )
    assert rules["train_classifier"] == 2 * 3 + 1  # 2 arms x 3 seeds + 1 synthetic-only
    assert rules["train_dcgan"] == 1  # conditional: true, a boolean


def test_demo_source_with_a_root_is_a_contradiction(tmp_path):
    workdir = copy_workflow(tmp_path / "run", tiny_config())
    run = snakemake(workdir, "-n", "--config", f"data={{source: demo, root: {tmp_path}}}")
    assert run.returncode != 0
    assert "data.source 'demo' and data.root" in run.stdout + run.stderr


def test_one_test_patient_stops_the_dry_run(tmp_path):
    root = real_root(tmp_path / "idc", 4)  # stratified: train 2, val 1, test 1
    workdir = copy_workflow(tmp_path / "run", tiny_config())
    line = refusal(snakemake(workdir, "-n", "--config", root_option(root)))
    assert line.startswith("1 test patient(s): the primary test needs at least 2")
    assert line.endswith(
        "fix: add patients to data.root, or raise split.fractions.test (stratified split)"
    )


def test_a_published_split_missing_from_the_root_stops_the_dry_run(tmp_path):
    root = real_root(tmp_path / "idc", 8)  # none of them a published test patient
    workdir = copy_workflow(tmp_path / "run", tiny_config())
    run = snakemake(workdir, "-n", "--config", root_option(root), "split={preset: janowczyk2016}")
    line = refusal(run)
    assert "no listed test patient is in the root" in line
    assert "fix: split.preset: null" in line and "--config 'split={preset: null}'" in line


def test_cuda_without_a_gpu_stops_the_dry_run_and_warn_goes_on(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    workdir = copy_workflow(tmp_path / "run", tiny_config())
    line = refusal(snakemake(workdir, "-n", "--config", "device=cuda"))
    assert line.startswith("device: cuda, but this machine has no visible GPU; fix:")
    assert "snakemake --profile profiles/idc-cpu --config 'data={root: ...}'" in line
    warned = snakemake(workdir, "-n", "--config", "device=cuda", "preflight=warn")
    output = warned.stdout + warned.stderr
    assert warned.returncode == 0 and "Job stats" in output, output[-3000:]
    assert "preflight warning: device: cuda" in output


def test_a_configfile_beside_a_profile_adds_to_its_configfiles_when_listed(tmp_path):
    root = real_root(tmp_path / "idc", 8)
    workdir = copy_workflow(tmp_path / "run", tiny_config())
    mine = tmp_path / "mine.yaml"
    mine.write_text(f"data:\n  root: {root}\nsplit:\n  preset: null\ndevice: auto\n")
    profile = ("--profile", "profiles/idc-gpu")
    listed = snakemake(
        workdir, "-n", *profile, "--configfile", "config.yaml", "profiles/idc-study.yaml", str(mine)
    )
    output = listed.stdout + listed.stderr
    assert listed.returncode == 0, output[-3000:]
    assert "classifier seeds 0, 1, 2, 3, 4" in output  # the study profile's, under mine
    assert "replaced the profile's configfiles" not in output
    alone = snakemake(workdir, "-n", *profile, "--configfile", str(mine))
    output = alone.stdout + alone.stderr
    assert "classifier seeds 0, 1\n" in output.replace("; device", "\n")  # the tiny config's
    assert "--configfile config.yaml profiles/idc-study.yaml yours.yaml" in output
