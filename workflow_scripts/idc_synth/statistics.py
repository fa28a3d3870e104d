"""Comparisons of the classifier arms with the test patient as the unit of inference.

Every arm and seed predicts the same test patches. Patches of one patient share stain, scanner
and tissue, so they are not independent; the classifier seeds (and the synthetic draws nested in
them) are replicates of training. The inference follows that structure:

* **Two-level bootstrap** (Field & Welsh 2007; patients and seeds are crossed, so both are
  resampled independently, as in Owen 2007's pigeonhole bootstrap): each resample draws the test
  patients with replacement (all their patches together) and, independently, the seeds with
  replacement; a metric is computed per seed on the resampled patients and averaged over the
  resampled seeds. The same resamples serve every arm, so differences stay paired by patient and
  seed. The percentile interval of the seed-averaged difference is its confidence interval.
* **p-value** by inverting that interval: twice the smaller share of resamples on either side of
  zero, so a p-value below 1 - confidence_level goes with an interval excluding zero.
* **One primary endpoint** (``Settings.primary_metric``): Holm's correction over its comparisons
  is the only family that decides anything. Every other metric is secondary: an effect and an
  interval, no p-value, no decision.
* **Too few patients**: with n patients a two-sided patient-level test cannot go below 2 / 2^n
  (the most extreme of the 2^n sign patterns of the patients' contributions, Good 2005), so below
  ``min_patients(alpha)`` test patients the test and every difference interval are undefined and
  say so; an interval of zero width is undefined too, never a number.
* **Clustered McNemar** (Durkalski et al. 2003): per seed, descriptive only; the per-patch
  McNemar of earlier versions treated patches as independent and over-rejects (see
  idc_synth.simulation, which proves both the calibration and that failure).
* **Variance components** of the primary metric per arm: between seeds (with the synthetic draw
  nested in or confounded with them) and between patients (the patient-only bootstrap).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from idc_synth.metrics import BASELINE, SCORE_KEYS, arm_sort_key, classification_metrics

TEST_METRICS = SCORE_KEYS  # arms are compared on every score, not on the confusion counts
PRIMARY_METRICS = ("balanced_accuracy", "roc_auc")
POWER = 0.8  # the minimal detectable difference is quoted at this power
TESTS_COLUMNS = [
    "comparison",
    "arm_a",
    "arm_b",
    "metric",
    "role",
    "test",
    "seed",
    "statistic",
    "p_value",
    "p_holm",
    "effect_size",
    "effect_name",
    "mean_difference",
    "ci_low",
    "ci_high",
    "n",
    "note",
]
PRIMARY_COLUMNS = [
    "comparison",
    "arm_a",
    "arm_b",
    "metric",
    "mean_a",
    "mean_b",
    "difference",
    "ci_low",
    "ci_high",
    "confidence_level",
    "p_value",
    "p_holm",
    "alpha",
    "significant",
    "ci_excludes_zero",
    "verdict",
    "se",
    "mdd",
    "n_patients",
    "n_seeds",
    "min_patients",
    "note",
]
SUMMARY_COLUMNS = [
    "arm",
    "metric",
    "mean",
    "std",
    "n_seeds",
    "ci_low",
    "ci_high",
    "confidence_level",
    "n_patients",
]
VARIANCE_COLUMNS = ["arm", "metric", "component", "variance", "variance_of_mean", "n", "note"]
PREDICTION_COLUMNS = ["arm", "seed", "row", "patient", "label", "probability", "threshold"]
NO_DRAW = -1  # synthetic_draw of an arm without synthetic data


@dataclass(frozen=True)
class Settings:
    """The `statistics:` config section that the comparison uses."""

    bootstrap_samples: int = 1000
    bootstrap_seed: int = 0
    confidence_level: float = 0.95
    alpha: float = 0.05
    primary_metric: str = "balanced_accuracy"

    def __post_init__(self):
        if self.primary_metric not in PRIMARY_METRICS:
            raise ValueError(f"primary_metric must be one of {PRIMARY_METRICS}")

    @classmethod
    def from_params(cls, params) -> Settings:
        """The fields a rule passes as params (by name); the rest keep their defaults, so a
        rule receives only the settings it depends on."""
        return cls(
            **{f.name: getattr(params, f.name) for f in fields(cls) if hasattr(params, f.name)}
        )


@dataclass(frozen=True)
class Result:
    """The tables compare_arms writes."""

    tests: pd.DataFrame
    summary_ci: pd.DataFrame
    primary: pd.DataFrame
    variance: pd.DataFrame


def comparisons(arms: Iterable[str]) -> list[tuple[str, str]]:
    """(arm_a, arm_b), differences arm_a - arm_b: every generator arm vs the baseline, then every
    pair of generator arms, in the configured order; only arms that are present."""
    arms = list(dict.fromkeys(arms))
    generators = [arm for arm in arms if arm != BASELINE]
    pairs = [(arm, BASELINE) for arm in generators if BASELINE in arms]
    pairs += [(b, a) for i, a in enumerate(generators) for b in generators[i + 1 :]]
    return pairs


def comparison_name(arm_a: str, arm_b: str) -> str:
    return f"{arm_a} vs {arm_b}"


def min_patients(alpha: float) -> int:
    """The fewest patients with which a two-sided patient-level test can reach p < alpha: its
    smallest attainable p is 2 / 2^n."""
    return max(2, math.floor(math.log2(2 / alpha)) + 1)


# ---------------------------------------------------------------------------------------------
# McNemar: per patch (the flawed classic, kept for the simulation) and clustered by patient


def mcnemar_test(
    correct_a: np.ndarray, correct_b: np.ndarray, exact_below: int = 25
) -> dict[str, float | int | str | bool]:
    """McNemar's test treating patches as independent (b = only A right, c = only B right);
    exact binomial below `exact_below` discordant patches. Invalid for clustered patches: only
    idc_synth.simulation uses it, to show how it fails."""
    correct_a = np.asarray(correct_a, dtype=bool)
    correct_b = np.asarray(correct_b, dtype=bool)
    if correct_a.shape != correct_b.shape:
        raise ValueError(f"paired arrays differ in shape: {correct_a.shape} {correct_b.shape}")
    b, c = int(np.sum(correct_a & ~correct_b)), int(np.sum(~correct_a & correct_b))
    if b + c == 0:
        return {"statistic": 0.0, "p_value": 1.0, "b": 0, "c": 0}
    table = np.array([[0, b], [c, 0]])
    result = mcnemar(table, exact=b + c < exact_below, correction=True)
    return {"statistic": float(result.statistic), "p_value": float(result.pvalue), "b": b, "c": c}


def clustered_mcnemar(
    correct_a: np.ndarray, correct_b: np.ndarray, patient_codes: np.ndarray
) -> dict[str, float | int]:
    """Durkalski et al. (2003) McNemar for clustered data: X = (sum_k (b_k - c_k))^2 /
    sum_k (b_k - c_k)^2 over patients k, approximately chi-square with 1 df (for many
    patients). p = 1 when no patient has a discordant excess."""
    correct_a = np.asarray(correct_a, dtype=bool)
    correct_b = np.asarray(correct_b, dtype=bool)
    codes = np.asarray(patient_codes)
    n = int(codes.max()) + 1 if codes.size else 0
    excess = np.bincount(codes, weights=correct_a & ~correct_b, minlength=n) - np.bincount(
        codes, weights=~correct_a & correct_b, minlength=n
    )
    denominator = float(np.sum(excess**2))
    if denominator == 0:
        return {"statistic": 0.0, "p_value": 1.0, "excess": 0.0}
    statistic = float(excess.sum() ** 2 / denominator)
    return {
        "statistic": statistic,
        "p_value": float(stats.chi2.sf(statistic, 1)),
        "excess": float(excess.sum()),
    }


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (step-down: the k-th smallest times m - k + 1, made monotone,
    capped at 1); NaN entries stay NaN and are not counted as hypotheses."""
    p_values = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p_values, np.nan)
    defined = np.flatnonzero(~np.isnan(p_values))
    order = defined[np.argsort(p_values[defined], kind="stable")]
    factors = len(order) - np.arange(len(order))
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(p_values[order] * factors))
    return adjusted


# ---------------------------------------------------------------------------------------------
# Bootstrap by patient and seed


def cluster_resamples(n_units: int, n_samples: int, seed: int | Sequence[int]) -> np.ndarray:
    """(n_samples, n_units) counts: how often each unit is drawn in each resample, when
    n_units units are drawn with replacement."""
    if n_units < 1 or n_samples < 1:
        raise ValueError(f"need units and samples, got {n_units} and {n_samples}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_units, size=(n_samples, n_units))
    counts = np.zeros((n_samples, n_units), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(n_samples), n_units), draws.ravel()), 1)
    return counts


def patient_resamples(n_patients: int, n_samples: int, seed: int) -> np.ndarray:
    return cluster_resamples(n_patients, n_samples, seed)


def seed_resamples(n_seeds: int, n_samples: int, seed: int) -> np.ndarray:
    """The seed level of the two-level bootstrap: its own stream of the bootstrap seed."""
    return cluster_resamples(n_seeds, n_samples, [seed, 1])


def resample_indices(patient_codes: np.ndarray, patient_counts: np.ndarray) -> np.ndarray:
    """The patch rows of one resample: every patch of a drawn patient, once per draw."""
    patient_codes = np.asarray(patient_codes)
    rows = [
        np.tile(np.flatnonzero(patient_codes == patient), count)
        for patient, count in enumerate(patient_counts)
        if count
    ]
    return np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)


def iter_patient_bootstrap(patients: Sequence, n_samples: int, seed: int) -> Iterator[np.ndarray]:
    """Row indices of each patient-level bootstrap resample (for inspection and tests; the
    statistics use the equivalent weights, which is much faster)."""
    codes, uniques = pd.factorize(np.asarray(patients))
    for counts in patient_resamples(len(uniques), n_samples, seed):
        yield resample_indices(codes, counts)


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), empty
        )


def threshold_metrics(
    tp: np.ndarray, fn: np.ndarray, fp: np.ndarray, tn: np.ndarray
) -> dict[str, np.ndarray]:
    """Accuracy, balanced accuracy, precision, recall and F1 from (weighted) confusion counts,
    with the conventions of `classification_metrics` where a ratio is empty."""
    positives, negatives = tp + fn, tn + fp
    recall = _safe_ratio(tp, positives, 0.0)
    specificity = _safe_ratio(tn, negatives, np.nan)
    class_recalls = np.stack([np.where(positives > 0, recall, np.nan), specificity])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        balanced = np.nanmean(class_recalls, axis=0)
    return {
        "accuracy": _safe_ratio(tp + tn, positives + negatives, np.nan),
        "balanced_accuracy": balanced,
        "precision": _safe_ratio(tp, tp + fp, 0.0),
        "recall": recall,
        "f1": _safe_ratio(2 * tp, 2 * tp + fp + fn, 0.0),
    }


def patient_confusion(
    labels: np.ndarray, predicted: np.ndarray, patient_codes: np.ndarray, n_patients: int
) -> np.ndarray:
    """(n_patients, 4) confusion counts tp, fn, fp, tn per patient: with them a threshold
    metric of any patient resample is `threshold_metrics(*(counts @ confusion).T)`."""
    labels = np.asarray(labels).astype(bool)
    predicted = np.asarray(predicted).astype(bool)
    cells = (labels & predicted, labels & ~predicted, ~labels & predicted, ~labels & ~predicted)
    return np.stack(
        [np.bincount(patient_codes, weights=cell, minlength=n_patients) for cell in cells], 1
    )


def weighted_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    threshold: float,
    weights: np.ndarray,
    metrics: Sequence[str] = TEST_METRICS,
) -> dict[str, np.ndarray]:
    """The `metrics` of `classification_metrics` for many weightings at once.

    `weights` is (B, N): with integer weights each row equals the metrics of the patches
    repeated that many times (a bootstrap resample), computed without building it.
    """
    labels = np.asarray(labels).astype(bool)
    probabilities = np.asarray(probabilities, dtype=float)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    predicted = probabilities >= threshold
    confusion = np.stack(
        [labels & predicted, labels & ~predicted, ~labels & predicted, ~labels & ~predicted], 1
    )
    tp, fn, fp, tn = (weights @ confusion).T
    positives, negatives = tp + fn, tn + fp
    result = threshold_metrics(tp, fn, fp, tn)
    if {"roc_auc", "pr_auc"} & set(metrics):
        # Ranking metrics over groups of tied scores, in ascending order of score.
        order = np.argsort(probabilities, kind="stable")
        sorted_scores = probabilities[order]
        starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
        w_sorted = weights[:, order]
        pos_group = np.add.reduceat(w_sorted * labels[order], starts, axis=1)
        neg_group = np.add.reduceat(w_sorted * ~labels[order], starts, axis=1)
        negatives_below = np.cumsum(neg_group, axis=1) - neg_group
        both = (positives > 0) & (negatives > 0)
        auc_sum = np.sum(pos_group * (negatives_below + 0.5 * neg_group), axis=1)
        result["roc_auc"] = np.where(
            both, auc_sum / np.where(both, positives * negatives, 1), np.nan
        )
        # Average precision: thresholds from the highest score down.
        tps = np.cumsum(pos_group[:, ::-1], axis=1)
        fps = np.cumsum(neg_group[:, ::-1], axis=1)
        precision_at = _safe_ratio(tps, tps + fps, 0.0)
        average_precision = np.sum(pos_group[:, ::-1] * precision_at, axis=1)
        result["pr_auc"] = np.where(both, average_precision / np.where(both, positives, 1), np.nan)
    return {metric: result[metric] for metric in metrics}


def bootstrap_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    threshold: float,
    patient_codes: np.ndarray,
    patient_counts: np.ndarray,
    metrics: Sequence[str] = TEST_METRICS,
    chunk_cells: int = 4_000_000,
) -> pd.DataFrame:
    """(B rows) x metrics for the resamples given as patient counts (B, n_patients)."""
    n_patches = len(labels)
    chunk = max(1, chunk_cells // max(1, n_patches))
    parts = []
    for start in range(0, len(patient_counts), chunk):
        weights = patient_counts[start : start + chunk][:, patient_codes]
        parts.append(
            pd.DataFrame(weighted_metrics(labels, probabilities, threshold, weights, metrics))
        )
    return pd.concat(parts, ignore_index=True)[list(metrics)]


def seed_average(per_seed: np.ndarray, seed_counts: np.ndarray | None = None) -> np.ndarray:
    """(S, B) per-seed bootstrap values -> (B,) their mean over seeds, each seed weighted by how
    often the resample drew it (all once when `seed_counts` is None); NaN values are skipped."""
    per_seed = np.atleast_2d(np.asarray(per_seed, dtype=float))
    weights = np.ones_like(per_seed) if seed_counts is None else np.asarray(seed_counts, float).T
    valid = ~np.isnan(per_seed)
    total = np.sum(np.where(valid, weights, 0.0), axis=0)
    summed = np.sum(np.where(valid, per_seed * weights, 0.0), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, summed / np.where(total > 0, total, 1), np.nan)


def expanded_tail(tail: float, n_units: int) -> float:
    """Hesterberg's (2015) expanded percentile: the bootstrap tail probability that makes the
    percentile interval of a mean of n units as wide as the t interval with the unbiased
    variance, undoing the bootstrap's narrowness in small samples."""
    return float(
        stats.norm.cdf(math.sqrt(n_units / (n_units - 1)) * stats.t.ppf(tail, n_units - 1))
    )


def percentile_interval(
    samples: np.ndarray, confidence_level: float, n_units: int | None = None
) -> tuple[float, float, str]:
    """(low, high, reason): the percentile interval (expanded for `n_units` resampled units),
    or NaNs and why it is undefined (no defined resample, or zero width: every resample gives
    the same value)."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return math.nan, math.nan, "no resample defines the metric"
    tail = (1 - confidence_level) / 2
    if n_units is not None:
        tail = expanded_tail(tail, n_units)
    low, high = (float(value) for value in np.quantile(samples, [tail, 1 - tail]))
    if low == high:
        return math.nan, math.nan, "zero width: every resample gives the same value"
    return low, high, ""


def bootstrap_p_value(samples: np.ndarray, n_units: int | None = None) -> float:
    """Two-sided p-value of 'no difference' by inverting the (expanded) percentile interval:
    the level at which it just reaches zero. The share of resamples beyond zero counts the
    observed value as one resample, as a permutation p-value does (so it is never 0)."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return math.nan
    share = (min(np.sum(samples <= 0), np.sum(samples >= 0)) + 1) / (samples.size + 1)
    if n_units is None:
        return float(min(1.0, 2 * share))
    # Invert expanded_tail: the tail t-probability whose expanded tail is this share.
    t = stats.norm.ppf(min(share, 0.5)) * math.sqrt((n_units - 1) / n_units)
    return float(min(1.0, 2 * stats.t.cdf(t, n_units - 1)))


def minimal_detectable_difference(se: float, alpha: float, power: float = POWER) -> float:
    """(z_{1-alpha/2} + z_power) x SE: the true difference a two-sided test at alpha detects
    with the given power when the estimate's standard error is SE."""
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


# ---------------------------------------------------------------------------------------------
# The whole comparison


def check_predictions(predictions: pd.DataFrame) -> dict[tuple[str, int], pd.DataFrame]:
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


def infer_difference(
    replicates: np.ndarray,
    n_patients: int,
    settings: Settings,
) -> dict[str, float | str]:
    """Interval, p-value, SE and minimal detectable difference of one paired difference from
    its two-level bootstrap replicates; undefined (NaN and a reason) with too few patients."""
    needed = min_patients(min(settings.alpha, 1 - settings.confidence_level))
    se = float(np.nanstd(replicates, ddof=1)) if np.sum(~np.isnan(replicates)) > 1 else math.nan
    result = {"ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan, "se": se}
    if n_patients < needed:
        result["note"] = f"undefined: {n_patients} test patient(s), fewer than the {needed} needed"
        return result
    low, high, reason = percentile_interval(replicates, settings.confidence_level, n_patients)
    result.update(ci_low=low, ci_high=high, p_value=bootstrap_p_value(replicates, n_patients))
    result["note"] = f"interval undefined: {reason}" if reason else ""
    if reason:
        result["p_value"] = math.nan
    return result


def compare_arms(predictions: pd.DataFrame, settings: Settings = Settings()) -> Result:
    """The tests, per-arm interval, primary and variance tables (see the module docstring)."""
    groups = check_predictions(predictions)
    reference = next(iter(groups.values()))
    labels = reference["label"].to_numpy()
    patient_codes, patients = pd.factorize(reference["patient"].to_numpy())
    n_patients = len(patients)
    arms = list(dict.fromkeys(arm for arm, _ in sorted(groups, key=lambda key: _arm_order(key))))
    seeds = sorted({seed for _, seed in groups})
    incomplete = [(arm, seed) for arm in arms for seed in seeds if (arm, seed) not in groups]
    if incomplete:
        raise ValueError(f"every arm needs every seed; missing {incomplete}")
    n_samples = settings.bootstrap_samples
    patient_counts = patient_resamples(n_patients, n_samples, settings.bootstrap_seed)
    seed_counts = seed_resamples(len(seeds), n_samples, settings.bootstrap_seed)
    level = settings.confidence_level

    point: dict[str, np.ndarray] = {}  # arm -> (S, metrics)
    boot: dict[str, np.ndarray] = {}  # arm -> (metrics, S, B)
    for arm in arms:
        per_seed_point, per_seed_boot = [], []
        for seed in seeds:
            group = groups[(arm, seed)]
            threshold = float(group["threshold"].iloc[0])
            probabilities = group["probability"].to_numpy()
            values = classification_metrics(labels, probabilities, threshold)
            per_seed_point.append([values[metric] for metric in TEST_METRICS])
            resampled = bootstrap_metrics(
                labels, probabilities, threshold, patient_codes, patient_counts
            )
            per_seed_boot.append(resampled.to_numpy().T)
        point[arm] = np.array(per_seed_point, dtype=float)
        boot[arm] = np.stack(per_seed_boot, axis=1)

    summary_rows = []
    for arm in arms:
        for index, metric in enumerate(TEST_METRICS):
            values = point[arm][:, index]
            replicates = seed_average(boot[arm][index], seed_counts)
            low, high, _ = (
                percentile_interval(replicates, level, n_patients)
                if n_patients >= min_patients(1 - level)
                else (math.nan, math.nan, "")
            )
            summary_rows.append(
                {
                    "arm": arm,
                    "metric": metric,
                    "mean": _nanmean(values),
                    "std": float(np.nanstd(values, ddof=1)) if len(values) > 1 else math.nan,
                    "n_seeds": len(seeds),
                    "ci_low": low,
                    "ci_high": high,
                    "confidence_level": level,
                    "n_patients": n_patients,
                }
            )

    rows, primary_rows = [], []
    primary_index = TEST_METRICS.index(settings.primary_metric)
    for arm_a, arm_b in comparisons(arms):
        base = {"comparison": comparison_name(arm_a, arm_b), "arm_a": arm_a, "arm_b": arm_b}
        for index, metric in enumerate(TEST_METRICS):
            primary = index == primary_index
            replicates = seed_average(boot[arm_a][index] - boot[arm_b][index], seed_counts)
            difference = _nanmean(point[arm_a][:, index] - point[arm_b][:, index])
            inferred = infer_difference(replicates, n_patients, settings)
            rows.append(
                {
                    **base,
                    "metric": metric,
                    "role": "primary" if primary else "secondary",
                    "test": "two_level_bootstrap",
                    "seed": "all",
                    "statistic": math.nan,
                    "p_value": inferred["p_value"] if primary else math.nan,
                    "p_holm": math.nan,
                    "effect_size": math.nan,
                    "effect_name": "",
                    "mean_difference": difference,
                    "ci_low": inferred["ci_low"],
                    "ci_high": inferred["ci_high"],
                    "n": n_patients,
                    "note": inferred["note"],
                }
            )
            if primary:
                mdd = (
                    minimal_detectable_difference(inferred["se"], settings.alpha)
                    if n_patients >= min_patients(settings.alpha)
                    else math.nan
                )
                primary_rows.append(
                    {
                        **base,
                        "metric": metric,
                        "mean_a": _nanmean(point[arm_a][:, index]),
                        "mean_b": _nanmean(point[arm_b][:, index]),
                        "difference": difference,
                        "ci_low": inferred["ci_low"],
                        "ci_high": inferred["ci_high"],
                        "confidence_level": level,
                        "p_value": inferred["p_value"],
                        "alpha": settings.alpha,
                        "se": inferred["se"],
                        "mdd": mdd,
                        "n_patients": n_patients,
                        "n_seeds": len(seeds),
                        "min_patients": min_patients(settings.alpha),
                        "note": inferred["note"],
                    }
                )
        for position, seed in enumerate(seeds):
            result = clustered_mcnemar(
                _correct(groups[(arm_a, seed)], labels),
                _correct(groups[(arm_b, seed)], labels),
                patient_codes,
            )
            rows.append(
                {
                    **base,
                    "metric": "accuracy",
                    "role": "descriptive",
                    "test": "clustered_mcnemar",
                    "seed": str(seed),
                    "statistic": result["statistic"],
                    "p_value": result["p_value"],
                    "p_holm": math.nan,
                    "effect_size": result["excess"] / len(labels),
                    "effect_name": "discordance_excess",
                    "mean_difference": point[arm_a][position, 0] - point[arm_b][position, 0],
                    "ci_low": math.nan,
                    "ci_high": math.nan,
                    "n": n_patients,
                    "note": "per seed, descriptive (Durkalski 2003); decides nothing",
                }
            )
    primary = pd.DataFrame(primary_rows, columns=PRIMARY_COLUMNS)
    primary = decide(primary, settings.alpha)
    tests = pd.DataFrame(rows, columns=TESTS_COLUMNS)
    is_primary = tests["role"] == "primary"
    tests.loc[is_primary, "p_holm"] = primary["p_holm"].to_numpy()
    variance = variance_components(
        predictions, arms, seeds, point, boot, settings.primary_metric, patient_counts
    )
    return Result(
        tests=tests,
        summary_ci=pd.DataFrame(summary_rows, columns=SUMMARY_COLUMNS),
        primary=primary,
        variance=variance,
    )


def decide(primary: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Holm over the primary comparisons, and each comparison's verdict from the corrected test
    and the interval together: 'difference' or 'no difference' when they agree, 'conflict' when
    they disagree, 'undefined' when either is."""
    primary = primary.copy()
    primary["p_holm"] = holm(primary["p_value"].to_numpy(dtype=float))
    primary["alpha"] = alpha
    defined = primary["p_holm"].notna() & primary["ci_low"].notna()
    significant = defined & (primary["p_holm"] < alpha)
    excludes = defined & ((primary["ci_low"] > 0) | (primary["ci_high"] < 0))
    primary["significant"] = np.where(defined, significant, pd.NA)
    primary["ci_excludes_zero"] = np.where(defined, excludes, pd.NA)
    primary["verdict"] = np.select(
        [~defined, significant & excludes, ~significant & ~excludes],
        ["undefined", "difference", "no difference"],
        default="conflict",
    )
    return primary


def _seed_draws(predictions: pd.DataFrame, arm: str, seeds: list[int]) -> tuple[list, str]:
    """The synthetic draw each seed of an arm trained on, and a note on what can be told
    apart."""
    if "synthetic_draw" not in predictions:
        return list(seeds), "no synthetic_draw column: draw treated as confounded with seed"
    rows = predictions[predictions["arm"] == arm].drop_duplicates("seed").set_index("seed")
    draws = [int(rows.loc[seed, "synthetic_draw"]) for seed in seeds]
    if all(draw == NO_DRAW for draw in draws):
        return [], "no synthetic data"
    if len(set(draws)) == len(seeds):
        return draws, "one synthetic draw per seed: draw and seed variance confounded"
    if len(set(draws)) == 1:
        return draws, "one synthetic draw shared by every seed: its variance is not estimated"
    return draws, "seeds nested in synthetic draws"


def variance_components(
    predictions: pd.DataFrame,
    arms: list[str],
    seeds: list[int],
    point: dict[str, np.ndarray],
    boot: dict[str, np.ndarray],
    metric: str,
    patient_counts: np.ndarray,
) -> pd.DataFrame:
    """Per arm, the variance of the metric between seeds (split into draw and seed within draw
    when seeds share draws: one-way method of moments) and between test patients (the variance
    of the seed-averaged metric over patient-only resamples), each also as its contribution to
    the variance of the arm's seed-averaged mean."""
    index = TEST_METRICS.index(metric)
    n_seeds = len(seeds)
    rows = []
    for arm in arms:
        values = point[arm][:, index]
        draws, note = _seed_draws(predictions, arm, seeds)
        seed_var = float(np.var(values, ddof=1)) if n_seeds > 1 else math.nan
        levels = sorted(set(draws))
        if 1 < len(levels) < n_seeds:
            frame = pd.DataFrame({"draw": draws, "value": values})
            within = frame.groupby("draw")["value"].var(ddof=1).dropna()
            ms_within = float(within.mean()) if len(within) else math.nan
            sizes = frame.groupby("draw").size()
            n0 = (n_seeds - (sizes**2).sum() / n_seeds) / (len(levels) - 1)
            ms_between = float(
                (sizes * (frame.groupby("draw")["value"].mean() - values.mean()) ** 2).sum()
                / (len(levels) - 1)
            )
            draw_var = max(0.0, (ms_between - ms_within) / n0)
            rows.append(_variance_row(arm, metric, "synthetic_draw", draw_var, len(levels), note))
            rows.append(_variance_row(arm, metric, "seed", ms_within, n_seeds, note))
        else:
            component = "seed+synthetic_draw" if len(levels) == n_seeds else "seed"
            rows.append(_variance_row(arm, metric, component, seed_var, n_seeds, note))
        n_patients = patient_counts.shape[1]
        patient_var = (
            float(np.nanvar(seed_average(boot[arm][index]), ddof=1)) if n_patients > 1 else math.nan
        )
        rows.append(
            {
                "arm": arm,
                "metric": metric,
                "component": "patient",
                "variance": patient_var * n_patients,
                "variance_of_mean": patient_var,
                "n": n_patients,
                "note": "from the patient bootstrap of the seed-averaged metric"
                if n_patients > 1
                else "undefined: one test patient",
            }
        )
    return pd.DataFrame(rows, columns=VARIANCE_COLUMNS)


def _variance_row(arm, metric, component, variance, n, note) -> dict:
    return {
        "arm": arm,
        "metric": metric,
        "component": component,
        "variance": variance,
        "variance_of_mean": variance / n if n else math.nan,
        "n": n,
        "note": note,
    }


def _correct(group: pd.DataFrame, labels: np.ndarray) -> np.ndarray:
    predicted = group["probability"].to_numpy() >= float(group["threshold"].iloc[0])
    return predicted == labels.astype(bool)


def _nanmean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.nanmean(values)) if np.any(~np.isnan(values)) else math.nan


def _arm_order(key: tuple[str, int]) -> tuple[int, str, int]:
    arm, seed = key
    return (*arm_sort_key(arm), seed)
