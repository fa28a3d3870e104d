"""Data roots as users have them: the Kaggle archive's nested copy, linked, dangling and looping
links, unreadable folders. Each patch is ingested once; everything else is a QC row or an error
naming the path; nothing is dropped in silence and nothing in the root is written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from patchdata import NESTED, REAL_SAMPLE, kaggle_root, make_tree, snapshot, write_patch

from idc_synth import walk as walk_module
from idc_synth.listing import refresh_listing
from idc_synth.manifest import ManifestError, build_manifest
from idc_synth.preflight import plan_from_walk, summary_from_tables
from idc_synth.presets import preset_lists, read_lists
from idc_synth.walk import walk_root

needs_sample = pytest.mark.skipif(
    not REAL_SAMPLE.is_dir(), reason=f"real IDC sample not found at {REAL_SAMPLE}"
)


def reasons_by_path(rejected: pd.DataFrame) -> dict[str, str]:
    return dict(zip(rejected["path"], rejected["reason"], strict=True))


@needs_sample
def test_kaggle_layout_of_real_patches_ingests_each_patch_once_and_says_so(tmp_path):
    root = kaggle_root(tmp_path / "kaggle", REAL_SAMPLE)
    before = snapshot(root)
    result = build_manifest(root, "pad", 0.05, tmp_path / "px.npy", workers=2)
    plain = build_manifest(REAL_SAMPLE, "pad", 0.05, tmp_path / "plain.npy", workers=2)
    assert len(result.manifest) == 1397
    assert result.manifest["path"].tolist() == plain.manifest["path"].tolist()  # top copy kept
    assert np.array_equal(np.load(tmp_path / "px.npy"), np.load(tmp_path / "plain.npy"))
    twins = result.rejected[result.rejected["reason"].str.startswith("duplicate of ")]
    assert len(twins) == len(result.rejected) == 1397
    for row in twins.itertuples():
        assert row.path.startswith(f"{NESTED}{os.sep}")
        assert row.reason == f"duplicate of {row.path.removeprefix(NESTED + os.sep)}"
    summary = summary_from_tables(str(root), result.manifest, result.rejected, "a split", None)
    lines = "\n".join(summary.lines())
    assert (
        f"1,397 duplicate files skipped (nested copy under {NESTED}/)" in lines
        and "1,397 (class 0: 1,251" in lines
    )
    assert snapshot(root) == before  # only read


@needs_sample
def test_the_load_time_plan_sees_the_nested_copy_and_the_preset_fit(tmp_path):
    root = kaggle_root(tmp_path / "kaggle", REAL_SAMPLE)
    lists = read_lists(preset_lists("janowczyk2016"))
    plan = plan_from_walk(str(root), walk_root(root), "preset", lists)
    assert plan.duplicates == 1397 and plan.duplicate_note == f"nested copy under {NESTED}/"
    assert plan.patients == 2 and plan.patches == {0: 1251, 1: 146}
    # 10254 is a published train patient, 10253 is in no list
    assert plan.split_sizes == {"train": 1, "val": 0, "test": 0}
    assert plan.left_out == ["10253"] and len(plan.missing) == 161


@pytest.mark.parametrize("change", ["bytes", "label"])
def test_twins_that_differ_stop_the_manifest_with_examples(patch_tree, tmp_path, change):
    nested = patch_tree / NESTED
    shutil.copytree(patch_tree / "1002", nested / "1002")
    twin = next((nested / "1002" / "0").glob("*.png"))
    if change == "bytes":
        write_patch(nested, "1002", 10, 10, 0).replace(twin)  # same name, other pixels
    else:  # the same patient and position under the other class
        other = nested / "1002" / "1" / twin.name.replace("class0", "class1")
        twin.rename(other)
        twin = other
    with pytest.raises(ManifestError, match="1 patch.* exist twice with different content") as e:
        build_manifest(patch_tree, "pad", 0.05, tmp_path / "px.npy")
    assert str(twin) in str(e.value) and "point data.root at one copy" in str(e.value)


def test_a_linked_patient_folder_is_followed_once(patch_tree, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (patch_tree / "1004").rename(elsewhere / "1004")
    (patch_tree / "1004").symlink_to(elsewhere / "1004", target_is_directory=True)
    (patch_tree / "zz-again").symlink_to(elsewhere / "1004", target_is_directory=True)
    result = build_manifest(patch_tree, "pad", 0.05, tmp_path / "px.npy")
    assert len(result.manifest) == 72 and result.manifest["patient"].nunique() == 6
    assert reasons_by_path(result.rejected) == {
        "zz-again": "skipped: linked folder already walked as 1004"
    }


def test_a_root_of_linked_patient_folders_ingests_them_all(patch_tree, tmp_path):
    linked = tmp_path / "linked"
    linked.mkdir()
    for patient in sorted(patch_tree.iterdir()):
        (linked / patient.name).symlink_to(patient, target_is_directory=True)
    result = build_manifest(linked, "pad", 0.05, tmp_path / "px.npy")
    assert len(result.manifest) == 72 and result.rejected.empty


def test_a_link_back_to_an_ancestor_is_walked_once(patch_tree, tmp_path):
    (patch_tree / "1001" / "0" / "up").symlink_to("../..", target_is_directory=True)
    result = build_manifest(patch_tree, "pad", 0.05, tmp_path / "px.npy")
    assert len(result.manifest) == 72
    assert reasons_by_path(result.rejected) == {
        os.path.join("1001", "0", "up"): "skipped: linked folder already walked as ."
    }


def test_dangling_and_looping_file_links_are_qc_rows(patch_tree, tmp_path):
    dangling = patch_tree / "1001" / "0" / "1001_idx5_x9001_y9001_class0.png"
    dangling.symlink_to(tmp_path / "gone.png")
    looping = patch_tree / "1002" / "0" / "1002_idx5_x9001_y9001_class0.png"
    looping.symlink_to(looping.name)
    result = build_manifest(patch_tree, "pad", 0.05, tmp_path / "px.npy")
    reasons = reasons_by_path(result.rejected)
    assert reasons[str(dangling.relative_to(patch_tree))] == (
        f"dangling link: -> {tmp_path / 'gone.png'} does not exist; repoint or remove the link"
    )
    assert reasons[str(looping.relative_to(patch_tree))].startswith(
        f"link loop: -> {looping.name} resolves back to itself"
    )
    assert len(result.manifest) == 72


def unreadable(folder: Path):
    """os.scandir as it behaves for a folder the user may not read."""
    real = os.scandir

    def scandir(path):
        if Path(path) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    return scandir


def test_an_unreadable_folder_is_a_qc_row_not_a_silent_gap(patch_tree, tmp_path, monkeypatch):
    # Simulated: tests run as root in CI, where chmod 000 does not stop a read.
    monkeypatch.setattr(walk_module.os, "scandir", unreadable(patch_tree / "1003" / "1"))
    result = build_manifest(patch_tree, "pad", 0.1, tmp_path / "px.npy")
    assert reasons_by_path(result.rejected) == {
        os.path.join("1003", "1"): "unreadable folder: Permission denied; make it readable "
        "(chmod -R u+rX) or move it out of the data root"
    }
    assert len(result.manifest) == 72 - 6  # the folder's six patches are missing, and said so


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_a_folder_without_read_permission_is_a_qc_row(patch_tree, tmp_path):
    folder = patch_tree / "1003" / "1"
    folder.chmod(0)
    try:
        result = build_manifest(patch_tree, "pad", 0.1, tmp_path / "px.npy")
    finally:
        folder.chmod(0o755)
    assert reasons_by_path(result.rejected)[os.path.join("1003", "1")].startswith(
        "unreadable folder: Permission denied"
    )


def test_an_unreadable_root_is_one_clear_error(patch_tree, tmp_path, monkeypatch):
    monkeypatch.setattr(walk_module.os, "scandir", unreadable(patch_tree))
    with pytest.raises(ManifestError, match=f"data root {patch_tree}: unreadable folder"):
        build_manifest(patch_tree, "pad", 0.05, tmp_path / "px.npy")


def test_the_listing_names_link_problems_and_changes_when_they_are_fixed(tmp_path):
    root = make_tree(tmp_path / "idc", {"1001": (2, 1)})
    link = root / "1001" / "0" / "1001_idx5_x1_y1_class0.png.bak"
    link.symlink_to(tmp_path / "gone")
    listing = tmp_path / "results" / "listing.tsv"
    walk = refresh_listing(root, listing)
    assert len(walk.files) == 3
    assert f"{link.relative_to(root)}\t\t\tdangling link: -> {tmp_path / 'gone'}" in (
        listing.read_text()
    )
    before = listing.read_text()
    link.unlink()
    refresh_listing(root, listing)
    assert listing.read_text() != before and "dangling" not in listing.read_text()
    assert refresh_listing(tmp_path / "nowhere", listing) is None
