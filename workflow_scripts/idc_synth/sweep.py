"""The data-efficiency sweep: nested shares of the train patients x synthetic ratios.

A real fraction keeps whole patients: the train patients in a seeded order, of which fraction f
keeps the first ceil(f x n), so every smaller fraction is a subset of every larger one and the
learning curve adds patients instead of reshuffling them. The fraction's patches are packed
apart, and its generators train on that copy alone: they cannot see a patient outside it.

A synthetic ratio r gives a classifier round(r x its real train count) synthetic patches per
class, taken from the start of one draw sampled at the largest ratio (batches.synthetic_share),
so the ratios of a fraction differ only in how many of the same synthetic patches they add.

Inference (`efficiency_table`, `efficiency_contrasts`): every cell of the map is a classifier arm
scored on the same test patients with the same seeds, so the cells form one family of the
seed x patient model (idc_synth.inference), each contrast analysed on its own table (the cells
it weights, no variance borrowed from the others). A cell's difference from its
fraction's real-only classifier is described with an unadjusted interval; the map decides only
through contrasts declared in advance, per generator, Bonferroni over all of them: its mean
effect over every cell, and (with two fractions or more) whether the effect at the smallest
fraction differs from that at the largest (does synthetic data help more when real data is
scarce?).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.arms import BASELINE
from idc_synth.inference import DECISION_COLUMNS, SCORE_RANGE, Family, crossed, decide
from idc_synth.manifest import write_rows
from idc_synth.pack import load_packed
from idc_synth.statistics import Settings, StudyPredictions

EXCLUDED = "excluded"  # split label of a train patient outside the fraction
EFFICIENCY_COLUMNS = [
    "arm",
    "real_fraction",
    "synthetic_ratio",
    "train_patients",
    "real_train_patches",
    "metric",
    "value",
    "value_ci_low",
    "value_ci_high",
    "difference",
    "ci_low",
    "ci_high",
    "confidence_level",
    "n_test_patients",
    "seeds",
]
CONTRAST_COLUMNS = [
    "arm",
    "contrast",
    "n_cells",
    "smallest_fraction",
    "largest_fraction",
    "metric",
    *(column for column in DECISION_COLUMNS if column != "df"),
]
MEAN_EFFECT, SCARCITY = "mean_effect", "scarcity"
EQUIVALENT_COLUMNS = [
    "arm",
    "real_fraction",
    "synthetic_ratio",
    "train_patients",
    "metric",
    "value",
    "equivalent_patients",
    "equivalent_low",
    "equivalent_high",
    "gain_patients",
    "note",
]


class SweepError(ValueError):
    """A fraction cannot be trained on; the message says why and what to change."""


def fraction_name(value: float) -> str:
    """The wildcard of a fraction or ratio: 0.5 -> '0.5', 1.0 -> '1'."""
    return f"{value:g}"


def patient_order(split: pd.DataFrame, seed: int) -> list[str]:
    """The train patients in the seeded order whose prefixes are the fractions."""
    patients = sorted(split.loc[split["split"] == "train", "patient"].astype(str))
    order = np.random.default_rng(seed).permutation(len(patients))
    return [patients[i] for i in order]


def fraction_patients(split: pd.DataFrame, fraction: float, seed: int) -> list[str]:
    """The first ceil(fraction x n) patients of the order: nested across fractions, and never
    empty; stops when they lack a class (no classifier or generator could learn it)."""
    if not 0 < fraction <= 1:
        raise SweepError(f"sweep.real_fractions: {fraction} is outside (0, 1]")
    order = patient_order(split, seed)
    kept = order[: max(1, math.ceil(fraction * len(order)))]
    rows = split[split["patient"].astype(str).isin(kept)]
    idc = int(rows["n_idc"].sum())
    if idc == 0 or idc == int(rows["n_patches"].sum()):
        missing = 1 if idc == 0 else 0
        raise SweepError(
            f"real fraction {fraction_name(fraction)} keeps {len(kept)} train patient(s) "
            f"{kept} with no class-{missing} patch; raise the smallest sweep.real_fractions "
            "or try another sweep.seed"
        )
    return kept


def fraction_split(split: pd.DataFrame, patients: Sequence[str]) -> pd.DataFrame:
    """The split table as the fraction's generators see it: train patients outside the
    fraction are marked excluded (so sampling counts only the fraction's patches)."""
    result = split.copy()
    outside = (result["split"] == "train") & ~result["patient"].astype(str).isin(patients)
    result.loc[outside, "split"] = EXCLUDED
    return result


def write_fraction(
    train_images: Path,
    train_table: Path,
    split: pd.DataFrame,
    patients: Sequence[str],
    out_images: Path,
    out_table: Path,
    out_split: Path,
) -> int:
    """Pack the fraction's patients' train patches apart (rows renumbered) and write its split
    table; returns the number of patches."""
    images, table = load_packed(train_images, train_table)
    keep = table["patient"].astype(str).isin(patients).to_numpy()
    subset = table[keep].reset_index(drop=True).assign(row=lambda rows: np.arange(len(rows)))
    for path in (out_images, out_table, out_split):
        path.parent.mkdir(parents=True, exist_ok=True)
    # block by block from the memory map: the subset never sits in RAM whole (full scale: GB)
    write_rows(images, np.flatnonzero(keep), out_images)
    subset.to_parquet(out_table, index=False)
    fraction_split(split, patients).to_parquet(out_split, index=False)
    return len(subset)


def _cell_name(arm: str, fraction: float, ratio: float) -> str:
    """A cell's name in the map's family: 'baseline@0.5', 'dcgan@0.5x1'."""
    if arm == BASELINE:
        return f"{BASELINE}@{fraction_name(fraction)}"
    return f"{arm}@{fraction_name(fraction)}x{fraction_name(ratio)}"


class EfficiencyMap:
    """The map's cells as one family: the primary metric's pseudovalue table of every cell."""

    def __init__(
        self,
        cells: Sequence[Mapping],
        predictions: Sequence[pd.DataFrame],
        settings: Settings,
    ):
        self.settings = settings
        metric = settings.primary_metric
        frame = pd.concat(
            [
                table.assign(
                    arm=_cell_name(cell["arm"], cell["real_fraction"], cell["synthetic_ratio"])
                )
                for cell, table in zip(cells, predictions, strict=True)
            ],
            ignore_index=True,
        )
        self.cells = pd.DataFrame(list(cells)).drop_duplicates(
            ["arm", "real_fraction", "synthetic_ratio"]
        )
        self.cells["name"] = [
            _cell_name(cell.arm, cell.real_fraction, cell.synthetic_ratio)
            for cell in self.cells.itertuples()
        ]
        for fraction in self.cells["real_fraction"].unique():
            if _cell_name(BASELINE, fraction, 0) not in set(self.cells["name"]):
                raise SweepError(
                    f"real fraction {fraction_name(fraction)} has no real-only classifier"
                )
        self.study = StudyPredictions(frame)
        scores = {name: self.study.scores(name, (metric,)) for name in self.cells["name"]}
        self.tables = {name: score.table(metric) for name, score in scores.items()}
        self.values = {name: score.values(metric) for name, score in scores.items()}
        self.family = Family(self.tables)

    def versus_real_only(self, cell) -> dict[str, float]:
        """The weights of a generator cell minus its fraction's real-only classifier."""
        return {cell.name: 1.0, _cell_name(BASELINE, cell.real_fraction, 0): -1.0}

    def generator_cells(self, arm: str) -> pd.DataFrame:
        rows = self.cells[(self.cells["arm"] == arm) & (self.cells["synthetic_ratio"] > 0)]
        return rows.sort_values(["real_fraction", "synthetic_ratio"])

    def contrasts(self) -> list[tuple[str, str, dict, dict[str, float]]]:
        """(arm, contrast, what it averages, weights) of every declared contrast; what it
        averages: its generator cells (n_cells) and the real fractions they span (the report
        words it)."""
        declared = []
        for arm in self.cells.loc[self.cells["arm"] != BASELINE, "arm"].unique():
            cells = self.generator_cells(arm)
            if cells.empty:
                continue
            fractions = sorted(cells["real_fraction"].unique())
            span = {
                "smallest_fraction": float(fractions[0]),
                "largest_fraction": float(fractions[-1]),
            }
            declared.append(
                (
                    arm,
                    MEAN_EFFECT,
                    {"n_cells": len(cells), **span},
                    _mean_weights([self.versus_real_only(cell) for cell in cells.itertuples()]),
                )
            )
            if len(fractions) > 1:
                smallest, largest = (
                    _mean_weights(
                        [
                            self.versus_real_only(cell)
                            for cell in cells[cells["real_fraction"] == fraction].itertuples()
                        ]
                    )
                    for fraction in (fractions[0], fractions[-1])
                )
                weights = dict(smallest)
                for name, weight in largest.items():
                    weights[name] = weights.get(name, 0.0) - weight
                ends = int(cells["real_fraction"].isin([fractions[0], fractions[-1]]).sum())
                declared.append((arm, SCARCITY, {"n_cells": ends, **span}, weights))
        return declared


def _mean_weights(contrasts: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The average of several contrasts' weights."""
    weights: dict[str, float] = {}
    for contrast in contrasts:
        for name, weight in contrast.items():
            weights[name] = weights.get(name, 0.0) + weight / len(contrasts)
    return weights


def efficiency_table(efficiency_map: EfficiencyMap) -> pd.DataFrame:
    """One row per (arm, fraction, ratio): the primary metric with its interval and, for a
    generator cell, its difference from the same fraction's real-only classifier with an
    unadjusted interval (descriptive: the map decides through `efficiency_contrasts`)."""
    settings = efficiency_map.settings
    level = settings.confidence_level
    rows = []
    for cell in efficiency_map.cells.itertuples():
        value = crossed(efficiency_map.tables[cell.name])
        low, high = value.interval(level, SCORE_RANGE)
        row = {
            "arm": cell.arm,
            "real_fraction": float(cell.real_fraction),
            "synthetic_ratio": float(cell.synthetic_ratio),
            "train_patients": int(cell.train_patients),
            "real_train_patches": int(cell.real_train_patches),
            "metric": settings.primary_metric,
            "value": float(np.nanmean(efficiency_map.values[cell.name])),
            "value_ci_low": low,
            "value_ci_high": high,
            "confidence_level": level,
            "n_test_patients": efficiency_map.study.n_patients,
            "seeds": len(efficiency_map.study.seeds),
        }
        if cell.arm != BASELINE:
            difference = efficiency_map.family.contrast(efficiency_map.versus_real_only(cell))
            row["difference"] = difference.estimate
            row["ci_low"], row["ci_high"] = difference.interval(level)
        rows.append(row)
    table = pd.DataFrame(rows, columns=EFFICIENCY_COLUMNS)
    order = table.assign(generator=table["arm"] != BASELINE)
    order = order.sort_values(["generator", "arm", "real_fraction", "synthetic_ratio"])
    return table.loc[order.index].reset_index(drop=True)


def efficiency_contrasts(efficiency_map: EfficiencyMap) -> pd.DataFrame:
    """One row per declared contrast, Bonferroni over all of them, with its verdict."""
    declared = efficiency_map.contrasts()
    results = [efficiency_map.family.contrast(weights) for *_, weights in declared]
    decided = decide(results, efficiency_map.settings.alpha)
    rows = [
        {
            "arm": arm,
            "contrast": contrast,
            **averaged,
            "metric": efficiency_map.settings.primary_metric,
            **row,
        }
        for (arm, contrast, averaged, _), row in zip(
            declared, decided.to_dict("records"), strict=True
        )
    ]
    return pd.DataFrame(rows, columns=CONTRAST_COLUMNS)


def _patients_at(value: float, curve: pd.DataFrame) -> tuple[float, str]:
    """Train patients at which the baseline's learning curve (train_patients, value; sorted by
    patients, increasing in value) reaches ``value``, linearly interpolated; NaN with the
    reason outside the curve."""
    patients, values = curve["train_patients"].to_numpy(float), curve["value"].to_numpy()
    if value > values[-1]:
        return math.nan, f"beyond the map: above the baseline at {int(patients[-1])} patients"
    if value < values[0]:
        return math.nan, f"below the baseline at {int(patients[0])} patients"
    return float(np.interp(value, values, patients)), ""


def real_patient_equivalents(efficiency: pd.DataFrame) -> pd.DataFrame:
    """Each generator cell below the full train set as real train patients: where the
    real-only (baseline) learning curve reaches the cell's metric, interpolated in train
    patients, the gain being that minus the cell's own patients; the interval maps the cell's
    interval through the same curve (the curve's own uncertainty is not in it). Descriptive:
    undefined where the curve is not increasing or the cell lies outside it."""
    curve = efficiency[
        (efficiency["arm"] == BASELINE) & (efficiency["synthetic_ratio"] == 0)
    ].sort_values("train_patients")
    increasing = len(curve) >= 2 and bool(np.all(np.diff(curve["value"].to_numpy()) > 0))
    rows = []
    cells = efficiency[(efficiency["arm"] != BASELINE) & (efficiency["real_fraction"] < 1)]
    for cell in cells.to_dict("records"):
        row = {key: cell[key] for key in EQUIVALENT_COLUMNS if key in cell}
        if not increasing:
            rows.append(row | {"note": "the baseline's learning curve is not increasing"})
            continue
        equivalent, note = _patients_at(cell["value"], curve)
        low, _ = _patients_at(cell["value_ci_low"], curve)
        high, _ = _patients_at(cell["value_ci_high"], curve)
        rows.append(
            row
            | {
                "equivalent_patients": equivalent,
                "equivalent_low": low,
                "equivalent_high": high,
                "gain_patients": equivalent - cell["train_patients"],
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=EQUIVALENT_COLUMNS)
