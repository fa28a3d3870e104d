"""The benchmark scripts run, keep going past a failing section, and build the true data shape.

Timings are not asserted here (they belong to benchmarks/); only that the machinery works.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from benchlib import COLUMNS, Row, interleaved
from make_full_scale_tree import FULL_SCALE, add_nested_copy, plan, write_tree
from workflow_helpers import checkout_env

from idc_synth.layout import parse_patch_path
from idc_synth.presets import preset_lists, read_patient_list

REPO = Path(__file__).resolve().parents[1]


def _table(path: Path) -> list[dict]:
    with path.open() as stream:
        return list(csv.DictReader(stream, delimiter="\t"))


def test_full_scale_plan_has_the_datasets_totals():
    patients = plan(**{"patches": 277_524, "patients": 279, "idc": 78_786}, seed=0)
    counts = np.array([n for _, n, _ in patients])
    positives = np.array([k for _, _, k in patients])
    assert len(patients) == 279 == FULL_SCALE["patients"]
    assert counts.sum() == FULL_SCALE["patches"] and positives.sum() == FULL_SCALE["idc"]
    assert (positives <= counts).all() and counts.min() >= 1
    assert positives.std() > 0  # IDC share varies between patients
    ids = [patient for patient, _, _ in patients]
    published = {
        p for path in preset_lists("janowczyk2016").values() for p in read_patient_list(path)
    }
    assert len(set(ids)) == 279 and published <= set(ids)  # the published split's ids are there


def test_small_tree_follows_the_idc_layout_with_edge_patches(tmp_path):
    from PIL import Image

    assert write_tree(tmp_path, 600, 5, 170, seed=1) == 600
    files = sorted(tmp_path.rglob("*.png"))
    names = [parse_patch_path(path.relative_to(tmp_path)) for path in files]
    assert len(files) == 600 and len({name.patient for name in names}) == 5
    assert sum(name.label for name in names) == 170
    sizes = [Image.open(path).size for path in files]
    assert any(size != (50, 50) for size in sizes)  # edge patches
    assert all(w <= 50 and h <= 50 for w, h in sizes)


def test_nested_copy_doubles_every_patient_folder(tmp_path):
    write_tree(tmp_path, 60, 3, 20, seed=1)
    assert add_nested_copy(tmp_path) == 60
    top = sorted(p.relative_to(tmp_path) for p in tmp_path.glob("[0-9]*/*/*.png"))
    nested = sorted(
        p.relative_to(tmp_path / "IDC_regular_ps50_idx5") for p in tmp_path.glob("IDC_*/*/*/*.png")
    )
    assert top == nested and len(top) == 60


def test_interleaved_alternates_order_and_takes_medians():
    calls = []
    values = {"a": iter([5.0, 1.0, 3.0]), "b": iter([2.0, 2.0, 9.0])}

    def measure(name):
        def run():
            calls.append(name)
            return next(values[name])

        return run

    medians = interleaved({"a": measure("a"), "b": measure("b")}, repeats=3)
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert medians == {"a": 3.0, "b": 2.0}
    assert Row("s", "w", 3.0, "s", "anchor", 2.0).ratio == 1.5


def test_a_failing_section_becomes_a_row_and_the_table_still_prints(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "bench.tsv"
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/run_benchmarks.py"), "--only", "ingest",
         "--root", str(empty), "--repeats", "1", "--out", str(out)],
        capture_output=True, env=checkout_env(), text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    rows = _table(out)
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["section"] == "ingest" and rows[0]["note"].startswith("FAILED")
    assert "FAILED" in run.stdout


@pytest.mark.slow
def test_gpu_benchmark_smoke_runs_on_the_cpu(tmp_path):
    out = tmp_path / "gpu.tsv"
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/gpu_benchmark.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        env=checkout_env(),
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rows = _table(out)
    failures = [row["note"] for row in rows if row["note"].startswith("FAILED")]
    assert not failures
    assert {row["section"] for row in rows} == {"classifier", "generators"}
    assert all(float(row["value"]) > 0 and float(row["anchor_value"]) > 0 for row in rows)


@pytest.mark.slow
def test_statistics_design_prints_false_positives_and_power():
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks/statistics_design.py"),
            "--null-studies",
            "10",
            "--power-studies",
            "10",
            "--patients",
            "9",
            "49",
            "--seeds",
            "3",
        ],
        capture_output=True,
        env=checkout_env(),
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "False-positive rates, 10 null studies per design" in run.stdout
    for column in ("primary", "spread", "contrast", "pair", "power at +0.05", "MDD (80% power)"):
        assert column in run.stdout
    assert "seed_dominant" in run.stdout and " 49 " in run.stdout
    assert "noisy_dcgan_2x" in run.stdout and "demo_7arm" in run.stdout


def _untrained_classifier(folder: Path) -> Path:
    """A randomly initialised small_cnn saved as a study saves its classifiers."""
    import pandas as pd

    from idc_synth.classifier import TrainedClassifier, save_classifier
    from idc_synth.models import build_classifier

    model = build_classifier("small_cnn")
    trained = TrainedClassifier(model, pd.DataFrame(), {"arch": "small_cnn"})
    save_classifier(trained, folder / "model.safetensors", folder / "info.json")
    return folder


@pytest.mark.slow
def test_generator_quality_benchmark_scores_every_generator_on_held_out_patches(tmp_path):
    from patchdata import make_tree

    root = make_tree(tmp_path / "idc", {f"90{i}": (16, 16) for i in range(4)})
    out = tmp_path / "quality"
    embedding = _untrained_classifier(tmp_path / "classifier")
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/generator_quality.py"), "--widths", "smoke",
         "--data", str(root), "--budget-s", "1", "--holdout-fraction", "0.25",
         "--patches", "10", "--snapshots", "2", "--sampling-steps", "2", "--dcgan-batch", "8",
         "--patients", "3", "--threads", "1", "--grids", str(out / "grids"), "--out", str(out),
         "--embedding", str(embedding)],
        capture_output=True, env=checkout_env(), text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "96 patches of 3 patients" in run.stdout and "24 held out" in run.stdout
    names = ["dcgan_class0.png", "dcgan_class1.png", "diffusion_class0.png", "vae_ceiling.tsv"]
    assert all((out / "grids" / name).stat().st_size > 0 for name in names)
    final = _table(out / "final.tsv")
    assert [(row["generator"], row["label"]) for row in final] == [
        ("dcgan class0", "0"), ("dcgan class1", "1"), ("diffusion", "0"), ("diffusion", "1")
    ]  # fmt: skip
    for row in final:
        keys = ("fid_pixels", "spike_ratio", "spike_ratio_floor", "fd_classifier")
        values = [float(row[key]) for key in (*keys, "fd_classifier_floor")]
        assert all(value > 0 for value in values) and int(row["n"]) == 10
    ceiling = _table(out / "grids" / "vae_ceiling.tsv")
    assert [row["label"] for row in ceiling] == ["0", "1"]
    assert all(float(row["fd_classifier"]) > 0 for row in ceiling)
    curves = _table(out / "curves.tsv")
    assert all(float(row["fd_classifier"]) > 0 for row in curves)  # every snapshot
    dcgan_steps = [int(row["step"]) for row in curves if row["generator"] == "dcgan class0"]
    assert dcgan_steps[0] == 0 and dcgan_steps == sorted(dcgan_steps)  # from init on


@pytest.mark.slow
def test_generator_quality_benchmark_skips_without_real_patches(tmp_path):
    script = REPO / "benchmarks/generator_quality.py"
    run = subprocess.run(
        [sys.executable, str(script), "--data", str(tmp_path / "absent")],
        capture_output=True, env=checkout_env(), text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0 and "skipped: no real patches at" in run.stdout
