"""The workflow on data roots as users have them: it loads whatever the root holds (dangling
links, loops), expands `~`, shows the ingest preflight on the console, and ingests the Kaggle
archive's nested copy once. Snakemake runs in a temp copy of the workflow."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from patchdata import NESTED, REAL_SAMPLE, kaggle_root, make_tree
from workflow_helpers import copy_workflow, snakemake, tiny_config

pytestmark = pytest.mark.workflow


def folder_config(root: str | Path) -> dict:
    config = tiny_config()
    config["data"].update(source="folder", root=str(root))
    return config


def test_links_that_dangle_or_loop_never_block_loading(tmp_path):
    root = make_tree(tmp_path / "idc", {f"{1001 + p}": (6, 3) for p in range(6)})
    (root / "1001" / "0" / "1001_idx5_x9001_y9001_class0.png").symlink_to(tmp_path / "gone.png")
    (root / "1002" / "0" / "loop.png").symlink_to("loop.png")
    (root / "1003" / "up").symlink_to("..", target_is_directory=True)
    workdir = copy_workflow(tmp_path / "run", folder_config(root))
    for command in (["-n"], ["--unlock"]):
        run = snakemake(workdir, *command)
        output = run.stdout + run.stderr
        assert run.returncode == 0 and "Traceback" not in output, output[-3000:]
    assert re.search(r"QC rejects\s+2 \(dangling link: 1, link loop: 1\)", output)
    assert "skipped: linked folder already walked: 1" in output
    run = snakemake(workdir, "results/data/manifest.parquet")
    assert run.returncode == 0, run.stderr[-3000:]
    qc = pd.read_csv(workdir / "results/data/qc_rejected.tsv", sep="\t")
    assert sorted(qc["reason"].str.split(":").str[0]) == [
        "dangling link",
        "link loop",
        "skipped",
    ]


def test_a_data_root_under_home_is_expanded(tmp_path):
    home = tmp_path / "home"
    make_tree(home / "idc", {f"{1001 + p}": (6, 3) for p in range(6)})
    workdir = copy_workflow(tmp_path / "run", folder_config("~/idc"))
    run = snakemake(workdir, "-n", env={"HOME": str(home)})
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert re.search(rf"data root\s+{re.escape(str(home / 'idc'))}\n", run.stderr)
    assert "manifest" in run.stdout


def test_a_kaggle_like_root_is_ingested_once_and_the_split_uses_the_preset(tmp_path):
    """Six patients, three of them with the published split's ids, plus the nested copy."""
    patients = {"10254": (6, 3), "10304": (5, 4), "9346": (7, 2), "13688": (6, 3)}
    patients |= {"12909": (6, 3), "9382": (5, 3), "1001": (4, 4)}  # 1001: in no list
    plain = make_tree(tmp_path / "plain", patients)
    root = kaggle_root(tmp_path / "kaggle", plain)
    config = folder_config(root)
    config["split"]["preset"] = "janowczyk2016"
    workdir = copy_workflow(tmp_path / "run", config)
    run = snakemake(workdir, "results/data/split.parquet")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    decoded = output[output.index("Ingest preflight (after decoding)") :]
    assert re.search(
        r"duplicates\s+61 duplicate files skipped \(nested copy under IDC_regular_ps50_idx5/\)",
        decoded,
    )
    assert re.search(r"split sizes \(patients\)\s+train 3, val 1, test 2", decoded)
    assert re.search(r"patients left out\s+1: 1001", decoded)
    manifest = pd.read_parquet(workdir / "results/data/manifest.parquet")
    assert len(manifest) == 61 and not manifest["path"].str.startswith(NESTED).any()
    split = pd.read_parquet(workdir / "results/data/split.parquet")
    assert split.set_index("patient")["split"].to_dict() == {
        "10254": "train",
        "10304": "train",
        "9346": "train",
        "13688": "val",
        "12909": "test",
        "9382": "test",
    }


@pytest.mark.skipif(not REAL_SAMPLE.is_dir(), reason=f"real IDC sample not found at {REAL_SAMPLE}")
def test_real_patches_in_the_kaggle_layout_show_their_preflight_even_when_the_split_fails(tmp_path):
    root = kaggle_root(tmp_path / "kaggle", REAL_SAMPLE)
    workdir = copy_workflow(tmp_path / "run", folder_config(root))
    refused = snakemake(workdir, "-n", "results/data/split.parquet")
    assert (
        refused.returncode != 0 and "needs at least 3 patients" in refused.stdout + refused.stderr
    )
    # an expert goes on (preflight: warn) to the split job, which stops after decoding
    run = snakemake(workdir, "results/data/split.parquet", "--config", "preflight=warn")
    output = run.stdout + run.stderr
    assert run.returncode != 0  # two patients cannot fill three splits
    decoded = output[output.index("Ingest preflight (after decoding)") :]
    assert re.search(r"patches\s+1,397 \(class 0: 1,251, class 1: 146\)", decoded)
    assert re.search(
        r"duplicates\s+1,397 duplicate files skipped \(nested copy under IDC_regular_ps50_idx5/\)",
        decoded,
    )
    assert "at least 3 patients" in decoded
