"""Running the real Snakefile from tests: copies of the workflow (benchmarks/workflow_copy.py,
with the tiny config) or of a finished study, snakemake in a subprocess, what its dry runs plan
and what a study's summary reads."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from workflow_copy import (  # noqa: F401  (the tests import these from here)
    REPO,
    TINY_CONFIG,
    copy_workflow,
    default_config,
    tiny_config,
    write_config,
)

from idc_synth.report.summary import build_summary, context, read_split_info, read_tables


def checkout_env(workflow: Path = REPO) -> dict[str, str]:
    """The environment of a child Python a test starts: `workflow`'s workflow_scripts first on
    PYTHONPATH, so the child (and a Snakemake job) imports that copy's library and entry scripts,
    not whichever checkout `pip install -e .` installed."""
    path = [str(workflow / "workflow_scripts"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}


def copy_study(study: Path, destination: Path) -> Path:
    """A finished study copied (workflow and results), for a test that changes or reruns it."""
    return Path(shutil.copytree(study, destination, symlinks=True))


def snakemake(
    workdir: Path, *args: str, env: dict | None = None, timeout: int = 900
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    return subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**checkout_env(workdir), **(env or {})},
    )


def dry_runs(workdir: Path, env: dict | None = None):
    """run(*args): `snakemake -n *args` in workdir as a user types it (no --cores: a profile
    brings them); each distinct command runs once, for tests that check one plan twice."""
    done: dict[tuple[str, ...], subprocess.CompletedProcess] = {}

    def run(*args: str) -> subprocess.CompletedProcess:
        if args not in done:
            done[args] = subprocess.run(
                [sys.executable, "-m", "snakemake", "-n", *args],
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=600,
                env={**checkout_env(workdir), **(env or {})},
            )
        return done[args]

    return run


def job_rules(run: subprocess.CompletedProcess) -> list[str]:
    """The rule of every job a (dry) run lists, one entry per job."""
    return [
        line.split()[1].rstrip(":")
        for line in (run.stdout + run.stderr).splitlines()
        if line.startswith(("rule ", "localrule "))
    ]


def dry_run_rules(workdir: Path, *args: str) -> dict[str, int]:
    """rule -> job count of a dry run (it must succeed)."""
    dry = snakemake(workdir, "-n", *args)
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-3000:]
    counts: dict[str, int] = {}
    for rule in job_rules(dry):
        counts[rule] = counts.get(rule, 0) + 1
    return counts


def jobs_after_change(workdir: Path, tmp_path: Path, section: str, key: str, value) -> set[str]:
    """Rules a dry run would rerun after one config value changes."""
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config[section][key] = value
    return set(
        dry_run_rules(workdir, "--configfile", str(write_config(tmp_path / "c.yaml", config)))
    )


def dry_run_inputs(workdir: Path, *args: str) -> dict[str, list[str]]:
    """rule name -> input files of every job a forced dry run of the whole DAG would run."""
    dry = snakemake(workdir, "-n", "--forceall", *args)
    assert dry.returncode == 0, dry.stderr[-2000:]
    inputs: dict[str, list[str]] = {}
    rule = None
    for line in (dry.stdout + dry.stderr).splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("input:") and rule:
            inputs.setdefault(rule, []).extend(line.split(":", 1)[1].replace(",", " ").split())
    return inputs


def summary_inputs(study: Path) -> dict[str, Path]:
    """write_summary's input tables by name, as its log lists them ("read <name>: <path>")."""
    log = (study / "results/logs/write_summary.log").read_text()
    return {name: study / path for name, path in re.findall(r"read (\w+): (\S+)$", log, re.M)}


def summary_values(study: Path) -> dict:
    """What the study's summary says, as data: the template's values (idc_synth.report.summary
    .context) from the study's own tables. Asserts that results/summary.md is that template
    rendered from them, so a test checks these values and the golden files own the wording."""
    config = yaml.safe_load((study / "config.yaml").read_text())
    frames = read_tables(summary_inputs(study))
    settings = {
        "alpha": config["statistics"]["alpha"],
        "data_source": config["data"]["source"],
        "arms": config["arms"],
        "split_info": read_split_info(study / "results/data/split_info.json"),
    }
    assert (study / "results/summary.md").read_text() == build_summary(frames, **settings)
    return context(frames, **settings)
