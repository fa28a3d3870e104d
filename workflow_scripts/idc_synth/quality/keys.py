"""The array names of the image-quality .npz files, written and read through this module only.

The quality jobs (idc_synth.quality.assess, workflow_scripts/quality_reference.py and
image_quality.py) write flat ``{name: array}`` .npz files; the gather job
(idc_synth.quality.intervals, idc_synth.memorization) reads them. Both sides name an array with
`key` and read a name back with `parse`, so the layout lives here:

* per feature space and class: ``{space}_{kind}_{label}`` (``{space}_{label}`` for a set's
  matched-n distribution features, kind `FEATURES`), kinds below;
* in a set's pairs .npz: ``{space}_{field}`` per copy space, its closest candidate-train pairs
  (`pair_key`, read back per space by `pairs_by_space`);
* per class: ``train_rows_{label}``, ``train_patients_{label}`` (the reference's train patches
  and their patients) and the spectral sums under `spectral_prefix` (``spectral_train_{label}``
  in the reference, ``spectral_{label}`` in a set; ``{prefix}_groups`` names their patients).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

# kinds of a (space, label) array
FEATURES = ""  # a set's matched-n distribution features (features .npz)
GROUPS = "groups"  # their patients, for a real set
COPY = "copy"  # every candidate's nearest-train distance (features .npz)
COPY_NEAREST = "copy_nearest"  # and which train patch is nearest
TRAIN = "train"  # every train patch's features (reference .npz)
CALIBRATION = "calibration"  # held-out patches' nearest-train distances: near-copy thresholds
CALIBRATION_NEAREST = "calibration_nearest"  # and which train patch is nearest
N = "n"  # the matched n of a distribution space
SUBSET = "subset"  # the matched-n train subsample, as positions among the class's train rows
REFERENCE = "reference"  # its features
REFERENCE_GROUPS = "reference_groups"  # its patients
KINDS = (
    FEATURES,
    GROUPS,
    COPY,
    COPY_NEAREST,
    TRAIN,
    CALIBRATION,
    CALIBRATION_NEAREST,
    N,
    SUBSET,
    REFERENCE,
    REFERENCE_GROUPS,
)
NEAREST = {COPY: COPY_NEAREST, CALIBRATION: CALIBRATION_NEAREST}  # distances -> which train patch
PATIENT_KINDS = (GROUPS, REFERENCE_GROUPS)  # arrays of patient names
SPECTRAL_GROUPS = "groups"  # the field of a spectral prefix that names its patients

_SPACE = re.compile(r"[a-z0-9]+")
_KEY = re.compile(
    r"(?P<space>[a-z0-9]+)_(?:(?P<kind>"
    + "|".join(sorted((re.escape(kind) for kind in KINDS if kind), key=len, reverse=True))
    + r")_)?(?P<label>\d+)"
)


class Key(NamedTuple):
    space: str
    kind: str
    label: int


def key(space: str, kind: str, label: int) -> str:
    """The name of the `kind` array of feature space `space` and class `label`."""
    if kind not in KINDS:
        raise ValueError(f"unknown array kind {kind!r}; known: {KINDS}")
    if not _SPACE.fullmatch(space):
        raise ValueError(f"a feature space is one lower-case word, not {space!r}")
    return f"{space}_{kind}_{int(label)}" if kind else f"{space}_{int(label)}"


def parse(name: str) -> Key | None:
    """The (space, kind, label) of a `key` name; None for any other array."""
    match = _KEY.fullmatch(name)
    if match is None or match["space"] in ("train", "spectral"):
        return None
    return Key(match["space"], match["kind"] or FEATURES, int(match["label"]))


def train_rows(label: int) -> str:
    return f"train_rows_{int(label)}"


def train_patients(label: int) -> str:
    return f"train_patients_{int(label)}"


def spectral_prefix(label: int, train: bool = False) -> str:
    """The prefix of a class's spectral sums: train's in the reference, or a set's own."""
    return f"spectral_train_{int(label)}" if train else f"spectral_{int(label)}"


def spectral_groups(prefix: str) -> str:
    """The array naming the patients of the spectral sums under `prefix`."""
    return f"{prefix}_{SPECTRAL_GROUPS}"


def patient_name_keys(names: Iterable[str]) -> list[str]:
    """The arrays among `names` that hold patient names (the units of the patient bootstrap):
    the distribution features' patients and the spectral sums' patients."""
    spectral = re.compile(r"spectral_(?:train_)?\d+_" + SPECTRAL_GROUPS)
    found = []
    for name in names:
        parsed = parse(name)
        if (parsed is not None and parsed.kind in PATIENT_KINDS) or spectral.fullmatch(name):
            found.append(name)
    return found


def pair_key(space: str, field: str) -> str:
    """The name of one field (synthetic, train, distances, patient, ...) of a copy space's
    closest pairs."""
    if not _SPACE.fullmatch(space):
        raise ValueError(f"a feature space is one lower-case word, not {space!r}")
    return f"{space}_{field}"


def pairs_by_space(arrays: dict) -> dict[str, dict]:
    """A pairs .npz as {space: {field: array}}: the spaces are those with distances."""
    spaces = [name.removesuffix("_distances") for name in arrays if name.endswith("_distances")]
    return {
        space: {
            name.removeprefix(f"{space}_"): value
            for name, value in arrays.items()
            if name.startswith(f"{space}_")
        }
        for space in spaces
    }
