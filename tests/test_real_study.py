"""The tiny study on real tissue: twelve real patients of ../shared/data/idc-real (linked into a
temp root, never copied), run to the summary with the tiny settings. Real patches bring what the
demo hides: edge patches smaller than 50x50, patients with one class only, uneven patch counts,
real colour; the summary describes real data, not a demo. Its DCGAN also runs selected arms
(patches kept from a pool twice the size, by confidence and by realism)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
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
    config["arms"] = ["baseline", "dcgan", "diffusion", "dcgan_confident", "dcgan_realistic"]
    config["synthetic"]["selection"]["pool_factor"] = 2
    # Sharded sampling and perturbed predictions are the demo study's to test (test_workflow.py):
    # here one shard per class and no perturbation keep this study small.
    config["synthetic"]["shards_per_class"] = 1
    config["robustness"]["perturbations"] = dict.fromkeys(config["robustness"]["perturbations"], [])
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
    for generator in ("dcgan", "diffusion", "dcgan_confident", "dcgan_realistic"):
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


def test_a_selected_arm_keeps_the_best_scored_half_of_its_pool_and_is_decided(real_study):
    """Each selected draw keeps per class as many patches as the plain draw, the best-scored of
    its pool (the plain draw and one more), pixel for pixel; the selected arms enter the
    primary family against the baseline and the plain DCGAN arm; the cost table shows the
    pool's sampling and the selection."""
    synthetic = real_study / "results/synthetic"
    plain = pd.read_parquet(synthetic / "dcgan/manifest.parquet")
    for name in ("dcgan_confident", "dcgan_realistic"):
        selected = pd.read_parquet(synthetic / name / "manifest.parquet")
        assert (
            selected.groupby(["draw", "label"])
            .size()
            .equals(plain.groupby(["draw", "label"]).size())
        )
        for draw in (0, 1):
            scores = pd.read_parquet(synthetic / name / f"draw{draw}/scores.parquet")
            assert sorted(set(scores["draw"])) == [draw, draw + 2]  # draws 2, 3: the pool's
            for _, rows in scores.groupby("label"):
                kept, dropped = rows[rows["kept"]], rows[~rows["kept"]]
                assert kept["score"].min() >= dropped["score"].max()
            first = scores[scores["kept"] & (scores["label"] == 0)].iloc[0]
            source = f"dcgan/draw{first['draw']}/class0/shard{first['shard']}.npy"
            shard = np.load(synthetic / name / f"draw{draw}/class0/shard0.npy")
            np.testing.assert_array_equal(shard[0], np.load(synthetic / source)[first["index"]])
    primary = pd.read_csv(real_study / "results/metrics/primary.tsv", sep="\t")
    assert {
        "dcgan_confident vs baseline",
        "dcgan_confident vs dcgan",
        "dcgan_realistic vs baseline",
        "dcgan_realistic vs dcgan",
    } <= set(primary["comparison"])
    assert (primary["family_size"] == 6).all()
    costs = pd.read_csv(real_study / "results/metrics/cost.tsv", sep="\t").set_index("rule")
    assert costs.loc["sample_dcgan_pool", "jobs"] == 2  # 2 draws x 1 more pool draw x 1 shard
    assert costs.loc["select_synthetic", "jobs"] == 4
