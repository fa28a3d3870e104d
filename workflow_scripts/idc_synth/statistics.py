"""Comparisons of the classifier arms with the test patient as the unit of inference.

Every arm and seed predicts the same test patches. Patches of one patient share stain, scanner
and tissue, so they are not independent; the classifier seeds (and the synthetic draws nested in
them) are replicates of training, crossed with the patients. The inference follows that
structure (idc_synth.inference):

* **Estimand**: each score as the field reports it, pooled over the test patches (a patient with
  more patches weighs more), averaged over seeds; the difference of two arms' seed means.
* **Contributions**: leave-one-patient-out pseudovalues of every score, per arm and seed.
* **Primary family** (``arms.comparisons``), on the one pre-declared primary metric
  (``Settings.primary_metric``), Bonferroni over the family: every generator arm vs the
  baseline and vs the best classic augmentation arm (chosen on val), every combined arm vs its
  classic augmentation. Each comparison's variance comes from its own two arms: the crossed
  seed x patient model of their difference's table (a noisier arm widens its own comparisons
  only); its p-value is the generalized (fiducial) p-value, its decision interval the same test
  inverted at alpha / k, so verdict and interval agree: difference, no difference shown, or
  undefined with the reason. Each row's `scope` says what the verdict is about: "this trained
  generator" when one trained generator sampled every seed's patches, "the method, k
  realizations" when k did (their training variance in the seed variance).
* **Leave-one-patient-out scores that change meaning**: without the only patient of a class, a
  score that needs both classes (balanced accuracy turns into specificity, ROC AUC is undefined)
  is undefined for that leave-out (`class_lost`), and the patient leaves the variance with a
  note in `primary.tsv` and `variance.tsv`; accuracy keeps its meaning and keeps the patient.
* **Secondary**: generator vs generator, classic and combined arms vs the baseline, combined
  arms vs their generator on the primary metric, and every other metric for every comparison:
  an effect and an unadjusted interval at ``confidence_level``; no decision.
* **Clustered McNemar** (Durkalski et al. 2003): per seed, descriptive only.
* **Variance components** of each comparison's difference: seed, patient, seed x patient, each
  as its share of the variance of the estimate, so a user sees whether more seeds or more test
  patients would narrow it.

statsmodels does the multiple-testing adjustment (through idc_synth.inference.adjust). Hand-
written, because statsmodels has no equivalent: the clustered McNemar (its `mcnemar` assumes
independent pairs, Durkalski's patient-clustered statistic is not in it), and the scores of many
patch weightings at once (`weighted_metrics`: one matrix product per seed for every leave-one-
patient-out set, where a per-set call of a metric library would recompute each set).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import stats

from idc_synth.arms import comparisons
from idc_synth.design import Statistic, StudyDesign, split_predictions
from idc_synth.inference import (
    SCORE_RANGE,
    UNDEFINED,
    Family,
    crossed,
    decide,
)
from idc_synth.metrics import SCORE_KEYS
from idc_synth.synthetic import NO_DRAW

TEST_METRICS = SCORE_KEYS  # arms are compared on every score, not on the confusion counts
PRIMARY_METRICS = ("balanced_accuracy", "roc_auc")
TEST_NAME = "seed x patient mixed model of the pair (jackknife pseudovalues, generalized p)"
# Scores whose meaning needs both classes in the patches they are computed on.
NEEDS_BOTH_CLASSES = tuple(metric for metric in SCORE_KEYS if metric != "accuracy")
ZERO_VARIANCE_NOTE = "undefined: zero variance (identical arms)"
SCOPE_ONE_GENERATOR = "this trained generator"
SCOPE_NO_GENERATOR = "these arms"
SCOPE_NOT_RECORDED = "generator realizations not recorded"
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
    "p_adjusted",
    "effect_size",
    "effect_name",
    "mean_difference",
    "ci_low",
    "ci_high",
    "ci_level",
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
    "se",
    "df",
    "p_value",
    "family_size",
    "p_adjusted",
    "alpha",
    "decision_level",
    "ci_low",
    "ci_high",
    "verdict",
    "mdd",
    "n_patients",
    "n_seeds",
    "generator_realizations",
    "scope",
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
VARIANCE_COLUMNS = [
    "comparison",
    "metric",
    "component",
    "variance",
    "variance_of_mean",
    "share",
    "n",
    "note",
]


@dataclass(frozen=True)
class Settings:
    """The `statistics:` config section that the comparison uses."""

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


def best_classic_arm(val_scores: Mapping[str, Sequence[float]]) -> str | None:
    """The classic augmentation arm the generators are measured against: the best seed-averaged
    val score of the primary metric (val, never test, so the choice spends no test data and
    the family's level holds); None without classic arms. Ties go to the first by name."""
    if not val_scores:
        return None
    return max(sorted(val_scores), key=lambda arm: float(np.mean(val_scores[arm])))


def comparison_name(arm_a: str, arm_b: str) -> str:
    return f"{arm_a} vs {arm_b}"


def class_lost(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """(..., 1 + n) class totals of the resample plan's replicates (0: every patient) -> which
    leave-outs lack a class the full set has: a score needing both classes changes meaning
    there (balanced accuracy becomes specificity or sensitivity)."""
    full_has = (positives[..., :1] > 0) & (negatives[..., :1] > 0)
    lost = full_has & ((positives <= 0) | (negatives <= 0))
    lost[..., 0] = False
    return lost


# ---------------------------------------------------------------------------------------------
# Clustered McNemar (descriptive)


def clustered_mcnemar(
    correct_a: np.ndarray, correct_b: np.ndarray, patient_codes: np.ndarray
) -> dict[str, float | int]:
    """Durkalski et al. (2003) McNemar for clustered data: X = (sum_k (b_k - c_k))^2 /
    sum_k (b_k - c_k)^2 over patients k, approximately chi-square with 1 df (for many
    patients). p = 1 when no patient has a discordant excess; no statistic (NaN) with fewer
    than two patients, where X is 1 whatever the data."""
    correct_a = np.asarray(correct_a, dtype=bool)
    correct_b = np.asarray(correct_b, dtype=bool)
    codes = np.asarray(patient_codes)
    n = int(codes.max()) + 1 if codes.size else 0
    excess = np.bincount(codes, weights=correct_a & ~correct_b, minlength=n) - np.bincount(
        codes, weights=~correct_a & correct_b, minlength=n
    )
    if np.unique(codes).size < 2:
        return {"statistic": math.nan, "p_value": math.nan, "excess": float(excess.sum())}
    denominator = float(np.sum(excess**2))
    if denominator == 0:
        return {"statistic": 0.0, "p_value": 1.0, "excess": 0.0}
    statistic = float(excess.sum() ** 2 / denominator)
    return {
        "statistic": statistic,
        "p_value": float(stats.chi2.sf(statistic, 1)),
        "excess": float(excess.sum()),
    }


# ---------------------------------------------------------------------------------------------
# Scores of many patch weightings at once


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


def weighted_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    threshold: float,
    weights: np.ndarray,
    metrics: Sequence[str] = TEST_METRICS,
) -> dict[str, np.ndarray]:
    """The `metrics` of `classification_metrics` for many weightings at once.

    `weights` is (B, N): with 0/1 weights each row equals the metrics of the patches it keeps
    (a leave-one-patient-out set, a single patient), computed without building it.
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


# ---------------------------------------------------------------------------------------------
# The study's test predictions, read once (their design: idc_synth.design)


@dataclass(frozen=True)
class Scores:
    """One arm's scores: `full` (seeds, metrics) on every test patient, `pseudo` (metrics,
    seeds, patients) their leave-one-patient-out pseudovalues."""

    metrics: tuple[str, ...]
    full: np.ndarray
    pseudo: np.ndarray

    def table(self, metric: str) -> np.ndarray:
        return self.pseudo[self.metrics.index(metric)]

    def values(self, metric: str) -> np.ndarray:
        return self.full[:, self.metrics.index(metric)]


class StudyPredictions:
    """The test predictions of every arm and seed of a study, read and checked once, with the
    study's design (idc_synth.design: test patches, patients, arms, seeds, resample plan), for
    every table that compares arms. `design`: an existing study's design the predictions must
    match (robustness: the perturbed predictions of the clean study), reused, not rebuilt."""

    def __init__(self, predictions: pd.DataFrame, design: StudyDesign | None = None):
        self.groups = split_predictions(predictions)
        own = StudyDesign.from_groups(self.groups)
        if design is not None:
            design.check_same(own, "predictions")
        self.design = design or own
        self.draws = self._per_seed(predictions, "synthetic_draw")
        self.realizations = self._per_seed(predictions, "generator_realization")

    # the design's parts, by their usual names
    rows = property(lambda self: self.design.rows)
    labels = property(lambda self: self.design.labels)
    patient_codes = property(lambda self: self.design.patient_codes)
    patients = property(lambda self: self.design.patients)
    arms = property(lambda self: self.design.arms)
    seeds = property(lambda self: self.design.seeds)
    n_patients = property(lambda self: self.design.n_patients)

    def probabilities(self, arm: str, seed: int) -> tuple[np.ndarray, float]:
        group = self.groups[(arm, seed)]
        return group["probability"].to_numpy(), float(group["threshold"].iloc[0])

    def replicates(
        self, arm: str, statistic: Statistic, metrics: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """`statistic(probabilities, threshold, weights)` of the arm on the design's resample
        plan, per seed: (metrics, seeds) values and (metrics, seeds, patients) pseudovalues."""
        return self.design.replicates(self.probabilities, arm, statistic, metrics)

    def scores(self, arm: str, metrics: Sequence[str] = TEST_METRICS) -> Scores:
        """The arm's scores on every patient and without each, per seed."""
        labels = self.labels

        def statistic(probabilities, threshold, weights):
            values = weighted_metrics(labels, probabilities, threshold, weights, metrics)
            lost = class_lost(weights @ labels, weights @ (1 - labels))
            return {
                metric: np.where(lost, np.nan, value) if metric in NEEDS_BOTH_CLASSES else value
                for metric, value in values.items()
            }

        full, pseudo = self.replicates(arm, statistic, metrics)
        return Scores(tuple(metrics), full.T, pseudo)

    def _per_seed(self, predictions: pd.DataFrame, column: str) -> dict[str, list[int]]:
        """Per arm, `column` of each seed's classifier (the synthetic draw it trained on, or the
        generator realization that sampled it; NO_DRAW without); empty without the column."""
        if column not in predictions:
            return {}
        rows = predictions.drop_duplicates(["arm", "seed"]).set_index(["arm", "seed"])
        return {
            arm: [int(rows.loc[(arm, seed), column]) for seed in self.seeds] for arm in self.arms
        }

    def generator_realizations(self, arm: str) -> int:
        """How many trained generators sampled the arm's patches over its seeds (0: none, or
        not recorded)."""
        return len({r for r in self.realizations.get(arm, []) if r != NO_DRAW})

    def scope(self, arms: Sequence[str]) -> str:
        """What a verdict on `arms` is about: one trained generator behind either arm makes it
        a verdict about that training run; k behind each, about the method over k."""
        if not self.realizations:
            return SCOPE_NOT_RECORDED
        used = [count for count in map(self.generator_realizations, arms) if count > 0]
        if not used:
            return SCOPE_NO_GENERATOR
        return SCOPE_ONE_GENERATOR if min(used) == 1 else f"the method, {min(used)} realizations"

    def replication_note(self, arms: Sequence[str]) -> str:
        """What the seed variance of a comparison of `arms` holds of the synthetic draws and
        of the generators' training."""
        if not self.draws:
            return "no synthetic_draw column: draw treated as confounded with seed"
        notes = []
        for arm in arms:
            draws = self.draws[arm]
            if all(draw == NO_DRAW for draw in draws):
                continue
            if len(set(draws)) == 1 and len(draws) > 1:
                notes.append(
                    f"{arm}: one synthetic draw shared by every seed, its variance is not in "
                    "the test"
                )
            elif len(set(draws)) < len(draws):
                notes.append(f"{arm}: {len(set(draws))} synthetic draws shared by the seeds")
            else:
                notes.append(f"{arm}: one synthetic draw per seed, in the seed variance")
            realizations = self.generator_realizations(arm)
            if realizations == 1 and len(self.seeds) > 1:
                notes.append(
                    f"{arm}: one trained generator behind every seed, its training variance is "
                    "not in the test"
                )
            elif realizations > 1:
                notes.append(
                    f"{arm}: {realizations} trained generators over {len(self.seeds)} seeds, "
                    "their training variance in the seed variance"
                )
        return "; ".join(notes)


# ---------------------------------------------------------------------------------------------
# The whole comparison


def compare_arms(
    study: StudyPredictions, settings: Settings = Settings(), best_classic: str | None = None
) -> Result:
    """The tests, per-arm interval, primary and variance tables (see the module docstring);
    ``best_classic``: the classic arm the generators are also compared with (chosen on val)."""
    scores = {arm: study.scores(arm) for arm in study.arms}
    # a comparison's variance comes from its two arms' tables alone (Family.contrast)
    families = {
        metric: Family({arm: scores[arm].table(metric) for arm in study.arms})
        for metric in TEST_METRICS
    }
    level = settings.confidence_level
    summary_rows = []
    for arm in study.arms:
        for metric in TEST_METRICS:
            values = scores[arm].values(metric)
            low, high = crossed(scores[arm].table(metric)).interval(level, SCORE_RANGE)
            summary_rows.append(
                {
                    "arm": arm,
                    "metric": metric,
                    "mean": _nanmean(values),
                    "std": float(np.nanstd(values, ddof=1)) if len(values) > 1 else math.nan,
                    "n_seeds": len(study.seeds),
                    "ci_low": low,
                    "ci_high": high,
                    "confidence_level": level,
                    "n_patients": study.n_patients,
                }
            )

    family, secondary = comparisons(study.arms, best_classic)
    metric = settings.primary_metric
    decided = decide([families[metric].difference(a, b) for a, b in family], settings.alpha)
    primary = pd.DataFrame(
        [
            {
                "comparison": comparison_name(a, b),
                "arm_a": a,
                "arm_b": b,
                "metric": metric,
                "mean_a": _nanmean(scores[a].values(metric)),
                "mean_b": _nanmean(scores[b].values(metric)),
                "difference": row["estimate"],
                "alpha": settings.alpha,
                "n_patients": study.n_patients,
                "n_seeds": len(study.seeds),
                "generator_realizations": study.generator_realizations(a),
                "scope": study.scope([a, b]),
                **{key: row[key] for key in PRIMARY_COLUMNS if key in row},
            }
            for (a, b), row in zip(family, decided.to_dict("records"), strict=True)
        ],
        columns=PRIMARY_COLUMNS,
    )

    rows = []
    for position, (a, b) in enumerate([*family, *secondary]):
        base = {"comparison": comparison_name(a, b), "arm_a": a, "arm_b": b}
        for each in TEST_METRICS:
            result = families[each].difference(a, b)
            is_primary = each == metric and position < len(family)
            if is_primary:
                decision = decided.iloc[position]
                ci, ci_level = (decision["ci_low"], decision["ci_high"]), decision["decision_level"]
                p, p_adjusted = decision["p_value"], decision["p_adjusted"]
            else:
                ci, ci_level = result.interval(level), level
                p, p_adjusted = math.nan, math.nan
            rows.append(
                {
                    **base,
                    "metric": each,
                    "role": "primary" if is_primary else "secondary",
                    "test": TEST_NAME,
                    "seed": "all",
                    "statistic": result.estimate / result.se if result.defined else math.nan,
                    "p_value": p,
                    "p_adjusted": p_adjusted,
                    "effect_size": math.nan,
                    "effect_name": "",
                    "mean_difference": _nanmean(scores[a].values(each) - scores[b].values(each)),
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                    "ci_level": ci_level,
                    "n": study.n_patients,
                    "note": result.note
                    or ("" if is_primary or result.defined else "undefined: zero variance"),
                }
            )
        rows += _mcnemar_rows(study, base, scores)
    tests = pd.DataFrame(rows, columns=TESTS_COLUMNS)
    variance = variance_components(study, families[metric], [*family, *secondary], metric)
    return Result(
        tests=tests,
        summary_ci=pd.DataFrame(summary_rows, columns=SUMMARY_COLUMNS),
        primary=primary,
        variance=variance,
    )


def _mcnemar_rows(study: StudyPredictions, base: dict, scores: dict[str, Scores]) -> list[dict]:
    """Per seed, the clustered McNemar test of accuracy: descriptive."""
    rows = []
    labels = study.labels.astype(bool)
    for position, seed in enumerate(study.seeds):
        correct = [
            (probabilities >= threshold) == labels
            for probabilities, threshold in (
                study.probabilities(base[key], seed) for key in ("arm_a", "arm_b")
            )
        ]
        result = clustered_mcnemar(*correct, study.patient_codes)
        accuracy = [scores[base[key]].values("accuracy")[position] for key in ("arm_a", "arm_b")]
        rows.append(
            {
                **base,
                "metric": "accuracy",
                "role": "descriptive",
                "test": "clustered_mcnemar",
                "seed": str(seed),
                "statistic": result["statistic"],
                "p_value": result["p_value"],
                "p_adjusted": math.nan,
                "effect_size": result["excess"] / len(labels),
                "effect_name": "discordance_excess",
                "mean_difference": accuracy[0] - accuracy[1],
                "ci_low": math.nan,
                "ci_high": math.nan,
                "ci_level": math.nan,
                "n": study.n_patients,
                "note": "per seed, descriptive (Durkalski 2003); decides nothing"
                + ("; no statistic with one test patient" if math.isnan(result["p_value"]) else ""),
            }
        )
    return rows


def variance_components(
    study: StudyPredictions,
    family: Family,
    pairs: Sequence[tuple[str, str]],
    metric: str,
) -> pd.DataFrame:
    """Per comparison, the variance of its difference split into seed, patient and seed x
    patient parts (from its own two arms' mean squares), each with its share of the variance
    of the seed-averaged estimate: the part more seeds or more test patients would shrink."""
    rows = []
    for a, b in pairs:
        result = family.difference(a, b)
        m, n = result.n_seeds, result.n_patients
        reason = "" if result.defined or result.note.startswith(UNDEFINED) else ZERO_VARIANCE_NOTE
        note = "; ".join(filter(None, [reason, result.note, study.replication_note([a, b])]))
        parts = [
            ("seed", result.seed_variance, m),
            ("patient", result.patient_variance, n),
            ("seed x patient", result.residual_variance, n * m),
        ]
        contributions = [variance / units if units else math.nan for _, variance, units in parts]
        total = np.nansum(contributions)
        for (component, variance, units), contribution in zip(parts, contributions, strict=True):
            rows.append(
                {
                    "comparison": comparison_name(a, b),
                    "metric": metric,
                    "component": component,
                    "variance": variance,
                    "variance_of_mean": contribution,
                    "share": contribution / total if total > 0 else math.nan,
                    "n": units,
                    "note": note,
                }
            )
    return pd.DataFrame(rows, columns=VARIANCE_COLUMNS)


def _nanmean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.nanmean(values)) if np.any(~np.isnan(values)) else math.nan
