"""The demo data set: layout, determinism, class balance, H&E-like colours, safe output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from idc_synth.demo_data import MARKER_NAME, DemoSpec, generate_demo_dataset
from idc_synth.layout import PATCH_SIZE, parse_patch_path

SPEC = DemoSpec(
    n_patients=3, patches_per_patient=40, idc_fraction=0.3, edge_patch_fraction=0.05, seed=7
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "data"
    return root, generate_demo_dataset(root, SPEC)


def png_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def test_same_seed_gives_identical_files_whatever_the_worker_count(demo, tmp_path):
    root, _ = demo
    again = tmp_path / "again"
    generate_demo_dataset(again, SPEC, workers=2)
    assert png_bytes(again) == png_bytes(root)


def test_another_seed_gives_different_images(demo, tmp_path):
    root, _ = demo
    other = tmp_path / "other"
    generate_demo_dataset(other, DemoSpec(**{**SPEC.__dict__, "seed": 8}))
    ours, theirs = png_bytes(root), png_bytes(other)
    assert ours != theirs
    shared = ours.keys() & theirs.keys()
    assert sum(ours[k] == theirs[k] for k in shared) == 0


def test_files_follow_the_idc_layout_and_match_the_table(demo):
    root, table = demo
    files = sorted(root.rglob("*.png"))
    assert sorted(table["path"]) == sorted(p.relative_to(root).as_posix() for p in files)
    for path in files:
        name = parse_patch_path(path)
        assert name.patient.startswith("900") and len(name.patient) == 5
        assert (name.x - 1) % PATCH_SIZE == 0 and (name.y - 1) % PATCH_SIZE == 0
    assert table["patient"].nunique() == SPEC.n_patients
    assert not table.duplicated(["patient", "x", "y"]).any()
    assert not root.with_name(root.name + ".partial").exists()


def test_idc_share_is_near_the_target_and_every_patient_has_both_classes(demo):
    _, table = demo
    assert table["label"].mean() == pytest.approx(SPEC.idc_fraction, abs=0.05)
    assert (table.groupby("patient")["label"].nunique() == 2).all()


def test_a_few_edge_patches_are_short_and_all_others_are_full_rgb(demo):
    root, table = demo
    short = (table["width"] < PATCH_SIZE) | (table["height"] < PATCH_SIZE)
    assert 0 < short.sum() <= 0.1 * len(table)
    for row in table.itertuples():
        with Image.open(root / row.path) as image:
            assert image.mode == "RGB"
            assert image.size == (row.width, row.height)
    assert (table.loc[~short, ["width", "height"]] == PATCH_SIZE).all().all()


def test_colours_are_h_and_e_like_and_idc_is_darker_and_more_purple(demo):
    root, table = demo
    means = np.array(
        [np.asarray(Image.open(root / p), dtype=float).mean(axis=(0, 1)) for p in table["path"]]
    )
    red, green, blue = means.T
    assert red.mean() > green.mean() and blue.mean() > green.mean()  # pink to purple
    idc = table["label"].to_numpy() == 1
    assert means[idc].mean() < means[~idc].mean() - 15  # darker
    assert (blue - red)[idc].mean() > (blue - red)[~idc].mean()  # hematoxylin-rich


def test_refuses_a_non_empty_folder_it_did_not_write(tmp_path):
    root = tmp_path / "precious"
    root.mkdir()
    (root / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="precious"):
        generate_demo_dataset(root, SPEC)
    assert (root / "notes.txt").read_text() == "keep me"
    assert not root.with_name("precious.partial").exists()


def test_replaces_its_own_earlier_output_and_clears_a_killed_run(tmp_path):
    spec = DemoSpec(**{**SPEC.__dict__, "n_patients": 1, "patches_per_patient": 8})
    root = tmp_path / "data"
    generate_demo_dataset(root, spec)
    stale = root.with_name("data.partial")
    stale.mkdir()
    (stale / MARKER_NAME).write_text("{}")
    table = generate_demo_dataset(root, spec)
    assert len(list(root.rglob("*.png"))) == len(table)
    assert not stale.exists()


@pytest.mark.parametrize("field, value", [("n_patients", 0), ("idc_fraction", 1.0)])
def test_spec_rejects_impossible_values(field, value):
    with pytest.raises(ValueError, match=field):
        DemoSpec(**{**SPEC.__dict__, field: value})
