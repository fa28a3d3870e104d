"""Seeded simulation of whole studies, to measure how often a test rejects.

Each simulated study has test patients with several patches each, two arms (A, B) and a few
classifier seeds per arm. Whether a model classifies a patch correctly depends on a margin

    margin = mu + effect * [arm A] - patient difficulty + arm-by-patient bias
             + seed shift + seed-by-patient noise + patch difficulty + patch noise

with the patient difficulty and patch difficulty shared by both arms (the same test patches),
an arm-by-patient bias (a model is better on some patients than on others: the reason patches
of one patient are not independent), a global shift per trained model and noise. The predicted
probability of the true class is sigmoid(margin), thresholded at 0.5. With effect = 0 the arms
are equivalent, so every rejection is a false positive.

The primary test of idc_synth.statistics (two-level bootstrap over patients and seeds) is
compared with the per-patch McNemar test per seed (Holm over seeds; a study rejects when any
seed does), the approach earlier versions used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from idc_synth.statistics import (
    Settings,
    holm,
    infer_difference,
    mcnemar_test,
    minimal_detectable_difference,
    patient_confusion,
    patient_resamples,
    seed_average,
    seed_resamples,
    threshold_metrics,
)

METHODS = {"two_level_bootstrap": "patient x seed bootstrap", "patch_mcnemar": "per-patch McNemar"}
TABLE_COLUMNS = [
    "method",
    "effect",
    "true_difference",
    "n_studies",
    "rejections",
    "rejection_rate",
    "mc_se",
    "mdd",
    "n_patients",
    "n_seeds",
    "patches_per_patient",
    "alpha",
]
METRIC = "balanced_accuracy"


@dataclass(frozen=True)
class Design:
    """One simulated study design (margins on the logit scale)."""

    n_patients: int = 20
    patches_per_patient: int = 30
    n_seeds: int = 3
    mu: float = 1.5
    patient_sd: float = 0.8
    arm_patient_sd: float = 0.5
    seed_sd: float = 0.1
    seed_patient_sd: float = 0.2
    patch_sd: float = 1.0
    noise_sd: float = 0.5


def simulate_study(rng: np.random.Generator, design: Design, effect: float) -> dict:
    """Labels, patient codes and per-arm (seeds, patches) probabilities of one study."""
    n, m, s = design.n_patients, design.patches_per_patient, design.n_seeds
    codes = np.repeat(np.arange(n), m)
    idc_share = rng.beta(2, 3, n)
    labels = (rng.random(n * m) < idc_share[codes]).astype(int)
    shared = -rng.normal(0, design.patient_sd, n)[codes] + rng.normal(0, design.patch_sd, n * m)
    probabilities = {}
    for arm, shift in (("a", effect), ("b", 0.0)):
        bias = rng.normal(0, design.arm_patient_sd, n)[codes]
        seed_shift = rng.normal(0, design.seed_sd, (s, 1))
        seed_patient = rng.normal(0, design.seed_patient_sd, (s, n))[:, codes]
        noise = rng.normal(0, design.noise_sd, (s, n * m))
        margin = design.mu + shift + shared + bias + seed_shift + seed_patient + noise
        true_class = 1 / (1 + np.exp(-margin))
        probabilities[arm] = np.where(labels == 1, true_class, 1 - true_class)
    return {"labels": labels, "codes": codes, **probabilities}


def primary_test(study: dict, settings: Settings, n_seeds: int) -> dict:
    """The primary analysis of idc_synth.statistics on one simulated study."""
    labels, codes = study["labels"], study["codes"]
    n = int(codes.max()) + 1
    patient_counts = patient_resamples(n, settings.bootstrap_samples, settings.bootstrap_seed)
    seed_counts = seed_resamples(n_seeds, settings.bootstrap_samples, settings.bootstrap_seed)
    per_seed = {
        arm: np.stack(
            [
                threshold_metrics(
                    *(patient_counts @ patient_confusion(labels, probs >= 0.5, codes, n)).T
                )[METRIC]
                for probs in study[arm]
            ]
        )
        for arm in ("a", "b")
    }
    replicates = seed_average(per_seed["a"] - per_seed["b"], seed_counts)
    return infer_difference(replicates, n, settings)


def patch_mcnemar_rejects(study: dict, alpha: float) -> bool:
    """Per seed McNemar on patches, Holm over seeds: does any seed reject?"""
    labels = study["labels"].astype(bool)
    p_values = [
        mcnemar_test((a >= 0.5) == labels, (b >= 0.5) == labels)["p_value"]
        for a, b in zip(study["a"], study["b"], strict=True)
    ]
    return bool(np.any(holm(p_values) < alpha))


def true_difference(rng: np.random.Generator, design: Design, effect: float) -> float:
    """The population difference in balanced accuracy a logit effect makes (one large study)."""
    big = replace(design, n_patients=4000, n_seeds=1, seed_sd=0.0)
    study = simulate_study(rng, big, effect)
    labels = study["labels"].astype(bool)

    def balanced(probs):
        correct = (probs[0] >= 0.5) == labels
        return 0.5 * (correct[labels].mean() + correct[~labels].mean())

    return float(balanced(study["a"]) - balanced(study["b"]))


def rejection_rates(
    design: Design,
    effects: Sequence[float],
    n_studies: int,
    settings: Settings,
    seed: int = 0,
    methods: Sequence[str] = tuple(METHODS),
) -> pd.DataFrame:
    """How often each method rejects 'no difference' at settings.alpha, per planted effect."""
    rows = []
    for index, effect in enumerate(effects):
        rng = np.random.default_rng([seed, index])
        rejections = dict.fromkeys(methods, 0)
        errors = []
        for _ in range(n_studies):
            study = simulate_study(rng, design, effect)
            if "two_level_bootstrap" in rejections:
                result = primary_test(study, settings, design.n_seeds)
                rejections["two_level_bootstrap"] += bool(result["p_value"] < settings.alpha)
                errors.append(result["se"])
            if "patch_mcnemar" in rejections:
                rejections["patch_mcnemar"] += patch_mcnemar_rejects(study, settings.alpha)
        difference = true_difference(np.random.default_rng([seed, index, 1]), design, effect)
        for method, count in rejections.items():
            rate = count / n_studies
            rows.append(
                {
                    "method": method,
                    "effect": effect,
                    "true_difference": difference,
                    "n_studies": n_studies,
                    "rejections": count,
                    "rejection_rate": rate,
                    "mc_se": math.sqrt(max(rate * (1 - rate), 1e-12) / n_studies),
                    "mdd": (
                        minimal_detectable_difference(float(np.mean(errors)), settings.alpha)
                        if method == "two_level_bootstrap"
                        else math.nan
                    ),
                    "n_patients": design.n_patients,
                    "n_seeds": design.n_seeds,
                    "patches_per_patient": design.patches_per_patient,
                    "alpha": settings.alpha,
                }
            )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def null_tolerance(alpha: float, n_studies: int, n_se: float = 3.0) -> float:
    """The Monte Carlo allowance over alpha: n_se binomial standard errors at rate alpha."""
    return n_se * math.sqrt(alpha * (1 - alpha) / n_studies)


def plot_rejection_rates(table: pd.DataFrame, path, dpi: int = 150):
    """Rejection rate against the true difference, one line per method, with the alpha line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(4.5, 3.2))
    for method, rows in table.groupby("method", sort=False):
        ax.errorbar(
            rows["true_difference"],
            rows["rejection_rate"],
            yerr=2 * rows["mc_se"],
            marker="o",
            capsize=3,
            label=METHODS.get(method, method),
        )
    alpha = float(table["alpha"].iloc[0])
    ax.axhline(alpha, color="grey", linestyle="--", linewidth=1, label=f"α = {alpha:g}")
    first = table.iloc[0]
    ax.set_xlabel("true difference in balanced accuracy (A − B)")
    ax.set_ylabel("share of studies rejecting")
    ax.set_title(
        f"{int(first['n_studies'])} simulated studies per point: {int(first['n_patients'])} "
        f"patients, {int(first['n_seeds'])} seeds",
        fontsize=8,
    )
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    figure.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return path


def power_table(
    patients: Sequence[int],
    seeds: Sequence[int],
    effects: Sequence[float],
    n_studies: int,
    settings: Settings,
    seed: int = 0,
) -> pd.DataFrame:
    """Power of the primary test over a grid of designs (for the README's sizing note)."""
    tables = [
        rejection_rates(
            Design(n_patients=n, n_seeds=s),
            effects,
            n_studies,
            settings,
            seed,
            ("two_level_bootstrap",),
        )
        for n in patients
        for s in seeds
    ]
    return pd.concat(tables, ignore_index=True)


if __name__ == "__main__":  # python -m idc_synth.simulation: the README's sizing table
    table = power_table(
        patients=(10, 20, 40, 80),
        seeds=(3, 5),
        effects=(0.0, 0.4, 0.8),
        n_studies=200,
        settings=Settings(bootstrap_samples=400),
    )
    table["difference"] = table["true_difference"].round(3)
    wide = table.pivot_table(
        index=["n_patients", "n_seeds"], columns="difference", values="rejection_rate"
    )
    wide["mdd"] = table.groupby(["n_patients", "n_seeds"])["mdd"].mean()
    print(wide.round(3).to_string())
