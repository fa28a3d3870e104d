from collections import Counter

import numpy as np
import pandas as pd
import pytest
from patchdata import write_patch
from PIL import Image

from idc_synth.manifest import PAD_VALUE, build_manifest, read_patch, write_rows
from idc_synth.pack import HOLDOUT, Holdout, holdout_mask, load_packed, pack_split
from idc_synth.split import stratified_split


def expected_pixels(path):
    """A PNG decoded directly with PIL, as RGB, padded right/bottom with white to 50x50."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    padded = np.full((50, 50, 3), PAD_VALUE, dtype=np.uint8)
    padded[: pixels.shape[0], : pixels.shape[1]] = pixels
    return padded


def ingest(root, out, workers=1, holdout=None):
    """The workflow's ingest: manifest (the one decode), split, then every packed set."""
    manifest = build_manifest(root, "pad", 0.05, out / "pixels.npy", workers).manifest
    split = stratified_split(manifest, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=0)
    pixels = np.load(out / "pixels.npy", mmap_mode="r")
    sets = ("train", HOLDOUT, "val", "test") if holdout else ("train", "val", "test")
    packed = {}
    for name in sets:
        images_path, table_path = out / f"{name}.npy", out / f"{name}.parquet"
        rate = pack_split(manifest, pixels, split, name, images_path, table_path, holdout)
        assert rate > 0
        packed[name] = load_packed(images_path, table_path)
    return manifest, split, packed


def test_read_patch_pads_edge_patches_with_white(tmp_path):
    path = write_patch(tmp_path, "1001", 1, 1, 0, size=(50, 30))
    original = np.asarray(Image.open(path))
    pixels, inspection = read_patch(path)
    assert inspection == (50, 30, "RGB")
    assert pixels.shape == (50, 50, 3) and pixels.dtype == np.uint8
    assert np.array_equal(pixels[:30], original)
    assert (pixels[30:] == PAD_VALUE).all()


def test_read_patch_converts_other_modes_to_rgb(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.full((50, 50), 77, dtype=np.uint8)).save(path)
    pixels, inspection = read_patch(path)
    assert inspection == (50, 50, "L") and (pixels == 77).all()


def test_pack_round_trip(patch_tree, tmp_path):
    manifest, split, packed = ingest(patch_tree, tmp_path, workers=2)
    for name, (images, table) in packed.items():
        assert images.shape == (len(table), 50, 50, 3) and images.dtype == np.uint8
        assert list(table["row"]) == list(range(len(table)))
        patients = set(split.loc[split["split"] == name, "patient"])
        assert set(table["patient"]) == patients
    everything = pd.concat(table for _, table in packed.values())
    assert sorted(everything["path"]) == sorted(manifest["path"])
    assert not list(tmp_path.glob("*.partial"))


def test_ingest_decodes_each_patch_once_and_packs_the_exact_pixels(
    patch_tree, tmp_path, monkeypatch
):
    """Serial workers, so every decode happens in this process where it can be counted; the
    tree has an edge patch, a greyscale patch and a truncated one (dropped from the pixels)."""
    write_patch(patch_tree, "1003", 9001, 9001, 1, size=(50, 31))
    grey = write_patch(patch_tree, "1005", 9001, 9001, 0)
    Image.open(grey).convert("L").save(grey)
    broken = write_patch(patch_tree, "1001", 9001, 9001, 0)
    broken.write_bytes(broken.read_bytes()[:60])
    opened: Counter = Counter()
    real_open = Image.open

    def counting_open(path, *args, **kwargs):
        opened[str(path)] += 1
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", counting_open)
    manifest, _, packed = ingest(patch_tree, tmp_path, holdout=Holdout(0.25, 3))
    monkeypatch.undo()
    files = sorted(str(path) for path in patch_tree.rglob("*.png"))
    assert sorted(opened) == files and set(opened.values()) == {1}
    assert len(manifest) == len(files) - 1
    tables = pd.concat(table for _, table in packed.values())
    assert sorted(tables["path"]) == sorted(manifest["path"])  # every kept patch, once
    for images, table in packed.values():
        expected = np.stack([expected_pixels(patch_tree / path) for path in table["path"]])
        assert images.tobytes() == expected.tobytes()


def test_write_rows_gathers_rows_in_order_across_blocks(tmp_path):
    source = np.random.default_rng(0).integers(0, 256, (23, 50, 50, 3), dtype=np.uint8)
    rows = np.array([22, 3, 3, 0, 17, 9, 1, 12, 5, 8, 21])
    write_rows(source, rows, tmp_path / "rows.npy", block=4)
    assert np.array_equal(np.load(tmp_path / "rows.npy"), source[rows])
    write_rows(source, rows[:0], tmp_path / "none.npy")
    assert np.load(tmp_path / "none.npy").shape == (0, 50, 50, 3)


def test_pack_refuses_pixels_that_do_not_match_the_manifest(patch_tree, tmp_path):
    manifest, split, _ = ingest(patch_tree, tmp_path)
    pixels = np.load(tmp_path / "pixels.npy")[:-1]
    with pytest.raises(ValueError, match="rerun the manifest rule"):
        pack_split(manifest, pixels, split, "val", tmp_path / "v.npy", tmp_path / "v.parquet")


def test_holdout_is_a_seeded_share_of_each_train_patient_disjoint_from_train(patch_tree, tmp_path):
    holdout = Holdout(fraction=0.25, seed=3)
    manifest, split, packed = ingest(patch_tree, tmp_path, holdout=holdout)
    train, held, val = (packed[name][1] for name in ("train", HOLDOUT, "val"))
    train_patients = set(split.loc[split["split"] == "train", "patient"])
    # held-out patches come from train patients only, never overlap train, and together they
    # are every train patient's patch; val is untouched (the patient-level split still holds)
    assert set(held["patient"]) <= train_patients and not set(held["path"]) & set(train["path"])
    assert sorted([*train["path"], *held["path"]]) == sorted(
        manifest.loc[manifest["patient"].isin(train_patients), "path"]
    )
    assert not set(val["patient"]) & train_patients
    counts = pd.concat([train, held]).groupby(["patient", "label"]).size()
    held_counts = held.groupby(["patient", "label"]).size().reindex(counts.index, fill_value=0)
    assert (held_counts == (0.25 * counts).round().astype(int)).all()
    # seeded: the same seed picks the same patches, another seed others
    rows = manifest[manifest["patient"].isin(train_patients)].sort_values(
        ["patient", "y", "x", "label"]
    )
    assert np.array_equal(holdout_mask(rows, holdout), holdout_mask(rows, Holdout(0.25, 3)))
    assert not np.array_equal(holdout_mask(rows, holdout), holdout_mask(rows, Holdout(0.25, 4)))
    assert not holdout_mask(rows, Holdout(0.0, 3)).any()
