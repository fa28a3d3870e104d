"""The data-efficiency sweep: nested shares of the train patients x synthetic ratios.

A real fraction keeps whole patients: the train patients in a seeded order, of which fraction f
keeps the first ceil(f x n), so every smaller fraction is a subset of every larger one and the
learning curve adds patients instead of reshuffling them. The fraction's patches are packed
apart, and its generators train on that copy alone: they cannot see a patient outside it.

A synthetic ratio r gives a classifier round(r x its real train count) synthetic patches per
class, taken from the start of one draw sampled at the largest ratio (batches.synthetic_share),
so the ratios of a fraction differ only in how many of the same synthetic patches they add.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.manifest import write_rows
from idc_synth.metrics import BASELINE
from idc_synth.pack import load_packed
from idc_synth.statistics import Settings, bootstrap_p_value, compare_arms, decide

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
    "p_value",
    "p_holm",
    "significant",
    "verdict",
    "n_test_patients",
    "seeds",
    "p_holm_floor",
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


def cell_arm(arm: str, ratio: float) -> str:
    """The name a generator cell goes by in the comparison: 'dcgan@1'."""
    return f"{arm}@{fraction_name(ratio)}"


def holm_floor(n_cells: int, n_patients: int, settings: Settings) -> float:
    """The smallest Holm-adjusted p any cell of the map can reach: the bootstrap p-value of a
    difference whose every resample is positive, times the number of cells. At or above alpha
    no cell can be significant, whatever the data; more resamples or test patients lower it."""
    smallest = bootstrap_p_value(np.ones(settings.bootstrap_samples), n_patients)
    return min(1.0, n_cells * smallest)


def efficiency_table(
    cells: Sequence[Mapping],
    predictions: Sequence[pd.DataFrame],
    settings: Settings,
) -> pd.DataFrame:
    """One row per (arm, fraction, ratio): the primary metric with its interval and, for a
    generator cell, its difference from the same fraction's real-only classifier with the
    two-level patient x seed bootstrap; Holm over every generator cell of the sweep.

    ``cells[i]`` describes ``predictions[i]`` (one classifier seed): arm, real_fraction,
    synthetic_ratio, train_patients, real_train_patches.
    """
    frame = pd.concat(
        [
            table.assign(
                arm=BASELINE
                if cell["arm"] == BASELINE
                else cell_arm(cell["arm"], cell["synthetic_ratio"]),
                real_fraction=float(cell["real_fraction"]),
            )
            for cell, table in zip(cells, predictions, strict=True)
        ],
        ignore_index=True,
    )
    described = pd.DataFrame(list(cells)).drop_duplicates(
        ["arm", "real_fraction", "synthetic_ratio"]
    )
    value_rows, difference_rows = [], []
    for fraction, rows in frame.groupby("real_fraction", sort=True):
        if BASELINE not in set(rows["arm"]):
            raise SweepError(f"real fraction {fraction_name(fraction)} has no real-only classifier")
        result = compare_arms(rows.drop(columns="real_fraction"), settings)
        values = result.summary_ci[result.summary_ci["metric"] == settings.primary_metric]
        value_rows.append(values.assign(real_fraction=fraction))
        versus = result.primary[result.primary["arm_b"] == BASELINE]
        difference_rows.append(versus.assign(real_fraction=fraction))
    values = pd.concat(value_rows, ignore_index=True)
    differences = decide(pd.concat(difference_rows, ignore_index=True), settings.alpha)
    floor = holm_floor(len(differences), int(values["n_patients"].min()), settings)
    rows = []
    for cell in described.itertuples(index=False):
        name = BASELINE if cell.arm == BASELINE else cell_arm(cell.arm, cell.synthetic_ratio)
        fraction = float(cell.real_fraction)
        value = values[(values["arm"] == name) & (values["real_fraction"] == fraction)].iloc[0]
        row = {
            "arm": cell.arm,
            "real_fraction": fraction,
            "synthetic_ratio": float(cell.synthetic_ratio),
            "train_patients": int(cell.train_patients),
            "real_train_patches": int(cell.real_train_patches),
            "metric": settings.primary_metric,
            "value": value["mean"],
            "value_ci_low": value["ci_low"],
            "value_ci_high": value["ci_high"],
            "n_test_patients": int(value["n_patients"]),
            "seeds": int(value["n_seeds"]),
            "p_holm_floor": floor,
        }
        if cell.arm != BASELINE:
            match = differences[
                (differences["arm_a"] == name) & (differences["real_fraction"] == fraction)
            ].iloc[0]
            row.update(
                {
                    key: match[key]
                    for key in ("difference", "ci_low", "ci_high", "p_value", "p_holm")
                },
                significant=match["significant"],
                verdict=match["verdict"],
            )
        rows.append(row)
    table = pd.DataFrame(rows, columns=EFFICIENCY_COLUMNS)
    order = table.assign(generator=table["arm"] != BASELINE)
    order = order.sort_values(["generator", "arm", "real_fraction", "synthetic_ratio"])
    return table.loc[order.index].reset_index(drop=True)
