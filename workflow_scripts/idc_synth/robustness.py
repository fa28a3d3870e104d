"""Robustness of the classifiers to stain and acquisition shift at test time.

Perturbations of the packed test patches, applied in memory to a copy (the packed arrays on disk
and the data root are never written), each at graded strengths and seeded per (seed,
perturbation, strength), so a rerun draws the same perturbed set:

* ``stain``: H&E stain jitter in HED space (Tellez et al. 2019, "HED" augmentation): the
  patch is deconvolved with scikit-image's ``rgb2hed``; each of the three stain channels is
  scaled by alpha ~ U(1 - s, 1 + s) and shifted by beta ~ U(-s, s) x (that channel's range in
  the patch), per patch, and recomposed with ``hed2rgb``.
* ``brightness_contrast``: per patch, contrast c ~ U(1 - s, 1 + s) around the patch mean and
  brightness b ~ U(-s, s) x 255.
* ``blur``: Gaussian blur with sigma = s pixels (deterministic).
* ``jpeg``: re-compression at quality s (lower is stronger; deterministic).

Inference (`robustness_table`): the primary metric per arm at each (perturbation, strength)
with its two-level bootstrap interval; its degradation (perturbed - clean, paired on the same
patients and seeds); and per generator arm the difference in degradation vs the baseline
(positive: the arm loses less), with the interval, p-value and too-few-patients rule of the
primary endpoint, Holm-corrected over every (perturbation, strength, comparison) of the table.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd

from idc_synth.statistics import (
    BASELINE,
    Settings,
    bootstrap_metrics,
    check_predictions,
    comparison_name,
    decide,
    infer_difference,
    min_patients,
    patient_resamples,
    percentile_interval,
    seed_average,
    seed_resamples,
)

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
    "degradation_difference",
    "difference_ci_low",
    "difference_ci_high",
    "p_value",
    "p_holm",
    "verdict",
    "confidence_level",
    "n_patients",
    "n_seeds",
    "note",
]
CLEAN = "none"  # the perturbation name of the unperturbed test predictions


def _rng(seed: int, perturbation: str, strength: float) -> np.random.Generator:
    # The strength's bits, not its float, enter the seed sequence.
    key = int(np.float64(strength).view(np.uint64))
    return np.random.default_rng([seed, PERTURBATIONS.index(perturbation), key])


def _to_uint8(images: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def stain_jitter(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    from skimage.color import hed2rgb, rgb2hed

    result = np.empty_like(images)
    alphas = rng.uniform(1 - strength, 1 + strength, size=(len(images), 3))
    betas = rng.uniform(-strength, strength, size=(len(images), 3))
    for index, image in enumerate(images):
        hed = rgb2hed(image)
        spread = hed.reshape(-1, 3).max(axis=0) - hed.reshape(-1, 3).min(axis=0)
        hed = hed * alphas[index] + betas[index] * spread
        result[index] = _to_uint8(hed2rgb(hed) * 255)
    return result


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
    clean: pd.DataFrame, perturbed: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    """`clean`: the test predictions (arm, seed, row, patient, label, probability, threshold);
    `perturbed`: the same with perturbation and strength columns. One row per (perturbation,
    strength, arm) for the primary metric (see the module docstring)."""
    metric = settings.primary_metric
    level = settings.confidence_level
    reference = next(iter(check_predictions(clean).values()))
    labels = reference["label"].to_numpy()
    codes, patients = pd.factorize(reference["patient"].to_numpy())
    n_patients = len(patients)
    arms = list(dict.fromkeys(clean["arm"]))
    seeds = sorted(set(clean["seed"].astype(int)))
    patient_counts = patient_resamples(
        n_patients, settings.bootstrap_samples, settings.bootstrap_seed
    )
    seed_counts = seed_resamples(len(seeds), settings.bootstrap_samples, settings.bootstrap_seed)

    def point_and_boot(frame: pd.DataFrame) -> tuple[dict, dict]:
        """Per arm: the seed-mean point value and the (S, B) bootstrap values."""
        groups = check_predictions(frame)
        point, boot = {}, {}
        for arm in arms:
            values, resamples = [], []
            for seed in seeds:
                group = groups[(arm, seed)]
                if not np.array_equal(group["row"].to_numpy(), reference["row"].to_numpy()):
                    raise ValueError(f"perturbed predictions of {arm} seed {seed} differ in rows")
                args = (labels, group["probability"].to_numpy(), float(group["threshold"].iloc[0]))
                ones = np.ones((1, n_patients), dtype=np.int64)
                values.append(bootstrap_metrics(*args, codes, ones, (metric,))[metric].iloc[0])
                resamples.append(bootstrap_metrics(*args, codes, patient_counts, (metric,))[metric])
            point[arm] = float(np.nanmean(values))
            boot[arm] = np.stack([np.asarray(r, dtype=float) for r in resamples])
        return point, boot

    def interval(replicates: np.ndarray, prefix: str) -> dict[str, float]:
        low, high = math.nan, math.nan
        if n_patients >= min_patients(1 - level):
            low, high, _ = percentile_interval(replicates, level, n_patients)
        return {f"{prefix}ci_low": low, f"{prefix}ci_high": high}

    clean_point, clean_boot = point_and_boot(clean)
    rows = []
    for (perturbation, strength), frame in perturbed.groupby(
        ["perturbation", "strength"], sort=False
    ):
        point, boot = point_and_boot(frame)
        for arm in arms:
            drop = boot[arm] - clean_boot[arm]
            row = {
                "perturbation": perturbation,
                "strength": strength,
                "arm": arm,
                "metric": metric,
                "mean": point[arm],
                **interval(seed_average(boot[arm], seed_counts), ""),
                "degradation": point[arm] - clean_point[arm],
                **interval(seed_average(drop, seed_counts), "degradation_"),
                "comparison": "",
                "verdict": "",
                "confidence_level": level,
                "n_patients": n_patients,
                "n_seeds": len(seeds),
                "note": "",
            }
            if arm != BASELINE and BASELINE in arms:
                base_drop = boot[BASELINE] - clean_boot[BASELINE]
                inferred = infer_difference(
                    seed_average(drop - base_drop, seed_counts), n_patients, settings
                )
                row.update(
                    comparison=comparison_name(arm, BASELINE),
                    degradation_difference=row["degradation"]
                    - (point[BASELINE] - clean_point[BASELINE]),
                    difference_ci_low=inferred["ci_low"],
                    difference_ci_high=inferred["ci_high"],
                    p_value=inferred["p_value"],
                    note=inferred["note"],
                )
            rows.append(row)
    table = pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)
    compared = table["comparison"] != ""
    if compared.any():
        decided = decide(
            table.loc[compared, ["p_value", "difference_ci_low", "difference_ci_high"]].rename(
                columns={"difference_ci_low": "ci_low", "difference_ci_high": "ci_high"}
            ),
            settings.alpha,
        )
        table.loc[compared, "p_holm"] = decided["p_holm"].to_numpy()
        table.loc[compared, "verdict"] = decided["verdict"].to_numpy()
    return table
