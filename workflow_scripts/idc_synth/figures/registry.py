"""Which function draws each figure family, and the named inputs it reads.

A rule `plot_<family>` (rules/figures.smk, one FIGURE_TABLE row each) hands its named input files
and its options to `render`, which reads every input with one reader (`read_file`, by
extension) and calls the family's function with one keyword per input and per option; the
function's signature is the contract, checked against FIGURE_TABLE by tests/test_figures.py.
A new family is one row here, one row in FIGURE_TABLE, its function and its caption.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.figures.classification import (
    plot_calibration_simulation,
    plot_confusion,
    plot_curves,
    plot_metrics,
    plot_per_patient,
    plot_reliability,
)
from idc_synth.figures.shift_and_efficiency import (
    plot_efficiency,
    plot_learning_curve,
    plot_robustness,
)
from idc_synth.figures.style import Style
from idc_synth.figures.synthetic_images import plot_closest_pairs, plot_quality, plot_samples
from idc_synth.figures.training import plot_training


class Read(enum.Enum):
    """How a named input reaches its keyword."""

    FILE = "one file, read by extension"
    CONCAT = "a list of tables, read and concatenated"
    EACH = "a list of files, read one by one (a list, in input order)"
    GROUP = "the inputs named <name>_<key>, read as {key: data}"
    PATHS = "the inputs named <name>_<key>, as {key: path} (files that name other files)"


@dataclass(frozen=True)
class Family:
    plot: Callable[..., Path]
    inputs: Mapping[str, Read]


FILE, CONCAT, EACH, GROUP, PATHS = Read
FAMILIES: dict[str, Family] = {
    "metrics": Family(plot_metrics, {"summary_ci": FILE, "classification": FILE}),
    "confusion": Family(plot_confusion, {"classification": FILE}),
    "curves": Family(plot_curves, {"predictions": CONCAT}),
    "samples": Family(plot_samples, {"train_images": FILE, "train_table": FILE, "manifest": PATHS}),
    "quality": Family(plot_quality, {"image_quality": FILE}),
    "training": Family(plot_training, {"histories": EACH, "losses": GROUP, "quality": GROUP}),
    "closest_pairs": Family(plot_closest_pairs, {"pairs": GROUP, "memorization": FILE}),
    "per_patient": Family(plot_per_patient, {"per_patient": FILE}),
    "reliability": Family(plot_reliability, {"predictions": CONCAT}),
    "robustness": Family(plot_robustness, {"robustness": FILE}),
    "efficiency": Family(plot_efficiency, {"efficiency": FILE}),
    "learning_curve": Family(plot_learning_curve, {"efficiency": FILE}),
    "calibration_simulation": Family(plot_calibration_simulation, {"calibration_simulation": FILE}),
}
# The options that make the Style; every other option is a keyword of the family's function.
STYLE_OPTIONS = ("dpi", "font_size", "colors")
# Table columns read as text whatever they hold (patient ids look like numbers).
TEXT_COLUMNS = {"patient": str}


def read_file(path: Path):
    """A table (.tsv, .parquet) as a DataFrame, an array (.npy, memory-mapped), the arrays of an
    .npz as {name: array}, a .json document."""
    path = Path(path)
    suffix = path.suffix
    if suffix == ".tsv":
        return pd.read_csv(path, sep="\t", dtype=TEXT_COLUMNS)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".npy":
        return np.load(path, mmap_mode="r")
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            return dict(arrays)
    if suffix == ".json":
        return json.loads(path.read_text())
    raise ValueError(f"no reader for {path} (known: .tsv, .parquet, .npy, .npz, .json)")


def _one(inputs: Mapping[str, Sequence[Path]], name: str) -> Path:
    paths = inputs[name]
    if len(paths) != 1:
        raise ValueError(f"input {name!r} should be one file, got {paths}")
    return Path(paths[0])


def read_inputs(family: Family, inputs: Mapping[str, Sequence[Path]]) -> dict[str, object]:
    """A rule's named inputs ({name: [paths]}) as the keywords of the family's function."""
    data: dict[str, object] = {}
    claimed: set[str] = set()
    for name, read in family.inputs.items():
        if read in (GROUP, PATHS):
            members = {
                key: key.removeprefix(f"{name}_") for key in inputs if key.startswith(name + "_")
            }
            claimed.update(members)
            paths = {short: _one(inputs, key) for key, short in members.items()}
            data[name] = paths if read is PATHS else {k: read_file(p) for k, p in paths.items()}
            continue
        if name not in inputs:
            raise ValueError(f"missing input {name!r}; got {sorted(inputs)}")
        claimed.add(name)
        if read is FILE:
            data[name] = read_file(_one(inputs, name))
        elif read is EACH:
            data[name] = [read_file(path) for path in inputs[name]]
        else:
            data[name] = pd.concat(map(read_file, inputs[name]), ignore_index=True)
    if unknown := sorted(set(inputs) - claimed):
        raise ValueError(f"inputs {unknown} name no input of this family ({sorted(family.inputs)})")
    return data


def render(family: str, inputs: Mapping[str, Sequence[Path]], path: Path, options: Mapping) -> Path:
    """Draw one figure family from a rule's named inputs and its options (`figures:` style keys
    and the family's own settings)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown figure family {family!r}; known: {sorted(FAMILIES)}")
    entry = FAMILIES[family]
    settings = {key: value for key, value in options.items() if key not in STYLE_OPTIONS}
    return entry.plot(
        **read_inputs(entry, inputs),
        **settings,
        path=Path(path),
        style=Style.from_options(options),
    )
