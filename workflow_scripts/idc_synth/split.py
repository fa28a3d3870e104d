"""Patient-level train/val/test splits: seeded and stratified, or read from patient lists.

Patches of one patient are strongly correlated, so a patient never spans two splits: each
patient gets exactly one split label, which makes a leak impossible by construction.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.presets import SPLITS, SplitError, fit_lists, read_lists

log = logging.getLogger(__name__)

SPLIT_COLUMNS = ["patient", "split", "n_patches", "n_idc"]
CANDIDATES = 4000  # random patient assignments scored; plenty for hundreds of patients


def patient_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """patient, n_patches, n_idc; sorted by patient so the seed alone decides the split."""
    grouped = manifest.groupby("patient", sort=True)["label"]
    return pd.DataFrame(
        {"n_patches": grouped.size(), "n_idc": grouped.sum().astype(int)}
    ).reset_index()


def split_sizes(n_patients: int, fractions: dict[str, float]) -> dict[str, int]:
    """Patients per split: at least one each, the rest by the fractions, train takes remainders."""
    if n_patients < len(SPLITS):
        raise SplitError(
            f"a patient-level split needs at least {len(SPLITS)} patients (one per split) but the "
            f"manifest has {n_patients}; add patients, or give patient lists "
            "(split.patient_lists) that fit the data"
        )
    sizes = {name: max(1, round(fractions[name] * n_patients)) for name in ("val", "test")}
    sizes["train"] = n_patients - sizes["val"] - sizes["test"]
    if sizes["train"] < 1:
        raise SplitError(f"split fractions {fractions} leave no patient for train")
    return {name: sizes[name] for name in SPLITS}


def stratified_split(
    manifest: pd.DataFrame, fractions: dict[str, float], seed: int
) -> pd.DataFrame:
    """Seeded patient split whose splits match the overall IDC share and patch fractions.

    Scores many random patient assignments and keeps the best: a split must hold both classes,
    and among those the one closest to the dataset's IDC ratio and to the asked-for patch
    fractions wins. Exact and cheap at the IDC dataset's scale (~280 patients).
    """
    patients = patient_table(manifest)
    sizes = split_sizes(len(patients), fractions)
    rng = np.random.default_rng(seed)
    orders = np.argsort(rng.random((CANDIDATES, len(patients))), axis=1)
    bounds = np.cumsum([0, *sizes.values()])
    n_patches = patients["n_patches"].to_numpy()[orders]
    n_idc = patients["n_idc"].to_numpy()[orders]
    overall_idc = n_idc[0].sum() / n_patches[0].sum()
    score = np.zeros(CANDIDATES)
    for index, name in enumerate(SPLITS):
        part = slice(bounds[index], bounds[index + 1])
        patches, idc = n_patches[:, part].sum(axis=1), n_idc[:, part].sum(axis=1)
        has_both = (idc > 0) & (idc < patches)
        score += np.abs(idc / patches - overall_idc) + np.abs(
            patches / n_patches[0].sum() - fractions[name]
        )
        score[~has_both] = np.inf
    best = int(np.argmin(score))
    if not np.isfinite(score[best]):
        raise SplitError(
            f"no assignment of {len(patients)} patients gives every split both classes "
            "(too few patients with IDC or without it); add patients or give patient lists"
        )
    labels = np.empty(len(patients), dtype=object)
    for index, name in enumerate(SPLITS):
        labels[orders[best, bounds[index] : bounds[index + 1]]] = name
    return finish_split(patients.assign(split=labels))


def split_from_lists(manifest: pd.DataFrame, lists: dict[str, Path]) -> pd.DataFrame:
    """The split the lists give (a preset's, e.g. the published IDC benchmark's, or the user's);
    patients in no list are left out, and named in the log."""
    assigned = read_lists(lists)
    patients = patient_table(manifest)
    fit = fit_lists(assigned, set(patients["patient"]))
    for name in SPLITS:
        if fit.sizes[name] == 0:
            raise SplitError(
                f"none of the patients listed for {name} ({lists[name]}) has usable patches in "
                f"the manifest ({len(fit.missing)} listed patients are missing); is data.root the "
                "whole data set the lists were made for?"
            )
    if fit.missing:
        log.warning("%d listed patients have no usable patches: %s", len(fit.missing), fit.missing)
    if fit.left_out:
        log.warning(
            "%d patients are in no list and are left out: %s", len(fit.left_out), fit.left_out
        )
    patients["split"] = patients["patient"].map(assigned)
    return finish_split(patients.dropna(subset=["split"]))


def finish_split(table: pd.DataFrame) -> pd.DataFrame:
    table = table[SPLIT_COLUMNS].sort_values(["split", "patient"], ignore_index=True)
    check_split(table)
    return table


def check_split(table: pd.DataFrame) -> None:
    """Invariants every split must hold, whoever made it."""
    if table["patient"].duplicated().any():
        twice = sorted(table.loc[table["patient"].duplicated(), "patient"])
        raise AssertionError(f"patients in more than one split: {twice}")
    for name in SPLITS:
        part = table[table["split"] == name]
        if part.empty or part["n_idc"].sum() in (0, part["n_patches"].sum()):
            raise SplitError(
                f"split '{name}' has {len(part)} patients and lacks a class "
                f"({part['n_idc'].sum()} IDC of {part['n_patches'].sum()} patches); every split "
                "needs both classes: change the patient lists or add patients"
            )


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per split: patients, patches, IDC share (for the log and the README)."""
    summary = table.groupby("split").agg(
        patients=("patient", "size"), patches=("n_patches", "sum"), idc=("n_idc", "sum")
    )
    summary["idc_share"] = (summary["idc"] / summary["patches"]).round(3)
    return summary.reindex(list(SPLITS))
