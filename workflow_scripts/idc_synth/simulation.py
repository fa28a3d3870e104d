"""Seeded simulation of whole studies: the false-positive rate and the power of the decisions.

A simulated study has test patients with unequal patch counts and IDC shares, a baseline and
generator arms, and a few classifier seeds per arm. Whether a model classifies a patch correctly
depends on its margin on the logit scale,

    margin = mu + effect [planted arm] - patient difficulty + arm x patient effect
             + model shift +- model threshold shift (by class) + seed x patient effect
             + patch difficulty + per-prediction noise,

with the patient and patch difficulties shared by every arm and seed (they predict the same
patches), arm x patient effects (a model is better on some patients: why patches of one patient
are not independent), heavy-tailed where a scenario says so, and a shift and a threshold shift per
trained model (seed variance). Patch difficulty takes `difficulty_bins` equally likely values,
so a study is drawn as binomial counts per patient, class and difficulty, not patch by patch.

Each study is analysed as idc_synth.statistics analyses a real one: the patch-pooled primary
metric per arm and seed, leave-one-patient-out pseudovalues (a leave-out that loses a class is
undefined, `statistics.class_lost`), the crossed seed x patient model of each comparison's own
two arms, Bonferroni over the family (`inference.adjust`, the workflow's rule). The family is
either each generator vs the reference arm (`Design.n_arms` numbered arms), or the default
config's seven arms with their five-comparison family (`DEFAULT_ARMS`, `arms.comparisons`, the
classic arm `stain` standing for the one chosen on val). With effect 0 every rejection is a false
positive; the family-wise rate is the share of studies with any rejection, and the `pair` reads
give the first comparison's own rate (the noisy arm vs the reference) at its decision level and,
`pair_unadjusted`, at alpha. Secondary decisions are simulated too: the difference in the spread
of per-patient scores, and a difference of differences (two conditions, as robustness and the
data-efficiency map use).

Hand-written: statsmodels simulates no such study; the decisions in it are the workflow's own
(`inference.adjust` is statsmodels' Bonferroni).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize, stats

from idc_synth.arms import comparisons
from idc_synth.design import ResamplePlan, StudyDesign
from idc_synth.inference import POWER, Crossed, Family, adjust, sd_pseudovalues
from idc_synth.statistics import class_lost, threshold_metrics

METRIC = "balanced_accuracy"
TABLE_COLUMNS = [
    "scenario",
    "read",
    "n_patients",
    "n_seeds",
    "family_size",
    "effect",
    "true_difference",
    "n_studies",
    "rejections",
    "rejection_rate",
    "mc_se",
    "alpha",
    "mean_se",
]
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(12)  # E over N(0, 1) noise
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


@dataclass(frozen=True)
class Design:
    """One simulated study design: sizes, and the variance sources on the logit scale."""

    n_patients: int = 9
    n_seeds: int = 3
    n_arms: int = 3  # the baseline and n_arms - 1 generators
    min_patches: int = 120  # patches per patient: log-uniform between these two
    max_patches: int = 120
    prevalence_a: float = 2.0  # each patient's IDC share ~ Beta(a, b)
    prevalence_b: float = 3.0
    mu: float = 1.5
    patient_sd: float = 0.8
    arm_patient_sd: float = 0.3
    arm_patient_tail_df: float = math.inf  # Student t arm x patient effects where finite
    seed_sd: float = 0.1
    threshold_sd: float = 0.1
    seed_patient_sd: float = 0.2
    patch_sd: float = 1.0
    noise_sd: float = 0.5
    difficulty_bins: int = 8
    noisy_arm_scale: float = 1.0  # the first generator's model and patient effects scaled
    arms: tuple[str, ...] = ()  # named arms and their family (DEFAULT_ARMS); () numbered

    @property
    def arm_names(self) -> list[str]:
        """The arms: the named ones, else "0" (the reference) .. str(n_arms - 1). The second is
        the one a difference is planted on and whose noise `noisy_arm_scale` scales."""
        return list(self.arms) or [str(arm) for arm in range(self.n_arms)]

    @property
    def family(self) -> list[tuple[str, str]]:
        """The decided comparisons (arm_a, arm_b): the named arms' primary family with `stain`
        as the classic arm chosen on val, else every arm vs the reference."""
        names = self.arm_names
        if self.arms:
            return comparisons(names, "stain" if "stain" in names else None)[0]
        return [(arm, names[0]) for arm in names[1:]]


# The default config's arms, in its order: a family of five comparisons.
DEFAULT_ARMS = ("baseline", "dcgan", "diffusion", "stain", "rebalance", "mixup", "diffusion+stain")


# The variance structures the calibration runs at. "demo": equal patch counts and the small model
# variance of the demo's classifiers (its standard error at 9 patients and 3 seeds is the demo's,
# about 0.009 in balanced accuracy). "full_scale": patch counts over two decades, most patients
# nearly all one class, heavy-tailed arm x patient effects. "seed_dominant": the trained model
# (seed, threshold) carries most of the variance.
SCENARIOS = {
    "demo": Design(
        mu=3.5,
        patch_sd=2.0,
        arm_patient_sd=0.15,
        seed_patient_sd=0.1,
        seed_sd=0.05,
        threshold_sd=0.05,
        noise_sd=0.3,
    ),
    "full_scale": Design(
        min_patches=10,
        max_patches=1000,
        prevalence_a=0.3,
        prevalence_b=0.3,
        arm_patient_sd=0.4,
        arm_patient_tail_df=3.0,
    ),
    "seed_dominant": Design(
        seed_sd=0.35, threshold_sd=0.3, seed_patient_sd=0.1, arm_patient_sd=0.1
    ),
}
# The variance structures a study's own calibration simulation runs (rule calibration_simulation,
# at the study's family); the scenarios below are the benchmark's (benchmarks/statistics_design.py).
VARIANCE_SCENARIOS = tuple(SCENARIOS)
# The default seven-arm family, at the demo's variance and with one arm (dcgan) noisier than the
# others: its model shift, threshold shift and arm x patient effects scaled 1.5, 2, 3 times, on
# the full-scale variance structure.
SCENARIOS["demo_7arm"] = replace(SCENARIOS["demo"], arms=DEFAULT_ARMS)
for _scale in (1.5, 2.0, 3.0):
    SCENARIOS[f"noisy_dcgan_{_scale:g}x"] = replace(
        SCENARIOS["full_scale"], arms=DEFAULT_ARMS, noisy_arm_scale=_scale
    )
# The first comparison alone (the noisy arm vs the reference), null studies only, as `reads`.
PAIR_READS = ("pair", "pair_unadjusted")


def _correct_probability(margin: np.ndarray, noise_sd: float) -> np.ndarray:
    """E[sigmoid(margin + noise)] with noise ~ N(0, noise_sd^2), by Gauss-Hermite quadrature."""
    values = margin[..., None] + noise_sd * _NODES
    return (1 / (1 + np.exp(-values))) @ _WEIGHTS


@dataclass(frozen=True)
class Study:
    """(arms, seeds, patients, 4) confusion counts tp, fn, fp, tn of one simulated study, per
    condition (a second condition shares patients, patches and models but not the noise), and
    its design (patients, arms, seeds, resample plan), as a real study has."""

    confusion: np.ndarray  # (conditions, arms, seeds, patients, 4)
    design: StudyDesign


@lru_cache(maxsize=64)
def study_design(design: Design) -> StudyDesign:
    """The patients, arms, seeds and resample plan of a simulated study of `design`."""
    return StudyDesign.synthetic(design.n_patients, design.arm_names, design.n_seeds)


def simulate_study(
    rng: np.random.Generator,
    design: Design,
    effect: float,
    conditions: int = 1,
    expected: bool = False,
) -> Study:
    """One study; `effect` is planted on the first generator (arm 1) on the logit scale. With
    `expected`, the counts of correct patches are their expectations given the margins (for
    population values), not draws."""
    layout = study_design(design)
    n, s, a = layout.n_patients, len(layout.seeds), len(layout.arms)
    patches = np.exp(
        rng.uniform(math.log(design.min_patches), math.log(design.max_patches) + 1e-12, n)
    ).astype(int)
    share = rng.beta(design.prevalence_a, design.prevalence_b, n)
    positives = rng.binomial(patches, share)
    counts = np.stack([patches - positives, positives], axis=1)  # (n, class)
    k = design.difficulty_bins
    levels = stats.norm.ppf((np.arange(k) + 0.5) / k) * design.patch_sd
    bins = rng.multinomial(counts, np.full(k, 1 / k))  # (n, class, bins)
    difficulty = rng.normal(0, design.patient_sd, n)
    if math.isfinite(design.arm_patient_tail_df):
        tail = design.arm_patient_tail_df
        arm_patient = rng.standard_t(tail, (a, n)) * math.sqrt((tail - 2) / tail)
    else:
        arm_patient = rng.standard_normal((a, n))
    scale = np.ones((a, 1))
    scale[1] = design.noisy_arm_scale
    arm_patient *= design.arm_patient_sd * scale
    shift = rng.normal(0, design.seed_sd, (a, s)) * scale
    threshold = rng.normal(0, design.threshold_sd, (a, s)) * scale
    planted = np.zeros(a)
    planted[1] = effect
    sign = np.array([-1.0, 1.0])  # a threshold shift helps one class and hurts the other
    margin = (
        design.mu
        + planted[:, None, None, None, None]
        - difficulty[None, None, :, None, None]
        + arm_patient[:, None, :, None, None]
        + shift[:, :, None, None, None]
        + threshold[:, :, None, None, None] * sign[None, None, None, :, None]
        + levels[None, None, None, None, :]
    )  # (arms, seeds, patients, class, bins)
    confusion = []
    for _ in range(conditions):
        seed_patient = rng.normal(0, design.seed_patient_sd, (a, s, n))
        p = _correct_probability(margin + seed_patient[..., None, None], design.noise_sd)
        counts_by_bin = np.broadcast_to(bins, p.shape)
        correct = (counts_by_bin * p if expected else rng.binomial(counts_by_bin, p)).sum(-1)
        tn, tp = correct[..., 0], correct[..., 1]
        fp, fn = counts[:, 0] - tn, counts[:, 1] - tp
        confusion.append(np.stack([tp, fn, fp, tn], axis=-1))
    return Study(np.stack(confusion), layout)


def _jackknife(confusion: np.ndarray, plan: ResamplePlan) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, patients, 4) counts -> pseudovalues (seeds, patients) of the pooled metric over
    the study's resample plan, and the per-patient metric (seeds, patients) for the spread."""
    replicates = plan.totals(confusion)  # (seeds, 1 + patients, 4)
    tp, fn, fp, tn = np.moveaxis(replicates, -1, 0)
    values = threshold_metrics(tp, fn, fp, tn)[METRIC]
    values = np.where(class_lost(tp + fn, fp + tn), np.nan, values)
    per_patient = threshold_metrics(*np.moveaxis(confusion, -1, 0))[METRIC]
    single = (confusion[..., 0] + confusion[..., 1] == 0) | (confusion[..., 2:].sum(-1) == 0)
    return plan.pseudovalues(values), np.where(single, np.nan, per_patient)


def analyse(study: Study, design: Design, alpha: float) -> tuple[dict[str, list[bool]], Crossed]:
    """Per read, whether each comparison of the design's family rejects (Bonferroni over the
    family, `inference.adjust`); and the first comparison's primary analysis."""
    plan, family = study.design.plan, design.family
    conditions = [[_jackknife(arm, plan) for arm in confusion] for confusion in study.confusion]

    def compared(tables) -> list[Crossed]:
        arms = Family(dict(zip(study.design.arms, tables, strict=True)))
        return [arms.difference(a, b) for a, b in family]

    scores = [pseudo for pseudo, _ in conditions[0]]
    reads = {
        "primary": compared(scores),
        "spread": compared([sd_pseudovalues(values) for _, values in conditions[0]]),
    }
    if len(conditions) > 1:
        shifted = [pseudo for pseudo, _ in conditions[1]]
        reads["contrast"] = compared([b - a for a, b in zip(scores, shifted, strict=True)])
    p_values = {read: [result.p_value() for result in results] for read, results in reads.items()}
    rejected = {read: list(adjust(p, alpha)[0]) for read, p in p_values.items()}
    rejected["pair"] = rejected["primary"][:1]
    rejected["pair_unadjusted"] = [bool(p_values["primary"][0] < alpha)]
    return rejected, reads["primary"][0]


def true_difference(design: Design, effect: float, seed: int = 0) -> float:
    """The population difference in the pooled metric a logit effect makes (one large study
    with one seed per arm and no model noise)."""
    big = replace(design, n_patients=4_000, n_seeds=1, seed_sd=0.0, threshold_sd=0.0, arms=())
    study = simulate_study(np.random.default_rng(seed), big, effect, expected=True)
    totals = study.confusion[0].sum(axis=2)
    values = threshold_metrics(*np.moveaxis(totals, -1, 0))[METRIC]  # (arms, 1)
    return float(values[1, 0] - values[0, 0])


@lru_cache(maxsize=64)
def logit_effect(design: Design, difference: float) -> float:
    """The logit effect whose true difference in the metric is `difference` (the population
    does not depend on the design's patient or seed counts)."""
    if difference == 0:
        return 0.0
    population = replace(design, n_patients=1, n_seeds=1, arms=())

    def excess(effect: float) -> float:
        return true_difference(population, effect) - difference

    high = 1.0
    while excess(high) < 0:
        if high > 50:
            raise ValueError(f"no logit effect makes a difference of {difference} in {design}")
        high *= 2
    return float(optimize.brentq(excess, 0.0, high, xtol=1e-3))


def rejection_rates(
    design: Design,
    differences: Sequence[float],
    n_studies: int,
    alpha: float,
    seed: int = 0,
    scenario: str = "",
    reads: Iterable[str] = ("primary",),
) -> pd.DataFrame:
    """How often each read rejects at `alpha`, per planted true difference in the metric. With
    none the rate is family-wise (any comparison of the family) for every read, and the first
    comparison's own for the `PAIR_READS`; with one it is the primary read's power for the
    first comparison (the planted arm vs the reference)."""
    rows = []
    for index, difference in enumerate(differences):
        # a planted level difference says nothing of the spread or contrast reads' power
        measured = list(reads) if difference == 0 else ["primary"]
        conditions = 2 if "contrast" in measured else 1
        effect = logit_effect(design, difference)
        rng = np.random.default_rng([seed, index, design.n_patients, design.n_seeds])
        hits = dict.fromkeys(measured, 0)
        errors = []
        for _ in range(n_studies):
            rejected, primary = analyse(
                simulate_study(rng, design, effect, conditions), design, alpha
            )
            errors.append(primary.se)
            for read in measured:
                hits[read] += any(rejected[read]) if difference == 0 else rejected[read][0]
        for read, count in hits.items():
            rate = count / n_studies
            rows.append(
                {
                    "scenario": scenario,
                    "read": read,
                    "n_patients": design.n_patients,
                    "n_seeds": design.n_seeds,
                    "family_size": len(design.family),
                    "effect": effect,
                    "true_difference": difference,
                    "n_studies": n_studies,
                    "rejections": count,
                    "rejection_rate": rate,
                    "mc_se": math.sqrt(max(rate * (1 - rate), alpha * (1 - alpha)) / n_studies),
                    "alpha": alpha,
                    "mean_se": float(np.nanmean(errors)),
                }
            )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def design_grid(
    patients: Sequence[int],
    seeds: Sequence[int],
    differences: Sequence[float],
    n_studies: int,
    alpha: float,
    family_size: int = 2,
    scenarios: Sequence[str] = tuple(SCENARIOS),
    reads: Iterable[str] = ("primary",),
    seed: int = 0,
) -> pd.DataFrame:
    """Rejection rates over every (scenario, patients, seeds) design; the family: `family_size`
    arms each compared with one reference arm."""
    tables = [
        rejection_rates(
            replace(SCENARIOS[name], n_patients=n, n_seeds=m, n_arms=family_size + 1),
            differences,
            n_studies,
            alpha,
            seed,
            name,
            reads,
        )
        for name in scenarios
        for n in patients
        for m in seeds
    ]
    return pd.concat(tables, ignore_index=True)


def simulated_mdd(table: pd.DataFrame, power: float = POWER) -> pd.Series:
    """Per (scenario, read, patients, seeds): the smallest planted difference detected with at
    least `power`, interpolated between the planted differences; NaN when none reaches it."""

    def first_crossing(rows: pd.DataFrame) -> float:
        rows = rows.sort_values("true_difference")
        x, y = rows["true_difference"].to_numpy(float), rows["rejection_rate"].to_numpy(float)
        above = np.flatnonzero((y >= power) & (x > 0))
        if not above.size:
            return math.nan
        i = above[0]
        if i == 0 or x[i - 1] == 0 or y[i] == y[i - 1]:
            return float(x[i])
        return float(x[i - 1] + (power - y[i - 1]) * (x[i] - x[i - 1]) / (y[i] - y[i - 1]))

    keys = ["scenario", "read", "n_patients", "n_seeds"]
    return table.groupby(keys, sort=False)[["true_difference", "rejection_rate"]].apply(
        first_crossing
    )


def null_tolerance(alpha: float, n_studies: int, n_se: float = 2.0) -> float:
    """The Monte Carlo allowance over alpha: n_se binomial standard errors at rate alpha."""
    return n_se * math.sqrt(alpha * (1 - alpha) / n_studies)
