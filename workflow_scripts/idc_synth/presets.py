"""Published patient splits shipped with the workflow (`split.preset`), patient lists, and how
a data root's patients fall into them. Standard library only: the workflow plans the split from
file names while it loads.

A random split of all 279 patients cannot be set beside any published number; the published
split can, as context (the published models and training differ from this study's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "val", "test")
PRESET_FOLDER = Path(__file__).resolve().parents[2] / "resources" / "splits"


@dataclass(frozen=True)
class PublishedResult:
    source: str
    balanced_accuracy: float
    f1: float


@dataclass(frozen=True)
class Preset:
    citation: str
    sizes: dict[str, int]  # patients per list, as published
    results: tuple[PublishedResult, ...]


PRESETS = {
    "janowczyk2016": Preset(
        citation="Janowczyk & Madabhushi 2016, J Pathol Inform 7:29",
        sizes={"train": 84, "val": 29, "test": 49},
        results=(
            PublishedResult("Janowczyk & Madabhushi 2016", balanced_accuracy=0.8468, f1=0.7648),
            PublishedResult("Romero et al., ISBI 2019", balanced_accuracy=0.89, f1=0.90),
        ),
    )
}


def preset_lists(name: str) -> dict[str, Path]:
    """The train, val and test lists a preset ships (resources/splits/<name>/)."""
    return {split: PRESET_FOLDER / name / f"{split}.txt" for split in SPLITS}


class SplitError(ValueError):
    """No valid patient-level split can be made; the message says why and what to do."""


def read_patient_list(path: Path) -> list[str]:
    """One patient id per line; blank lines and '#' comments ignored."""
    if not path.is_file():
        raise SplitError(f"patient list {path} does not exist; fix split.patient_lists in config")
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def read_lists(lists: dict[str, Path]) -> dict[str, str]:
    """patient -> split from the train, val and test lists; a patient in two is an error."""
    assigned: dict[str, str] = {}
    for name in SPLITS:
        for patient in read_patient_list(Path(lists[name])):
            if assigned.get(patient, name) != name:
                raise SplitError(
                    f"patient {patient} is listed for both {assigned[patient]} and {name} "
                    f"({lists[assigned[patient]]}, {lists[name]}); a patient may be in one split"
                )
            assigned[patient] = name
    return assigned


@dataclass(frozen=True)
class ListFit:
    """How a root's patients fall into patient lists."""

    sizes: dict[str, int]  # listed patients present in the root, per split
    left_out: list[str]  # patients of the root in no list
    missing: list[str]  # listed patients the root lacks


def fit_lists(assigned: dict[str, str], patients: set[str]) -> ListFit:
    return ListFit(
        sizes={
            name: sum(
                1 for patient, split in assigned.items() if split == name and patient in patients
            )
            for name in SPLITS
        },
        left_out=sorted(patients - set(assigned), key=patient_order),
        missing=sorted(set(assigned) - patients, key=patient_order),
    )


def patient_order(patient: str) -> tuple[int, str]:
    """Numeric ids in numeric order (9 before 10), others after, by name."""
    return (int(patient), "") if patient.isdigit() else (1 << 62, patient)


def split_description(
    preset: str | None, lists: dict[str, str] | None, fractions: dict[str, float], seed: int
) -> str:
    """How the split is made, in words, for the console, the log and the summary."""
    if preset:
        return f"published patient split {preset} ({PRESETS[preset].citation})"
    if lists:
        return "patient lists " + ", ".join(str(lists[name]) for name in SPLITS)
    shares = ", ".join(f"{name} {fractions[name]:g}" for name in SPLITS)
    return f"stratified by patient (seed {seed}; patch shares {shares})"
