from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from patchdata import REAL_SAMPLE, snapshot, write_patch
from PIL import Image

from idc_synth.manifest import ManifestError, build_manifest, size_decision


def test_manifest_records_every_patch(patch_tree, tmp_path):
    before = snapshot(patch_tree)
    result = build_manifest(patch_tree, "pad", 0.05, tmp_path / "px.npy")
    assert len(result.manifest) == 72 and result.rejected.empty
    assert set(result.manifest["patient"]) == {"1001", "1002", "1003", "1004", "1005", "1006"}
    assert (result.manifest[["width", "height"]] == 50).all().all()
    assert set(result.manifest["mode"]) == {"RGB"}
    assert result.manifest["label"].sum() == 21
    row = result.manifest.iloc[0]
    assert (patch_tree / row["path"]).is_file()
    assert snapshot(patch_tree) == before  # the data root is only read


def test_corrupt_and_mislabelled_files_go_to_qc(patch_tree, tmp_path):
    broken = write_patch(patch_tree, "1001", 9001, 9001, 0)
    broken.write_bytes(broken.read_bytes()[:60])  # truncated PNG: header readable, data not
    moved = write_patch(patch_tree, "1002", 9001, 9001, 1)
    moved.rename(patch_tree / "1002" / "0" / moved.name)
    result = build_manifest(patch_tree, "pad", 0.05, tmp_path / "px.npy")
    reasons = dict(zip(result.rejected["path"], result.rejected["reason"], strict=True))
    assert reasons["1001/0/1001_idx5_x9001_y9001_class0.png"].startswith("unreadable")
    assert reasons["1002/0/1002_idx5_x9001_y9001_class1.png"].startswith("folder mismatch")
    assert len(result.manifest) == 72


@pytest.mark.parametrize(("policy", "kept"), [("pad", True), ("drop", False)])
def test_undersized_patches_follow_the_policy(patch_tree, tmp_path, policy, kept):
    write_patch(patch_tree, "1003", 9001, 9001, 1, size=(50, 31))
    write_patch(patch_tree, "1003", 9051, 9001, 1, size=(60, 50))
    result = build_manifest(patch_tree, policy, 0.05, tmp_path / "px.npy")
    edge = result.manifest[result.manifest["height"] == 31]
    assert len(edge) == int(kept)
    if kept:
        assert edge["status"].item() == "padded"
    assert any(result.rejected["reason"].str.startswith("oversized 60x50"))


def test_size_decision():
    assert size_decision(50, 50, "drop") == "ok"
    assert size_decision(50, 40, "pad") == "padded"
    assert size_decision(50, 40, "drop").startswith("undersized 50x40")
    assert size_decision(51, 50, "pad").startswith("oversized")


def test_too_many_rejects_is_an_error(patch_tree, tmp_path):
    for index in range(5):
        write_patch(patch_tree, "1004", 9001 + 50 * index, 9001, 0, size=(20, 20))
    with pytest.raises(ManifestError, match="max_reject_fraction=0.05") as error:
        build_manifest(patch_tree, "drop", 0.05, tmp_path / "px.npy")
    assert str(patch_tree) in str(error.value)


def test_empty_root_names_the_root(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match=f"no .png patches under {tmp_path / 'empty'}"):
        build_manifest(tmp_path / "empty", "pad", 0.05, tmp_path / "px.npy")


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(ManifestError, match="is not a folder"):
        build_manifest(tmp_path / "nowhere", "pad", 0.05, tmp_path / "px.npy")


def test_unparsable_name_is_an_error(patch_tree, tmp_path):
    (patch_tree / "1001" / "0" / "scan_0001.png").write_bytes(b"")
    with pytest.raises(ManifestError, match="scan_0001.png"):
        build_manifest(patch_tree, "pad", 0.05, tmp_path / "px.npy")


def test_a_class_without_patches_is_an_error(tmp_path):
    for index in range(3):
        write_patch(tmp_path / "root", "1001", 1 + 50 * index, 1, 0)
    with pytest.raises(ManifestError, match="no usable patches of class 1"):
        build_manifest(tmp_path / "root", "pad", 0.05, tmp_path / "px.npy")
    assert not list(tmp_path.glob("px.npy*"))  # no pixel array, not even a partial one


def test_parallel_scan_matches_serial(patch_tree, tmp_path):
    write_patch(patch_tree, "1003", 9001, 9001, 1, size=(50, 31))
    broken = write_patch(patch_tree, "1001", 9001, 9001, 0)
    broken.write_bytes(broken.read_bytes()[:60])
    serial = build_manifest(patch_tree, "pad", 0.05, tmp_path / "serial.npy", workers=1)
    parallel = build_manifest(patch_tree, "pad", 0.05, tmp_path / "parallel.npy", workers=2)
    assert serial.manifest.equals(parallel.manifest)
    assert serial.rejected.equals(parallel.rejected)
    serial_pixels = np.load(tmp_path / "serial.npy")
    assert serial_pixels.shape == (len(serial.manifest), 50, 50, 3)
    assert np.array_equal(serial_pixels, np.load(tmp_path / "parallel.npy"))


@pytest.mark.skipif(not REAL_SAMPLE.is_dir(), reason=f"real IDC sample not found at {REAL_SAMPLE}")
def test_real_idc_sample_ingests(tmp_path):
    result = build_manifest(REAL_SAMPLE, "pad", 0.05, tmp_path / "px.npy", workers=2)
    manifest = result.manifest
    assert len(manifest) == 1397
    # the sample's README is the one file that is no patch: skipped, and said so
    assert result.rejected.to_dict("records") == [
        {"path": "README.md", "reason": "skipped: not a .png file"}
    ]
    assert manifest.groupby("patient").size().to_dict() == {"10253": 549, "10254": 848}
    assert manifest["label"].value_counts().to_dict() == {0: 1251, 1: 146}
    assert (manifest["status"] == "ok").all()
    assert Path(manifest["path"].iloc[0]).parts[0] in {"10253", "10254"}


def test_greyscale_patch_is_kept_with_a_qc_row_and_empty_file_is_named(patch_tree, tmp_path):
    grey = write_patch(patch_tree, "1005", 9001, 9001, 0)
    Image.open(grey).convert("L").save(grey)
    empty = write_patch(patch_tree, "1006", 9001, 9001, 1)
    empty.write_bytes(b"")
    result = build_manifest(patch_tree, "pad", 0.05, tmp_path / "px.npy")
    reasons = dict(zip(result.rejected["path"], result.rejected["reason"], strict=True))
    assert reasons[str(grey.relative_to(patch_tree))] == "kept: L image, as RGB"
    assert reasons[str(empty.relative_to(patch_tree))] == "unreadable: empty file (0 bytes)"
    assert str(grey.relative_to(patch_tree)) in set(result.manifest["path"])


def test_qc_table_is_written_when_the_manifest_stops(patch_tree, tmp_path):
    import manifest as rule

    for index in range(5):
        write_patch(patch_tree, "1004", 9001 + 50 * index, 9001, 0, size=(20, 20))
    paths = {name: tmp_path / "out" / name for name in ("manifest", "qc", "failed_qc")}
    with pytest.raises(ManifestError, match="QC table: .*failed_qc"):
        rule.main(
            root=patch_tree,
            size_policy="drop",
            max_reject_fraction=0.05,
            manifest_path=paths["manifest"],
            qc_path=paths["qc"],
            pixels_path=tmp_path / "out" / "pixels.npy",
            failed_qc_path=paths["failed_qc"],
            workers=1,
            log=tmp_path / "manifest.log",
        )
    qc = pd.read_csv(paths["failed_qc"], sep="\t")
    assert len(qc) == 5 and qc["reason"].str.startswith("undersized 20x20").all()
    assert not list((tmp_path / "out").glob("pixels.npy*"))
