"""The design of a study, built once: its test patches, their labels and patients, its arms and
seeds, and the resample plan every interval and test is computed over.

The test patient is the unit of inference; seeds are replicates crossed with the patients. The
resample plan is leave-one-patient-out (`ResamplePlan`): replicate 0 keeps every patient,
replicate i + 1 drops exactly patient i's patches, so a statistic evaluated on the plan gives its
leave-one-patient-out pseudovalues per seed (idc_synth.inference). Every analysis that compares
arms takes its patients, seeds and plan from a `StudyDesign`: the primary statistics, robustness,
generalization and calibration (through `statistics.StudyPredictions`), the data-efficiency
sweep, and the simulation of whole studies (`StudyDesign.synthetic`, whose units are patients'
aggregated confusion counts rather than patches).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from idc_synth.arms import arm_sort_key
from idc_synth.inference import jackknife_weights, pseudovalues

PREDICTION_COLUMNS = ["arm", "seed", "row", "patient", "label", "probability", "threshold"]

# statistic(probabilities, threshold, weights) -> {metric: (replicates,) values}
Statistic = Callable[[np.ndarray, float, np.ndarray], Mapping[str, np.ndarray]]


def split_predictions(predictions: pd.DataFrame) -> dict[tuple[str, int], pd.DataFrame]:
    """Split the stacked predictions by (arm, seed), checking they cover the same patches."""
    missing = [column for column in PREDICTION_COLUMNS if column not in predictions]
    if missing:
        raise ValueError(f"predictions lack columns {missing}")
    groups = {
        (str(arm), int(seed)): group.reset_index(drop=True)
        for (arm, seed), group in predictions.groupby(["arm", "seed"], sort=True)
    }
    if not groups:
        raise ValueError("no predictions")
    reference_key, reference = next(iter(groups.items()))
    for key, group in groups.items():
        for column in ("row", "patient", "label"):
            if len(group) != len(reference) or not np.array_equal(
                group[column].to_numpy(), reference[column].to_numpy()
            ):
                raise ValueError(
                    f"predictions of {key} and {reference_key} differ in {column!r}: arms "
                    "must be scored on the same test patches in the same order"
                )
        if group["threshold"].nunique() != 1:
            raise ValueError(f"predictions of {key} hold several thresholds")
    return groups


@dataclass(frozen=True, eq=False)
class ResamplePlan:
    """Leave-one-patient-out replicates of a study's units (patches, or a patient's aggregated
    counts): replicate 0 keeps every unit, replicate i + 1 every unit but patient i's. Whole
    patients are dropped, never single patches; the plan depends on the patient codes alone."""

    patient_codes: np.ndarray  # (N,) each unit's patient, 0 .. n_patients - 1
    n_patients: int

    @property
    def n_replicates(self) -> int:
        return 1 + self.n_patients

    @cached_property
    def weights(self) -> np.ndarray:
        """(1 + n_patients, N) unit weights of the replicates."""
        return jackknife_weights(self.patient_codes, self.n_patients)

    @cached_property
    def patients(self) -> np.ndarray:
        """(n_patients, N) indicators: row k selects patient k's units (per-patient scores)."""
        codes = np.asarray(self.patient_codes)
        return (np.arange(self.n_patients)[:, None] == codes[None, :]).astype(float)

    def totals(self, per_patient: np.ndarray) -> np.ndarray:
        """Additive statistics (..., n_patients, k) of each patient -> (..., 1 + n_patients, k)
        of each replicate: the total, then the total without each patient."""
        per_patient = np.asarray(per_patient)
        if per_patient.shape[-2] != self.n_patients:
            raise ValueError(f"need {self.n_patients} patients on axis -2, got {per_patient.shape}")
        total = per_patient.sum(axis=-2, keepdims=True)
        return np.concatenate([total, total - per_patient], axis=-2)

    @staticmethod
    def pseudovalues(values: np.ndarray) -> np.ndarray:
        """(seeds, 1 + n_patients) statistic on every replicate -> (seeds, n_patients)
        leave-one-patient-out pseudovalues."""
        values = np.asarray(values)
        return pseudovalues(values[:, 0], values[:, 1:])


@dataclass(frozen=True, eq=False)
class StudyDesign:
    """A study's test units (their rows, labels and patients), arms and seeds, and its resample
    plan: built once, from the predictions or for a simulated study."""

    rows: np.ndarray  # (N,) the test units' identifiers
    labels: np.ndarray | None  # (N,) each unit's class; None where units are aggregated counts
    patient_codes: np.ndarray  # (N,) each unit's patient, an index into `patients`
    patients: np.ndarray  # the patients' names, in order of first appearance
    arms: list[str]
    seeds: list[int]

    @classmethod
    def from_groups(cls, groups: Mapping[tuple[str, int], pd.DataFrame]) -> StudyDesign:
        """From predictions split by (arm, seed) (`split_predictions`); every arm needs every
        seed."""
        reference = next(iter(groups.values()))
        codes, patients = pd.factorize(reference["patient"].to_numpy())
        arms = sorted(dict.fromkeys(arm for arm, _ in groups), key=arm_sort_key)
        seeds = sorted({seed for _, seed in groups})
        incomplete = [(a, s) for a in arms for s in seeds if (a, s) not in groups]
        if incomplete:
            raise ValueError(f"every arm needs every seed; missing {incomplete}")
        return cls(
            rows=reference["row"].to_numpy(),
            labels=reference["label"].to_numpy(),
            patient_codes=codes,
            patients=patients,
            arms=arms,
            seeds=seeds,
        )

    @classmethod
    def from_predictions(cls, predictions: pd.DataFrame) -> StudyDesign:
        return cls.from_groups(split_predictions(predictions))

    @classmethod
    def synthetic(cls, n_patients: int, arms: Sequence[str], n_seeds: int) -> StudyDesign:
        """A simulated study (idc_synth.simulation): one unit per patient (its confusion counts),
        the given arms (the reference first), seeds 0 .. n_seeds - 1."""
        units = np.arange(n_patients)
        return cls(
            rows=units,
            labels=None,
            patient_codes=units,
            patients=units,
            arms=list(arms),
            seeds=list(range(n_seeds)),
        )

    @property
    def n_patients(self) -> int:
        return len(self.patients)

    @cached_property
    def plan(self) -> ResamplePlan:
        return ResamplePlan(self.patient_codes, self.n_patients)

    def cells(self) -> Iterator[tuple[str, int]]:
        """Every (arm, seed), arm by arm, seeds in order."""
        for arm in self.arms:
            for seed in self.seeds:
                yield arm, seed

    def check_same(self, other: StudyDesign, what: str) -> None:
        """Raise unless `other` has the same units, patients, arms and seeds."""
        for name in ("rows", "labels", "patient_codes", "patients"):
            ours, theirs = getattr(self, name), getattr(other, name)
            if (ours is None) != (theirs is None) or (
                ours is not None and not np.array_equal(ours, theirs)
            ):
                raise ValueError(f"{what} differ in {name}")
        for name in ("arms", "seeds"):
            if list(getattr(self, name)) != list(getattr(other, name)):
                raise ValueError(f"{what} differ in {name}")

    def replicates(
        self,
        probabilities: Callable[[str, int], tuple[np.ndarray, float]],
        arm: str,
        statistic: Statistic,
        metrics: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        """The per-seed loop over the resample plan: `statistic` of the arm's predictions of
        every seed on every replicate -> (metrics, seeds) values on every patient and
        (metrics, seeds, patients) leave-one-patient-out pseudovalues."""
        per_seed = [statistic(*probabilities(arm, seed), self.plan.weights) for seed in self.seeds]
        full, pseudo = [], []
        for metric in metrics:
            values = np.array([seed[metric] for seed in per_seed])  # (seeds, 1 + patients)
            full.append(values[:, 0])
            pseudo.append(self.plan.pseudovalues(values))
        return np.array(full), np.stack(pseudo)
