"""Robustness of the classifiers to stain and acquisition shift at test time.

Perturbations of the packed test patches, applied in memory to a copy (the packed arrays on disk
and the data root are never written), each at graded strengths and seeded per (seed,
perturbation, strength), so a rerun draws the same perturbed set:

* ``stain``: H&E stain jitter in HED space (Tellez et al. 2019; ``augment.stain_jitter``, the
  transform the ``stain`` training arm applies): per patch, each stain channel scaled by
  U(1 - s, 1 + s) and shifted by U(-s, s) x its range.
* ``brightness_contrast``: per patch, contrast c ~ U(1 - s, 1 + s) around the patch mean and
  brightness b ~ U(-s, s) x 255.
* ``blur``: Gaussian blur with sigma = s pixels (deterministic).
* ``jpeg``: re-compression at quality s (lower is stronger; deterministic).

Inference (`robustness_table`, the machinery of the primary endpoint, idc_synth.inference): the
primary metric per arm at each (perturbation, strength) with its interval; its degradation
(perturbed - clean, paired on the same patients and seeds: the difference of their
leave-one-patient-out pseudovalues); and per generator arm the difference in degradation vs the
baseline (positive: the arm loses less), from the seed x patient model of the two arms. The
decision family is declared in advance: every generator at the strongest strength of every
perturbation, Bonferroni over them, each verdict with its inverted-test interval. Weaker strengths
are secondary: an effect and an unadjusted interval, no verdict.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from idc_synth.arms import BASELINE, Arm
from idc_synth.augment import stain_jitter
from idc_synth.inference import SCORE_RANGE, Family, crossed, decide
from idc_synth.statistics import Settings, StudyPredictions, comparison_name

PERTURBATIONS = ("stain", "brightness_contrast", "blur", "jpeg")
ROBUSTNESS_COLUMNS = [
    "perturbation",
    "strength",
    "arm",
    "metric",
    "mean",
    "ci_low",
    "ci_high",
    "degradation",
    "degradation_ci_low",
    "degradation_ci_high",
    "comparison",
    "role",
    "degradation_difference",
    "difference_ci_low",
    "difference_ci_high",
    "difference_ci_level",
    "p_value",
    "p_adjusted",
    "verdict",
    "confidence_level",
    "n_patients",
    "n_seeds",
    "note",
]


def _rng(seed: int, perturbation: str, strength: float) -> np.random.Generator:
    # The strength's bits, not its float, enter the seed sequence.
    key = int(np.float64(strength).view(np.uint64))
    return np.random.default_rng([seed, PERTURBATIONS.index(perturbation), key])


def _to_uint8(images: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def brightness_contrast(
    images: np.ndarray, strength: float, rng: np.random.Generator
) -> np.ndarray:
    contrast = rng.uniform(1 - strength, 1 + strength, size=(len(images), 1, 1, 1))
    brightness = rng.uniform(-strength, strength, size=(len(images), 1, 1, 1)) * 255
    values = images.astype(np.float32)
    mean = values.mean(axis=(1, 2, 3), keepdims=True)
    return _to_uint8((values - mean) * contrast + mean + brightness)


def gaussian_blur(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return _to_uint8(
        gaussian_filter(images.astype(np.float32), sigma=(0, strength, strength, 0), mode="reflect")
    )


def jpeg(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    result = np.empty_like(images)
    for index, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(strength))
        buffer.seek(0)
        result[index] = np.asarray(Image.open(buffer).convert("RGB"))
    return result


_APPLY = {
    "stain": stain_jitter,
    "brightness_contrast": brightness_contrast,
    "blur": gaussian_blur,
    "jpeg": jpeg,
}


def perturb(images: np.ndarray, perturbation: str, strength: float, seed: int) -> np.ndarray:
    """A perturbed copy of uint8 (N, H, W, 3) `images` (which may be a read-only memory map:
    it is only read)."""
    if perturbation not in _APPLY:
        raise ValueError(f"unknown perturbation {perturbation!r}; known: {PERTURBATIONS}")
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"need uint8 (N, H, W, 3) images, got {images.dtype} {images.shape}")
    return _APPLY[perturbation](images, strength, _rng(seed, perturbation, strength))


# ---------------------------------------------------------------------------------------------
# Inference


def robustness_table(
    clean: StudyPredictions, perturbed: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    """`clean`: the test predictions; `perturbed`: the same columns plus perturbation and
    strength. One row per (perturbation, strength, arm) for the primary metric (see the module
    docstring)."""
    metric, level = settings.primary_metric, settings.confidence_level
    arms = clean.arms
    clean_scores = {arm: clean.scores(arm, (metric,)).table(metric) for arm in arms}
    rows, decisions = [], []
    groups = perturbed.groupby(["perturbation", "strength"], sort=False)
    strongest = {
        name: max(strengths, key=lambda s: _strength_order(name, s))
        for name, strengths in perturbed.groupby("perturbation", sort=False)["strength"]
        .unique()
        .items()
    }
    for (perturbation, strength), frame in groups:
        try:  # the clean study's design: its patches, patients, arms, seeds and plan
            study = StudyPredictions(frame, design=clean.design)
        except ValueError as error:
            raise ValueError(f"predictions under {perturbation} {strength}: {error}") from error
        scores = {arm: study.scores(arm, (metric,)).table(metric) for arm in arms}
        drops = {arm: scores[arm] - clean_scores[arm] for arm in arms}
        family = Family(drops)
        decides = strength == strongest[perturbation]
        for arm in arms:
            value, drop = crossed(scores[arm]), crossed(drops[arm])
            row = {
                "perturbation": perturbation,
                "strength": strength,
                "arm": arm,
                "metric": metric,
                "mean": value.estimate,
                "degradation": drop.estimate,
                "comparison": "",
                "role": "",
                "verdict": "",
                "confidence_level": level,
                "n_patients": clean.n_patients,
                "n_seeds": len(clean.seeds),
                "note": "",
            }
            row["ci_low"], row["ci_high"] = value.interval(level, SCORE_RANGE)
            row["degradation_ci_low"], row["degradation_ci_high"] = drop.interval(level)
            # Arms with synthetic patches vs the baseline; classic arms are described only.
            if Arm.parse(arm).generator and BASELINE in arms:
                difference = family.difference(arm, BASELINE)
                low, high = difference.interval(level)
                row.update(
                    comparison=comparison_name(arm, BASELINE),
                    role="decision" if decides else "secondary",
                    degradation_difference=difference.estimate,
                    difference_ci_low=low,
                    difference_ci_high=high,
                    difference_ci_level=level,
                    note=difference.note,
                )
                if decides:
                    decisions.append((len(rows), difference))
            rows.append(row)
    table = pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)
    if decisions:
        decided = decide([difference for _, difference in decisions], settings.alpha)
        index = [position for position, _ in decisions]
        table.loc[index, "p_value"] = decided["p_value"].to_numpy()
        table.loc[index, "p_adjusted"] = decided["p_adjusted"].to_numpy()
        table.loc[index, "difference_ci_low"] = decided["ci_low"].to_numpy()
        table.loc[index, "difference_ci_high"] = decided["ci_high"].to_numpy()
        table.loc[index, "difference_ci_level"] = decided["decision_level"].to_numpy()
        table.loc[index, "verdict"] = decided["verdict"].to_numpy()
        table.loc[index, "note"] = decided["note"].to_numpy()
    return table


def _strength_order(perturbation: str, strength: float) -> float:
    """Larger is stronger, but for JPEG, whose strength is a quality (lower is stronger)."""
    return -strength if perturbation == "jpeg" else strength
