"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from filelock import FileLock
from patchdata import make_tree

TORCH_THREADS = torch.get_num_threads()


@pytest.fixture(autouse=True)
def torch_threads():
    """Entry scripts run in process limit torch's threads to their job's (runtime.
    limit_torch_threads); restore the default, so that a later test's floating-point sums, and so
    its trained models, do not depend on which tests ran before it."""
    yield
    if torch.get_num_threads() != TORCH_THREADS:
        torch.set_num_threads(TORCH_THREADS)


@pytest.fixture
def patch_tree(tmp_path: Path) -> Path:
    """Six patients with different IDC shares: enough for a stratified split."""
    counts = {
        "1001": (8, 4),
        "1002": (10, 2),
        "1003": (6, 6),
        "1004": (9, 3),
        "1005": (7, 5),
        "1006": (11, 1),
    }
    return make_tree(tmp_path / "idc", counts)


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory, worker_id) -> Path:
    """The tiny study (tests/config/tiny.yaml) run to the end, once per session, with what the
    user saw in console.txt. Tests read it; a test that changes or reruns it works on a copy
    (workflow_helpers.copy_study). Under pytest-xdist (`-n 2`, as CI runs the workflow tier) the
    first worker to ask runs it in the session's shared temp folder and the others wait for it."""
    if worker_id == "master":
        return _run_tiny_study(tmp_path_factory.mktemp("tiny-study"))
    shared = tmp_path_factory.getbasetemp().parent / "tiny-study"
    with FileLock(f"{shared}.lock"):
        if (shared / "console.txt").is_file():
            return shared
        if shared.exists():
            pytest.fail("the tiny study failed in another worker: see that worker's first error")
        shared.mkdir()
        return _run_tiny_study(shared)


def _run_tiny_study(folder: Path) -> Path:
    from workflow_helpers import copy_workflow, snakemake, tiny_config

    workdir = copy_workflow(folder, tiny_config())
    run = snakemake(workdir, timeout=3600)  # ~3 min on an idle 2-core machine
    assert run.returncode == 0, run.stderr[-4000:]
    (workdir / "console.txt").write_text(run.stdout + run.stderr)
    return workdir
