"""The names of the image-quality .npz arrays: one module writes and reads them."""

import numpy as np
import pytest

from idc_synth.quality import keys
from idc_synth.quality.assess import LabelledImages, spectral_arrays
from idc_synth.quality.table import BUILT_IN_SPACES


@pytest.mark.parametrize("space", (*BUILT_IN_SPACES, "dinov2"))
@pytest.mark.parametrize("kind", keys.KINDS)
@pytest.mark.parametrize("label", (0, 1))
def test_every_key_parses_back(space, kind, label):
    name = keys.key(space, kind, label)
    assert keys.parse(name) == (space, kind, label)


def test_the_file_layout_is_unchanged():
    # the names the .npz files of earlier runs hold
    assert keys.key("classifier", keys.CALIBRATION, 1) == "classifier_calibration_1"
    assert keys.key("pixels", keys.CALIBRATION_NEAREST, 0) == "pixels_calibration_nearest_0"
    assert keys.key("inception", keys.REFERENCE_GROUPS, 0) == "inception_reference_groups_0"
    assert keys.key("inception", keys.FEATURES, 1) == "inception_1"
    assert keys.key("classifier", keys.NEAREST[keys.COPY], 1) == "classifier_copy_nearest_1"
    assert keys.spectral_prefix(0, train=True) == "spectral_train_0"
    assert keys.train_rows(1) == "train_rows_1" and keys.train_patients(0) == "train_patients_0"


def test_other_arrays_do_not_parse_and_bad_parts_are_refused():
    for name in ("train_rows_0", "train_patients_1", "spectral_train_0_counts", "spectral_1"):
        assert keys.parse(name) is None
    assert keys.parse("classifier_reference_groups_0").kind == keys.REFERENCE_GROUPS
    with pytest.raises(ValueError, match="unknown array kind"):
        keys.key("pixels", "distances", 0)
    with pytest.raises(ValueError, match="one lower-case word"):
        keys.key("pixel_space", keys.TRAIN, 0)


def test_patient_name_arrays_are_found_by_their_kind():
    images = np.zeros((4, 50, 50, 3), np.uint8)
    real = LabelledImages(images, np.array([0, 0, 1, 1]), np.array(["a", "b", "a", "b"]))
    arrays = {
        keys.train_rows(0): np.arange(2),
        keys.train_patients(0): np.array(["a", "b"]),
        keys.key("classifier", keys.REFERENCE, 0): np.zeros((2, 3)),
        keys.key("classifier", keys.REFERENCE_GROUPS, 0): np.array(["a", "b"]),
        keys.key("inception", keys.GROUPS, 1): np.array(["a"]),
        keys.key("inception", keys.FEATURES, 1): np.zeros((1, 3)),
        **spectral_arrays(real, np.arange(2), keys.spectral_prefix(0, train=True)),
    }
    found = keys.patient_name_keys(arrays)
    assert sorted(found) == sorted(
        [
            "classifier_reference_groups_0",
            "inception_groups_1",
            keys.spectral_groups("spectral_train_0"),
        ]
    )
    # train_patients_0 names every train patch's patient, not a bootstrap unit set of a row
    assert keys.train_patients(0) not in found


def test_closest_pairs_are_named_per_space_and_read_back_per_space():
    from idc_synth.quality.keys import pair_key, pairs_by_space

    arrays = {
        pair_key(space, field): np.full(2, index)
        for index, (space, field) in enumerate(
            (s, f) for s in ("pixels", "classifier") for f in ("distances", "synthetic", "patient")
        )
    }
    spaces = pairs_by_space(arrays)
    assert set(spaces) == {"pixels", "classifier"}
    assert set(spaces["classifier"]) == {"distances", "synthetic", "patient"}
    assert spaces["classifier"]["synthetic"].tolist() == [4, 4]
    with pytest.raises(ValueError, match="one lower-case word"):
        pair_key("two words", "distances")
