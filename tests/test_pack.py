import numpy as np
import pandas as pd
from patchdata import write_patch
from PIL import Image

from idc_synth.manifest import build_manifest
from idc_synth.pack import (
    PAD_VALUE,
    Holdout,
    decode_patch,
    holdout_mask,
    load_packed,
    pack_split,
)
from idc_synth.split import stratified_split


def test_decode_pads_edge_patches_with_white(tmp_path):
    path = write_patch(tmp_path, "1001", 1, 1, 0, size=(50, 30))
    original = np.asarray(Image.open(path))
    pixels = decode_patch(path)
    assert pixels.shape == (50, 50, 3) and pixels.dtype == np.uint8
    assert np.array_equal(pixels[:30], original)
    assert (pixels[30:] == PAD_VALUE).all()


def test_decode_converts_other_modes_to_rgb(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.full((50, 50), 77, dtype=np.uint8)).save(path)
    assert (decode_patch(path) == 77).all()


def test_pack_round_trip(patch_tree, tmp_path):
    manifest = build_manifest(patch_tree, "pad", 0.05).manifest
    split = stratified_split(manifest, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=0)
    packed = {}
    for name in ("train", "val", "test"):
        images_path, table_path = tmp_path / f"{name}.npy", tmp_path / f"{name}.parquet"
        rate = pack_split(
            patch_tree, manifest, split, name, images_path, table_path, workers=2, chunk_size=5
        )
        assert rate > 0
        images, table = load_packed(images_path, table_path)
        assert images.shape == (len(table), 50, 50, 3) and images.dtype == np.uint8
        assert list(table["row"]) == list(range(len(table)))
        for row in table.sample(5, random_state=0).itertuples():
            expected = np.asarray(Image.open(patch_tree / row.path).convert("RGB"))
            assert np.array_equal(images[row.row], expected)
        patients = set(split.loc[split["split"] == name, "patient"])
        assert set(table["patient"]) == patients
        packed[name] = table
    everything = pd.concat(packed.values())
    assert sorted(everything["path"]) == sorted(manifest["path"])
    assert not list(tmp_path.glob("*.partial"))


def test_holdout_is_a_seeded_share_of_each_train_patient_disjoint_from_train(patch_tree, tmp_path):
    manifest = build_manifest(patch_tree, "pad", 0.05).manifest
    split = stratified_split(manifest, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=0)
    holdout = Holdout(fraction=0.25, seed=3)
    tables = {}
    for name in ("train", "holdout", "val"):
        images_path, table_path = tmp_path / f"{name}.npy", tmp_path / f"{name}.parquet"
        pack_split(patch_tree, manifest, split, name, images_path, table_path, holdout=holdout)
        tables[name] = load_packed(images_path, table_path)[1]
    train, held, val = tables["train"], tables["holdout"], tables["val"]
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
