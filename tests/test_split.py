import numpy as np
import pandas as pd
import pytest

from idc_synth.presets import PRESETS, fit_lists, preset_lists, read_lists, split_description
from idc_synth.split import (
    SPLITS,
    SplitError,
    check_split,
    split_from_lists,
    split_sizes,
    stratified_split,
)

FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


def synthetic_manifest(n_patients: int, seed: int = 0) -> pd.DataFrame:
    """Patients of varying size and IDC share, one row per patch."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(n_patients):
        size, share = int(rng.integers(20, 200)), rng.uniform(0.05, 0.6)
        labels = (rng.random(size) < share).astype(int)
        labels[:2] = [0, 1]
        rows += [{"patient": f"p{index:03d}", "label": label} for label in labels]
    return pd.DataFrame(rows)


def test_stratified_split_is_patient_level_and_balanced():
    manifest = synthetic_manifest(40)
    table = stratified_split(manifest, FRACTIONS, seed=3)
    assert not table["patient"].duplicated().any()
    assert set(table["patient"]) == set(manifest["patient"])
    overall = manifest["label"].mean()
    total = len(manifest)
    for name in SPLITS:
        part = table[table["split"] == name]
        share = part["n_idc"].sum() / part["n_patches"].sum()
        assert abs(share - overall) < 0.05, (name, share, overall)
        assert abs(part["n_patches"].sum() / total - FRACTIONS[name]) < 0.08


def test_stratified_split_is_seeded():
    manifest = synthetic_manifest(30)
    first = stratified_split(manifest, FRACTIONS, seed=1)
    assert first.equals(stratified_split(manifest, FRACTIONS, seed=1))
    assert not first.equals(stratified_split(manifest, FRACTIONS, seed=2))


def test_two_patients_cannot_fill_three_splits():
    manifest = synthetic_manifest(2)
    with pytest.raises(SplitError, match="at least 3 patients .* has 2"):
        stratified_split(manifest, FRACTIONS, seed=0)


def test_split_needs_both_classes_everywhere():
    manifest = pd.DataFrame(
        {"patient": ["a"] * 5 + ["b"] * 5 + ["c"] * 5, "label": [0] * 10 + [1] * 5}
    )
    with pytest.raises(SplitError, match="both classes"):
        stratified_split(manifest, FRACTIONS, seed=0)


def test_split_sizes_give_every_split_a_patient():
    assert split_sizes(3, FRACTIONS) == {"train": 1, "val": 1, "test": 1}
    assert split_sizes(279, FRACTIONS) == {"train": 167, "val": 56, "test": 56}


def write_lists(tmp_path, lists):
    paths = {}
    for name, patients in lists.items():
        paths[name] = tmp_path / f"{name}.txt"
        paths[name].write_text("# benchmark list\n" + "\n".join(patients) + "\n\n")
    return paths


def test_patient_lists_are_followed(tmp_path):
    manifest = synthetic_manifest(8)
    lists = {"train": ["p000", "p001", "p002", "p003"], "val": ["p004", "p005"], "test": ["p006"]}
    table = split_from_lists(manifest, write_lists(tmp_path, lists))
    for name, patients in lists.items():
        assert sorted(table.loc[table["split"] == name, "patient"]) == patients
    assert "p007" not in set(table["patient"])  # unlisted patients are left out


def test_a_patient_in_two_lists_is_refused(tmp_path):
    manifest = synthetic_manifest(6)
    lists = {"train": ["p000", "p001"], "val": ["p002", "p001"], "test": ["p003"]}
    with pytest.raises(SplitError, match="p001 is listed for both train and val"):
        split_from_lists(manifest, write_lists(tmp_path, lists))


def test_missing_list_file_names_the_path(tmp_path):
    manifest = synthetic_manifest(6)
    paths = write_lists(tmp_path, {"train": ["p000"], "val": ["p001"], "test": ["p002"]})
    paths["val"] = tmp_path / "nope.txt"
    with pytest.raises(SplitError, match="nope.txt does not exist"):
        split_from_lists(manifest, paths)


def test_check_split_catches_a_leak():
    table = pd.DataFrame(
        {
            "patient": ["a", "a", "b"],
            "split": ["train", "test", "val"],
            "n_patches": [10, 10, 10],
            "n_idc": [3, 3, 3],
        }
    )
    with pytest.raises(AssertionError, match=r"\['a'\]"):
        check_split(table)


def test_the_published_preset_ships_84_29_49_disjoint_patients():
    assigned = read_lists(preset_lists("janowczyk2016"))
    sizes = {name: sum(split == name for split in assigned.values()) for name in SPLITS}
    assert sizes == PRESETS["janowczyk2016"].sizes == {"train": 84, "val": 29, "test": 49}
    assert len(assigned) == 162  # read_lists refuses a patient in two lists


def test_lists_that_miss_a_whole_split_name_the_list(tmp_path):
    manifest = synthetic_manifest(6)
    paths = write_lists(tmp_path, {"train": ["p000", "p001"], "val": ["q9"], "test": ["p002"]})
    with pytest.raises(SplitError, match=r"none of the patients listed for val \(.*val.txt\)"):
        split_from_lists(manifest, paths)


def test_how_patients_fit_the_lists_is_named():
    fit = fit_lists({"10": "train", "9": "val", "11": "test", "12": "test"}, {"9", "10", "11", "x"})
    assert fit.sizes == {"train": 1, "val": 1, "test": 1}
    assert fit.left_out == ["x"] and fit.missing == ["12"]


def test_split_description_names_the_split():
    assert split_description("janowczyk2016", None, {}, 0) == (
        "published patient split janowczyk2016 (Janowczyk & Madabhushi 2016, J Pathol Inform 7:29)"
    )
    lists = {"train": "a.txt", "val": "b.txt", "test": "c.txt"}
    assert split_description(None, lists, {}, 0) == "patient lists a.txt, b.txt, c.txt"
    assert split_description(None, None, FRACTIONS, 3) == (
        "stratified by patient (seed 3; patch shares train 0.6, val 0.2, test 0.2)"
    )
