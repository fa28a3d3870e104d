"""Paired comparisons of the classifier arms on the same test patches.

Every arm and seed predicts the same test patches, so arms are compared *paired*:

* per seed, McNemar's test on the patches one arm classifies correctly and the other does not
  (exact binomial when the discordant pairs are few, chi-square with continuity correction
  otherwise), with Cohen's g (signed: b / (b + c) - 0.5) as its effect size;
* across seeds, the paired t-test (effect: Cohen's d_z) and the Wilcoxon signed-rank test
  (effect: matched-pairs rank-biserial correlation) on each metric's per-seed values;
* a bootstrap over test *patients* (patients drawn with replacement, all of a patient's patches
  kept together, the same resamples for every arm and seed so differences stay paired) of the
  seed-averaged metric, giving each arm's and each difference's percentile confidence interval.
  It conditions on the trained models (it says how much the numbers depend on which patients
  were tested, not on training randomness), so it gives intervals but no p-value: the
  across-seed tests carry the training variance.

Holm's correction is applied within each test across every hypothesis it made (all comparisons,
metrics and, for McNemar, seeds), which is stricter than correcting across comparisons alone.
Undefined tests (fewer than two paired seeds, all differences zero) get a NaN p-value and a
note instead of an error.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from idc_synth.metrics import SCORE_KEYS, classification_metrics

# (arm_a, arm_b): differences are arm_a - arm_b.
COMPARISONS = (("dcgan", "baseline"), ("diffusion", "baseline"), ("diffusion", "dcgan"))
TEST_METRICS = SCORE_KEYS  # arms are compared on every score, not on the confusion counts
TESTS_COLUMNS = [
    "comparison",
    "arm_a",
    "arm_b",
    "metric",
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
PREDICTION_COLUMNS = ["arm", "seed", "row", "patient", "label", "probability", "threshold"]


@dataclass(frozen=True)
class Settings:
    """The `statistics:` config section (alpha is only used by the summary)."""

    bootstrap_samples: int = 1000
    bootstrap_seed: int = 0
    confidence_level: float = 0.95
    mcnemar_exact_below: int = 25


def comparisons(arms: Iterable[str]) -> list[tuple[str, str]]:
    """The standard comparisons whose two arms are both present, in a fixed order."""
    present = set(arms)
    return [(a, b) for a, b in COMPARISONS if a in present and b in present]


def comparison_name(arm_a: str, arm_b: str) -> str:
    return f"{arm_a} vs {arm_b}"


# ---------------------------------------------------------------------------------------------
# Single tests


def mcnemar_test(
    correct_a: np.ndarray, correct_b: np.ndarray, exact_below: int = 25
) -> dict[str, float | int | str | bool]:
    """McNemar's test of two classifiers' correctness on the same patches.

    b = patches only A gets right, c = patches only B gets right. Exact (binomial) when
    b + c < `exact_below`, else chi-square with continuity correction. No discordant pair at
    all means identical correctness: p = 1 with a note.
    """
    correct_a = np.asarray(correct_a, dtype=bool)
    correct_b = np.asarray(correct_b, dtype=bool)
    if correct_a.shape != correct_b.shape:
        raise ValueError(f"paired arrays differ in shape: {correct_a.shape} {correct_b.shape}")
    table = np.array(
        [
            [np.sum(correct_a & correct_b), np.sum(correct_a & ~correct_b)],
            [np.sum(~correct_a & correct_b), np.sum(~correct_a & ~correct_b)],
        ]
    )
    b, c = int(table[0, 1]), int(table[1, 0])
    exact = b + c < exact_below
    note = f"b={b} (only A correct), c={c} (only B correct); " + (
        "exact binomial" if exact else "chi-square, continuity-corrected"
    )
    if b + c == 0:
        return {
            "statistic": 0.0,
            "p_value": 1.0,
            "effect_size": float("nan"),
            "b": b,
            "c": c,
            "exact": exact,
            "note": "no discordant patches: both arms are right on the same patches",
        }
    result = mcnemar(table, exact=exact, correction=True)
    return {
        "statistic": float(result.statistic),
        "p_value": float(result.pvalue),
        "effect_size": b / (b + c) - 0.5,
        "b": b,
        "c": c,
        "exact": exact,
        "note": note,
    }


def rank_biserial(differences: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation (Kerby 2014): (R+ - R-) / (R+ + R-) over the
    ranks of the non-zero |differences|; NaN when every difference is zero."""
    differences = np.asarray(differences, dtype=float)
    nonzero = differences[differences != 0]
    if nonzero.size == 0:
        return float("nan")
    ranks = stats.rankdata(np.abs(nonzero))
    positive, negative = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
    return float((positive - negative) / (positive + negative))


def paired_tests(values_a: Sequence[float], values_b: Sequence[float]) -> list[dict]:
    """Paired t-test (effect Cohen's d_z) and Wilcoxon signed-rank test (effect rank-biserial)
    of per-seed values; NaN p-values with a note where a test is undefined."""
    a = np.asarray(values_a, dtype=float)
    b = np.asarray(values_b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in shape: {a.shape} {b.shape}")
    keep = ~(np.isnan(a) | np.isnan(b))
    differences = a[keep] - b[keep]
    n = int(differences.size)
    mean_difference = float(differences.mean()) if n else float("nan")
    sd = float(differences.std(ddof=1)) if n >= 2 else float("nan")
    t_row = {
        "test": "paired_t",
        "statistic": float("nan"),
        "p_value": float("nan"),
        "effect_size": mean_difference / sd if n >= 2 and sd > 0 else float("nan"),
        "effect_name": "cohens_dz",
        "mean_difference": mean_difference,
        "n": n,
        "note": "",
    }
    w_row = {
        "test": "wilcoxon",
        "statistic": float("nan"),
        "p_value": float("nan"),
        "effect_size": rank_biserial(differences),
        "effect_name": "rank_biserial",
        "mean_difference": mean_difference,
        "n": n,
        "note": "",
    }
    if n < 2:
        note = f"undefined: {n} paired seed(s), needs at least 2"
        t_row["note"] = w_row["note"] = note
        return [t_row, w_row]
    if np.all(differences == 0):
        note = "undefined: every paired difference is zero"
        t_row["note"] = w_row["note"] = note
        return [t_row, w_row]
    if sd == 0:
        t_row["note"] = "undefined: the differences have zero variance"
    else:
        result = stats.ttest_rel(a[keep], b[keep])
        t_row["statistic"], t_row["p_value"] = float(result.statistic), float(result.pvalue)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample and zero-difference warnings
        result = stats.wilcoxon(a[keep], b[keep], zero_method="wilcox")
    w_row["statistic"], w_row["p_value"] = float(result.statistic), float(result.pvalue)
    n_nonzero = int(np.count_nonzero(differences))
    smallest = 2.0 / 2**n_nonzero
    if smallest > 0.05:
        w_row["note"] = f"with {n_nonzero} non-zero differences the smallest p is {smallest:.3g}"
    return [t_row, w_row]


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values; NaN entries stay NaN and are not counted as hypotheses."""
    p_values = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p_values, np.nan)
    defined = ~np.isnan(p_values)
    if defined.any():
        adjusted[defined] = multipletests(p_values[defined], method="holm")[1]
    return adjusted


# ---------------------------------------------------------------------------------------------
# Bootstrap by patient


def patient_resamples(n_patients: int, n_samples: int, seed: int) -> np.ndarray:
    """(n_samples, n_patients) counts: how often each patient is drawn in each resample, when
    n_patients patients are drawn with replacement."""
    if n_patients < 1 or n_samples < 1:
        raise ValueError(f"need patients and samples, got {n_patients} and {n_samples}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_patients, size=(n_samples, n_patients))
    counts = np.zeros((n_samples, n_patients), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(n_samples), n_patients), draws.ravel()), 1)
    return counts


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


def weighted_metrics(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """The metrics of `classification_metrics` for many weightings at once.

    `weights` is (B, N): with integer weights each row equals the metrics of the patches
    repeated that many times (a bootstrap resample), computed without building it.
    """
    labels = np.asarray(labels).astype(bool)
    probabilities = np.asarray(probabilities, dtype=float)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    predicted = probabilities >= threshold
    tp = weights @ (labels & predicted)
    fn = weights @ (labels & ~predicted)
    fp = weights @ (~labels & predicted)
    tn = weights @ (~labels & ~predicted)
    positives, negatives = tp + fn, tn + fp
    recall = _safe_ratio(tp, positives, 0.0)
    specificity = _safe_ratio(tn, negatives, np.nan)
    class_recalls = np.stack([np.where(positives > 0, recall, np.nan), specificity])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        balanced = np.nanmean(class_recalls, axis=0)

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
    roc_auc = np.where(both, auc_sum / np.where(both, positives * negatives, 1), np.nan)
    # Average precision: thresholds from the highest score down.
    tps = np.cumsum(pos_group[:, ::-1], axis=1)
    fps = np.cumsum(neg_group[:, ::-1], axis=1)
    precision_at = _safe_ratio(tps, tps + fps, 0.0)
    average_precision = np.sum(pos_group[:, ::-1] * precision_at, axis=1)
    pr_auc = np.where(both, average_precision / np.where(both, positives, 1), np.nan)
    return {
        "accuracy": _safe_ratio(tp + tn, positives + negatives, np.nan),
        "balanced_accuracy": balanced,
        "precision": _safe_ratio(tp, tp + fp, 0.0),
        "recall": recall,
        "f1": _safe_ratio(2 * tp, 2 * tp + fp + fn, 0.0),
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
    }


def bootstrap_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    threshold: float,
    patient_codes: np.ndarray,
    patient_counts: np.ndarray,
    chunk_cells: int = 4_000_000,
) -> pd.DataFrame:
    """(B rows) x TEST_METRICS for the resamples given as patient counts (B, n_patients)."""
    n_patches = len(labels)
    chunk = max(1, chunk_cells // max(1, n_patches))
    parts = []
    for start in range(0, len(patient_counts), chunk):
        weights = patient_counts[start : start + chunk][:, patient_codes]
        parts.append(pd.DataFrame(weighted_metrics(labels, probabilities, threshold, weights)))
    return pd.concat(parts, ignore_index=True)[list(TEST_METRICS)]


def percentile_interval(samples: np.ndarray, confidence_level: float) -> tuple[float, float]:
    samples = np.asarray(samples, dtype=float)
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    tail = 100 * (1 - confidence_level) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


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


def compare_arms(
    predictions: pd.DataFrame, settings: Settings = Settings()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tests table and the per-arm confidence-interval table (see the module docstring)."""
    groups = check_predictions(predictions)
    reference = next(iter(groups.values()))
    labels = reference["label"].to_numpy()
    patient_codes, patients = pd.factorize(reference["patient"].to_numpy())
    counts = patient_resamples(len(patients), settings.bootstrap_samples, settings.bootstrap_seed)

    point: dict[tuple[str, int], dict[str, float]] = {}
    boot: dict[tuple[str, int], pd.DataFrame] = {}
    for key, group in groups.items():
        threshold = float(group["threshold"].iloc[0])
        probabilities = group["probability"].to_numpy()
        point[key] = classification_metrics(labels, probabilities, threshold)
        boot[key] = bootstrap_metrics(labels, probabilities, threshold, patient_codes, counts)

    arms = sorted({arm for arm, _ in groups}, key=_arm_order)
    seeds_of = {arm: sorted(seed for a, seed in groups if a == arm) for arm in arms}
    level = settings.confidence_level

    summary_rows = []
    for arm in arms:
        seeds = seeds_of[arm]
        for metric in TEST_METRICS:
            values = np.array([point[(arm, seed)][metric] for seed in seeds], dtype=float)
            seed_mean = _nanmean_columns([boot[(arm, seed)][metric] for seed in seeds])
            low, high = percentile_interval(seed_mean, level)
            summary_rows.append(
                {
                    "arm": arm,
                    "metric": metric,
                    "mean": float(np.nanmean(values)) if len(values) else float("nan"),
                    "std": float(np.nanstd(values, ddof=1)) if len(values) > 1 else float("nan"),
                    "n_seeds": len(seeds),
                    "ci_low": low,
                    "ci_high": high,
                    "confidence_level": level,
                    "n_patients": len(patients),
                }
            )

    rows = []
    for arm_a, arm_b in comparisons(arms):
        base = {"comparison": comparison_name(arm_a, arm_b), "arm_a": arm_a, "arm_b": arm_b}
        seeds = [seed for seed in seeds_of[arm_a] if seed in seeds_of[arm_b]]
        for seed in seeds:
            correct_a = _correct(groups[(arm_a, seed)], labels)
            correct_b = _correct(groups[(arm_b, seed)], labels)
            result = mcnemar_test(correct_a, correct_b, settings.mcnemar_exact_below)
            difference = boot[(arm_a, seed)]["accuracy"] - boot[(arm_b, seed)]["accuracy"]
            low, high = percentile_interval(difference.to_numpy(), level)
            rows.append(
                {
                    **base,
                    "metric": "accuracy",
                    "test": "mcnemar",
                    "seed": str(seed),
                    "statistic": result["statistic"],
                    "p_value": result["p_value"],
                    "effect_size": result["effect_size"],
                    "effect_name": "cohens_g",
                    "mean_difference": point[(arm_a, seed)]["accuracy"]
                    - point[(arm_b, seed)]["accuracy"],
                    "ci_low": low,
                    "ci_high": high,
                    "n": len(labels),
                    "note": result["note"],
                }
            )
        for metric in TEST_METRICS:
            values_a = [point[(arm_a, seed)][metric] for seed in seeds]
            values_b = [point[(arm_b, seed)][metric] for seed in seeds]
            difference = _nanmean_columns(
                [boot[(arm_a, seed)][metric] - boot[(arm_b, seed)][metric] for seed in seeds]
            )
            low, high = percentile_interval(difference, level)
            interval = {"ci_low": low, "ci_high": high}
            for row in paired_tests(values_a, values_b):
                rows.append({**base, "metric": metric, "seed": "all", **row, **interval})
    tests = pd.DataFrame(rows, columns=TESTS_COLUMNS)
    for _, index in tests.groupby("test").groups.items():
        tests.loc[index, "p_holm"] = holm(tests.loc[index, "p_value"].to_numpy(dtype=float))
    return tests, pd.DataFrame(summary_rows, columns=SUMMARY_COLUMNS)


def _correct(group: pd.DataFrame, labels: np.ndarray) -> np.ndarray:
    predicted = group["probability"].to_numpy() >= float(group["threshold"].iloc[0])
    return predicted == labels.astype(bool)


def _nanmean_columns(series: list) -> np.ndarray:
    """Element-wise mean over seeds of bootstrap samples (NaN where every seed is NaN)."""
    if not series:
        return np.empty(0)
    stacked = np.vstack([np.asarray(values, dtype=float) for values in series])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(stacked, axis=0)


def _arm_order(arm: str) -> tuple[int, str]:
    known = ("baseline", "dcgan", "diffusion")
    return (known.index(arm) if arm in known else len(known), arm)


def is_significant(p_holm: float, alpha: float) -> bool:
    return not math.isnan(p_holm) and p_holm < alpha
