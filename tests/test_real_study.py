"""The tiny study on real tissue: twelve real patients of ../shared/data/idc-real (linked into a
temp root, never copied), run to the summary with the tiny settings. Real patches bring what the
demo hides: edge patches smaller than 50x50, patients with one class only, uneven patch counts,
real colour; the summary describes real data, not a demo."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from patchdata import link_real_patients
from workflow_helpers import copy_workflow, snakemake, tiny_config

pytestmark = pytest.mark.workflow

# patient: (class 0, class 1, edge patches smaller than 50x50), as in ../shared/data/idc-real
PATIENTS = {
    "10256": (16, 12, 0),
    "10260": (52, 20, 0),
    "10262": (49, 23, 0),
    "10264": (33, 26, 0),
    "10269": (35, 17, 0),
    "10279": (38, 13, 1),
    "10299": (30, 38, 0),
    "10302": (24, 46, 0),
    "10308": (41, 26, 0),
    "12878": (39, 9, 4),
    "10300": (41, 0, 1),  # class 0 only
    "12893": (0, 10, 0),  # class 1 only
}


@pytest.fixture(scope="module")
def real_study(tmp_path_factory) -> Path:
    """The workdir of the tiny study run to its summary on the real patients."""
    folder = tmp_path_factory.mktemp("real-study")
    root = link_real_patients(folder / "idc", list(PATIENTS))
    config = tiny_config()
    config["data"].update(source="folder", root=str(root))
    config["split"]["preset"] = None
    config["arms"] = ["baseline", "dcgan", "diffusion"]
    workdir = copy_workflow(folder / "run", config)
    run = snakemake(workdir, "results/summary.md", timeout=3600)
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir


def test_every_real_patch_is_ingested_and_edge_patches_are_padded(real_study):
    workdir = real_study
    manifest = pd.read_parquet(workdir / "results/data/manifest.parquet")
    counts = manifest.groupby(["patient", "label"]).size()
    for patient, (class0, class1, _) in PATIENTS.items():
        assert counts.get((patient, 0), 0) == class0 and counts.get((patient, 1), 0) == class1
    edge = manifest[(manifest["width"] != 50) | (manifest["height"] != 50)]
    assert len(edge) == sum(n for *_, n in PATIENTS.values())
    assert (edge["status"] == "padded").all() and (manifest["status"] != "padded").sum() > 0


def test_one_class_patients_are_split_and_every_split_has_both_classes(real_study):
    workdir = real_study
    split = pd.read_parquet(workdir / "results/data/split.parquet")
    assert split["patient"].is_unique and set(split["patient"]) == set(PATIENTS)
    totals = split.groupby("split")[["n_patches", "n_idc"]].sum()
    assert set(totals.index) == {"train", "val", "test"}
    assert ((totals["n_idc"] > 0) & (totals["n_patches"] > totals["n_idc"])).all(), totals


def test_image_quality_is_measured_on_real_tissue_with_its_floors(real_study):
    workdir = real_study
    table = pd.read_csv(workdir / "results/metrics/image_quality.tsv", sep="\t")
    for generator in ("dcgan", "diffusion"):
        for label in (0, 1):
            rows = table[
                (table["feature_space"] == "classifier")
                & (table["generator"] == generator)
                & (table["label"] == label)
            ]
            assert len(rows) == 1 and math.isfinite(rows["fid"].iloc[0]), rows
    floors = table[table["generator"].isin(["holdout", "real_val"])]
    assert set(floors["label"]) == {0, 1}


def test_the_summary_says_what_the_real_data_are(real_study):
    workdir = real_study
    summary = (workdir / "results/summary.md").read_text()
    patches = sum(class0 + class1 for class0, class1, _ in PATIENTS.values())
    assert "Demo caveat" not in summary
    assert (
        f"**What the data are:** real patches of the data root (`data.source: folder`): 12 "
        f"patients, {patches:,} patches" in summary
    )
