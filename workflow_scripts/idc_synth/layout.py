"""The IDC dataset's file layout: ``<patient>/<class>/<patient>_idx5_x<X>_y<Y>_class<C>.png``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PATCH_SIZE = 50
CLASSES = (0, 1)  # 0 = non-IDC, 1 = IDC
FILENAME_RE = re.compile(
    r"^(?P<patient>[A-Za-z0-9-]+)_idx5_x(?P<x>\d+)_y(?P<y>\d+)_class(?P<label>[01])\.png$"
)


class LayoutError(ValueError):
    """A path does not follow the IDC layout; the message names the path and the fix."""


class FolderMismatch(LayoutError):
    """The name parses, but the patient or class folder disagrees with it (a mislabel risk)."""


@dataclass(frozen=True)
class PatchName:
    patient: str
    x: int
    y: int
    label: int

    @property
    def filename(self) -> str:
        return f"{self.patient}_idx5_x{self.x}_y{self.y}_class{self.label}.png"

    @property
    def relative_path(self) -> Path:
        return Path(self.patient) / str(self.label) / self.filename


def parse_patch_path(path: Path) -> PatchName:
    """Parse a patch path and check its patient and class folders agree with its name."""
    match = FILENAME_RE.match(path.name)
    if match is None:
        raise LayoutError(
            f"{path}: file name does not parse as "
            "'<patient>_idx5_x<X>_y<Y>_class<0|1>.png'; rename it or move it out of the data root"
        )
    name = PatchName(
        patient=match["patient"], x=int(match["x"]), y=int(match["y"]), label=int(match["label"])
    )
    class_folder, patient_folder = path.parent.name, path.parent.parent.name
    if class_folder != str(name.label):
        raise FolderMismatch(
            f"{path}: name says class {name.label} but it sits in folder '{class_folder}'; "
            f"expected <patient>/{name.label}/{path.name}"
        )
    if patient_folder != name.patient:
        raise FolderMismatch(
            f"{path}: name says patient {name.patient} but it sits under '{patient_folder}'; "
            f"expected {name.patient}/{name.label}/{path.name}"
        )
    return name
