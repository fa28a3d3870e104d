from pathlib import Path

import pytest

from idc_synth.layout import FolderMismatch, LayoutError, PatchName, parse_patch_path


def test_parses_a_real_style_path():
    name = parse_patch_path(Path("/d/10253/1/10253_idx5_x1001_y1051_class1.png"))
    assert name == PatchName("10253", 1001, 1051, 1)
    assert name.relative_path == Path("10253/1/10253_idx5_x1001_y1051_class1.png")


@pytest.mark.parametrize(
    "filename",
    [
        "10253_idx5_x1001_y1051_class2.png",
        "10253_idx5_x1001_class1.png",
        "10253_idx5_x1001_y1051_class1.jpg",
        "notes.png",
    ],
)
def test_unparsable_names_raise_with_the_path(filename):
    path = Path("/d/10253/1") / filename
    with pytest.raises(LayoutError, match=str(path)) as error:
        parse_patch_path(path)
    assert not isinstance(error.value, FolderMismatch)


def test_class_folder_must_agree_with_name():
    with pytest.raises(FolderMismatch, match="class 1 but it sits in folder '0'"):
        parse_patch_path(Path("/d/10253/0/10253_idx5_x1001_y1051_class1.png"))


def test_patient_folder_must_agree_with_name():
    with pytest.raises(FolderMismatch, match="patient 10253"):
        parse_patch_path(Path("/d/99999/1/10253_idx5_x1001_y1051_class1.png"))
