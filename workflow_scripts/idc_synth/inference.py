"""Inference with the test patient as the unit and the classifier seed as a second random factor.

Every score of a study is computed from the test patches of n patients, once per classifier seed
(m seeds), and every seed's model predicts every patient: patients and seeds are crossed. A
comparison is an m x n table of contributions, analysed as a two-way crossed random-effects model
(seed, patient, seed x patient): the design of multi-reader multi-case ROC studies, with seeds as
the readers and patients as the cases (Dorfman, Berbaum & Metz 1992; Hillis 2007).

* **Contributions**: jackknife pseudovalues. Leaving out one patient at a time,
  Y_si = n theta_s - (n - 1) theta_s(-i), shifted so that their mean over patients is theta_s
  (Hillis et al. 2005). The estimand stays the score as computed (patch-pooled, with unequal patch
  counts per patient), while each patient counts as one unit of inference.
* **Variance** of the seed-averaged estimate: sigma2_seed / m + sigma2_patient / n +
  sigma2_residual / (n m), from the two-way mean squares, negative components set to zero. With
  one seed the seed variance cannot be estimated: the patient mean square alone, and a note.
* **Each contrast's variance comes from its own arms** (`Family.contrast`): the contrast of the
  arms' tables (for a comparison, arm_a - arm_b) is analysed as one crossed table, so a noisier
  arm (a generator whose classifiers vary more from seed to seed) widens its own comparisons and
  no other. Pooling the mean squares over every arm of the study (as Dorfman-Berbaum-Metz pool
  modalities) would multiply the degrees of freedom at 3 seeds but assumes every arm equally
  variable: with one arm's model and patient noise 2x the others', pooled comparisons reject a
  true null in 9-14% of studies at alpha 0.05 (idc_synth.simulation; docs/statistics.md).
* **Test**: the generalized p-value of the mean (Tsui & Weerahandi 1989; Weerahandi 1993): each
  mean square's uncertainty enters through its own chi-square, so the test is Student's t when
  one component carries the variance and conservative when several do. Satterthwaite's
  approximate degrees of freedom, the usual alternative, rejected up to 8% of null studies at 3
  seeds in idc_synth.simulation; they are reported, not used. The reference is continuous: no
  resampling floor on the smallest p.
* **Family**: Bonferroni over the k defined comparisons of a family, by statsmodels'
  `multipletests` (`adjust`, the one rule the workflow and the simulation decide by). The
  decision interval is the set of differences the same test does not reject at alpha / k, so a
  verdict and its interval cannot disagree.
* **Degenerate cases**: a variance below `ZERO_VARIANCE` times the magnitude of the scores is
  float noise of identical arms, not a variance: undefined, with the reason. p-values below
  `P_BOUND` are written as that bound (the fiducial mean has no resolution there).

Hand-written, because statsmodels has no equivalent: the jackknife pseudovalues of a
patch-pooled score, and the generalized (fiducial) p-value and its inversion for a sum of mean
squares. statsmodels' `MixedLM` fits the same crossed seed x patient components only through
variance-component formulas and REML iterations (a cross-check in tests/test_statistics.py),
too slow for the simulation's tens of thousands of studies and without the generalized p-value.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests

POWER = 0.8  # minimal detectable differences are quoted at this power
SCORE_RANGE = (0.0, 1.0)  # every score and calibration error lies in it
DIFFERENCE, NO_DIFFERENCE, UNDEFINED = "difference", "no difference shown", "undefined"
DECISION_COLUMNS = [
    "estimate",
    "se",
    "df",
    "p_value",
    "family_size",
    "p_adjusted",
    "decision_level",
    "ci_low",
    "ci_high",
    "verdict",
    "mdd",
    "note",
]
# A standard error below this share of the scores' magnitude is rounding noise (identical arms
# give about 1e-15), not a variance: the comparison is undefined.
ZERO_VARIANCE = 1e-9
# p-values below this are printed as "< P_BOUND" (report.format.p_value): the fiducial mean over
# _DRAWS draws does not resolve them, and a float underflows to 0 for extreme effects.
P_BOUND = 1e-12
# Fiducial draws of each mean square: a Latin hypercube of this many points, fixed, so that a
# p-value is a deterministic, smooth function of the data.
_DRAWS = 4096


@lru_cache(maxsize=256)
def _inverse_chi2(df: float, column: int) -> np.ndarray:
    """df / chi2_df at the points of one column of the fixed Latin hypercube: a mean square
    times it is a fiducial draw of that mean square's expectation."""
    rng = np.random.default_rng([20_230_401, column])
    points = (rng.permutation(_DRAWS) + 0.5) / _DRAWS
    return df / stats.chi2.ppf(points, df)


@dataclass(frozen=True)
class Crossed:
    """The seed-averaged estimate of one m x n table (or a contrast of a family's tables) with
    the mean squares that give its variance, each with its degrees of freedom."""

    estimate: float
    n_seeds: int
    n_patients: int
    ms_seed: float = math.nan
    ms_patient: float = math.nan
    ms_residual: float = math.nan
    df_seed: float = math.nan
    df_patient: float = math.nan
    df_residual: float = math.nan
    note: str = ""
    magnitude: float = 0.0  # the largest |contribution| of the arms: the scale of ZERO_VARIANCE

    @property
    def seed_variance(self) -> float:
        """Variance of one seed's contribution (NaN with one seed or undefined)."""
        if self.n_seeds < 2 or not self.defined:
            return math.nan
        return max(0.0, (self.ms_seed - self.ms_residual) / self.n_patients)

    @property
    def patient_variance(self) -> float:
        if not self.defined:
            return math.nan
        residual = 0.0 if self.n_seeds == 1 else self.ms_residual
        return max(0.0, (self.ms_patient - residual) / self.n_seeds)

    @property
    def residual_variance(self) -> float:
        return self.ms_residual if self.defined else math.nan

    def _variance(self, seed: np.ndarray | float, patient, residual) -> np.ndarray | float:
        """n m Var(mean) from (draws of) the three mean squares, components clipped at 0."""
        if self.n_seeds == 1:
            return patient
        return np.maximum(seed, residual) + np.maximum(patient - residual, 0.0)

    @property
    def se(self) -> float:
        if self.n_patients < 2 or not np.isfinite(self.ms_patient):
            return math.nan
        total = self._variance(self.ms_seed, self.ms_patient, self.ms_residual)
        return math.sqrt(total / (self.n_seeds * self.n_patients))

    @property
    def df(self) -> float:
        """Satterthwaite's degrees of freedom of the variance (reported, not used by the test)."""
        if not self.defined:
            return math.nan
        if self.n_seeds == 1:
            return float(self.df_patient)
        # the signed mean squares of n m Var(mean), as `_variance` combines them
        if self.ms_seed > self.ms_residual:
            terms = [(self.ms_seed, self.df_seed)]
        else:
            terms = [(self.ms_residual, self.df_residual)]
        if self.ms_patient > self.ms_residual:
            terms += [(self.ms_patient, self.df_patient), (-self.ms_residual, self.df_residual)]
        total = sum(value for value, _ in terms)
        return float(total**2 / sum(value**2 / df for value, df in terms))

    @property
    def defined(self) -> bool:
        return bool(np.isfinite(self.se) and self.se > ZERO_VARIANCE * self.magnitude)

    def _variance_draws(self) -> np.ndarray:
        """Fiducial draws of Var(mean)."""
        m, n = self.n_seeds, self.n_patients
        patient = self.ms_patient * _inverse_chi2(float(self.df_patient), 1)
        if m == 1:
            return patient / n
        seed = self.ms_seed * _inverse_chi2(float(self.df_seed), 0)
        residual = self.ms_residual * _inverse_chi2(float(self.df_residual), 2)
        return self._variance(seed, patient, residual) / (n * m)

    def p_value(self, null: float = 0.0) -> float:
        """Two-sided generalized p-value of 'the true mean is `null`'."""
        if not self.defined:
            return math.nan
        scale = np.sqrt(self._variance_draws())
        return float(np.mean(2 * stats.norm.sf(abs(self.estimate - null) / scale)))

    def half_width(self, level: float) -> float:
        """The half-width of the interval at `level`: the distance from the estimate at which
        the p-value reaches 1 - level."""
        if not self.defined:
            return math.nan
        scale = np.sqrt(self._variance_draws())
        target = 1 - level

        def excess(distance: float) -> float:
            return float(np.mean(2 * stats.norm.sf(distance / scale))) - target

        upper = self.se
        while excess(upper) > 0:
            upper *= 2
        return float(optimize.brentq(excess, 0.0, upper, xtol=1e-12 * max(upper, 1e-300)))

    def interval(
        self, level: float, bounds: tuple[float, float] = (-math.inf, math.inf)
    ) -> tuple[float, float]:
        """The interval at `level` (no adjustment) within the parameter's `bounds` (a score in
        [0, 1] cannot leave it), or NaNs where undefined."""
        if not self.defined:
            return math.nan, math.nan
        half = self.half_width(level)
        return max(bounds[0], self.estimate - half), min(bounds[1], self.estimate + half)


def jackknife_weights(patient_codes: np.ndarray, n_patients: int) -> np.ndarray:
    """(1 + n_patients, N) patch weights: every patch, then every patch but patient i's."""
    codes = np.asarray(patient_codes)
    leave_out = (np.arange(n_patients)[:, None] != codes[None, :]).astype(float)
    return np.vstack([np.ones((1, len(codes))), leave_out])


def pseudovalues(full: np.ndarray, leave_out: np.ndarray) -> np.ndarray:
    """(m,) scores on every patient and (m, n) scores without patient i -> (m, n) pseudovalues
    whose mean over patients is the full score."""
    full = np.asarray(full, dtype=float)
    leave_out = np.atleast_2d(np.asarray(leave_out, dtype=float))
    n = leave_out.shape[1]
    raw = n * full[:, None] - (n - 1) * leave_out
    with warnings.catch_warnings():  # a seed whose every leave-out is undefined stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmean(raw, axis=1, keepdims=True)
    return raw - centre + full[:, None]


def sd_pseudovalues(values: np.ndarray) -> np.ndarray:
    """(m, n) per-patient scores (NaN where undefined) -> (m, n) pseudovalues of each seed's
    standard deviation over patients (ddof 1); an undefined patient leaves it unchanged."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    defined = ~np.isnan(values)
    filled = np.where(defined, values, 0.0)
    count = defined.sum(axis=1, keepdims=True).astype(float)
    first, second = filled.sum(axis=1, keepdims=True), (filled**2).sum(axis=1, keepdims=True)

    def sd(c, s1, s2):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(c > 1, np.sqrt(np.maximum(s2 - s1**2 / c, 0.0) / (c - 1)), np.nan)

    full = sd(count, first, second)[:, 0]
    leave_out = sd(count - defined, first - filled, second - filled**2)
    return pseudovalues(full, leave_out)


def _defined_part(tables: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(A, m, n) tables -> the seeds and patients every table defines, with notes on what was
    left out (a seed whose score is undefined; a patient whose removal leaves one undefined)."""
    notes = []
    seeds = ~np.isnan(tables).all(axis=2).any(axis=0)
    if (~seeds).any() and seeds.any():  # none defined: the patient count says why
        notes.append(
            f"{int((~seeds).sum())} seed(s) without defined leave-one-patient-out scores left out"
        )
    tables = tables[:, seeds]
    patients = ~np.isnan(tables).any(axis=(0, 1))
    if tables.size and (~patients).any():
        notes.append(
            f"{int((~patients).sum())} patient(s) whose removal leaves the score undefined or "
            "changes its meaning (a class absent without them) left out of the variance"
        )
    return tables[:, :, patients], notes


def _undefined(estimate: float, m: int, n: int, notes: list[str]) -> Crossed:
    notes.insert(0, f"undefined: {n} test patient(s) with a defined score, 2 needed")
    return Crossed(estimate, m, n, note="; ".join(notes))


def crossed(table: np.ndarray, magnitude: float | None = None) -> Crossed:
    """The crossed seed x patient analysis of one (m, n) table of contributions (see the module
    docstring): an arm's own score, or a contrast of arms' tables (`magnitude`: the arms' largest
    |contribution|, the scale their contrast's variance is judged zero against)."""
    tables, notes = _defined_part(np.atleast_2d(np.asarray(table, dtype=float))[None])
    return _crossed(tables[0], notes, magnitude)


def _crossed(table: np.ndarray, notes: list[str], magnitude: float | None) -> Crossed:
    m, n = table.shape
    if magnitude is None:
        magnitude = float(np.abs(table).max()) if table.size else 0.0
    estimate = float(table.mean()) if table.size else math.nan
    if m == 0 or n < 2:
        return _undefined(estimate, m, n, notes)
    patient_means = table.mean(axis=0)
    ms_patient = m * float(np.sum((patient_means - estimate) ** 2)) / (n - 1)
    if m == 1:
        notes.append("one seed: seed variance not estimated")
        return Crossed(
            estimate,
            1,
            n,
            ms_patient=ms_patient,
            df_patient=n - 1,
            note="; ".join(notes),
            magnitude=magnitude,
        )
    seed_means = table.mean(axis=1)
    residuals = table - seed_means[:, None] - patient_means[None, :] + estimate
    return Crossed(
        estimate,
        m,
        n,
        ms_seed=n * float(np.sum((seed_means - estimate) ** 2)) / (m - 1),
        ms_patient=ms_patient,
        ms_residual=float(np.sum(residuals**2)) / ((m - 1) * (n - 1)),
        df_seed=m - 1,
        df_patient=n - 1,
        df_residual=(m - 1) * (n - 1),
        note="; ".join(notes),
        magnitude=magnitude,
    )


class Family:
    """The (m, n) tables of a family's arms (one read: a score, a degradation, a spread). A
    contrast between them is analysed on its own table, so its variance comes from the arms it
    weights and from no other arm of the family."""

    def __init__(self, tables: dict[str, np.ndarray]):
        self.names = list(tables)
        self.tables = {name: np.atleast_2d(np.asarray(tables[name], float)) for name in tables}

    def contrast(self, weights: dict[str, float]) -> Crossed:
        """The seed-averaged contrast sum_a w_a score_a (weights summing to 0) with the crossed
        analysis of its own (m, n) table sum_a w_a table_a, on the seeds and patients every
        weighted arm defines."""
        if abs(sum(weights.values())) > 1e-9 or set(weights) - set(self.names):
            raise ValueError(f"a contrast of {self.names} needs weights summing to 0: {weights}")
        used = [name for name in self.names if weights.get(name, 0.0) != 0.0]
        stacked, notes = _defined_part(np.stack([self.tables[name] for name in used]))
        w = np.array([weights[name] for name in used])
        magnitude = float(np.abs(stacked).max()) if stacked.size else 0.0
        return _crossed(np.tensordot(w, stacked, axes=1), notes, magnitude)

    def difference(self, arm_a: str, arm_b: str) -> Crossed:
        """arm_a - arm_b."""
        return self.contrast({arm_a: 1.0, arm_b: -1.0})


def minimal_detectable_difference(result: Crossed, level: float, power: float = POWER) -> float:
    """The true difference the test at 1 - `level` detects with the given power: the decision
    interval's half-width plus the power quantile of Student's t (Satterthwaite df) x SE."""
    if not result.defined:
        return math.nan
    return result.half_width(level) + float(stats.t.ppf(power, result.df)) * result.se


def adjust(p_values: list[float], alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Bonferroni over a family, by statsmodels' `multipletests`: (rejected, adjusted p). k is
    every p-value given: an undefined one (NaN) stays in the family as p = 1, so it cannot
    reject, and gets NaN back. The one rule the workflow (`decide`) and the simulation decide by."""
    p = np.asarray(p_values, dtype=float)
    if not len(p):
        return np.zeros(0, dtype=bool), np.zeros(0)
    defined = ~np.isnan(p)
    rejected, adjusted, *_ = multipletests(np.where(defined, p, 1.0), alpha, method="bonferroni")
    return rejected & defined, np.where(defined, adjusted, math.nan)


def decide(results: list[Crossed], alpha: float) -> pd.DataFrame:
    """One row per comparison of a family: the test, its Bonferroni adjustment over the family
    (`adjust`: k = the comparisons declared, defined or not: a family does not shrink because
    the data left some undecidable), the decision interval at level 1 - alpha / k (the same test
    inverted) and the verdict: difference, no difference shown, or undefined (the reason in
    `note`)."""
    p_values = [result.p_value() for result in results]
    rejected, adjusted = adjust(p_values, alpha)
    k = max(1, len(results))
    level = 1 - alpha / k
    rows = []
    for result, p, reject, p_adjusted in zip(results, p_values, rejected, adjusted, strict=True):
        row = dict.fromkeys(DECISION_COLUMNS, math.nan)
        row.update(
            estimate=result.estimate,
            family_size=k,
            decision_level=level,
            verdict=UNDEFINED,
            note=result.note,
        )
        if result.defined:
            low, high = result.interval(level)
            row.update(
                se=result.se,
                df=result.df,
                p_value=p,
                p_adjusted=float(p_adjusted),
                ci_low=low,
                ci_high=high,
                verdict=DIFFERENCE if reject else NO_DIFFERENCE,
                mdd=minimal_detectable_difference(result, level),
            )
        elif not result.note.startswith("undefined"):
            reason = (
                f"undefined: zero variance (SE {result.se:.1e}, below {ZERO_VARIANCE:g} of the "
                "scores): every patient and seed gives the same difference"
            )
            row["note"] = "; ".join(filter(None, [reason, result.note]))
        rows.append(row)
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)
