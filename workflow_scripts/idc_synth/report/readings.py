"""The study's tables read as decisions, as data: each Reading says which statement a table
supports (its `statement`), whether it is an advantage, a limitation or neither (its `kind`),
the numbers behind it and the table it comes from. No wording lives here: the summary template
(summary.md.j2) turns each statement into a sentence.

A claim goes only as far as its table's inference: an advantage or a limitation needs a decision
of its declared family (verdict "difference", whose interval is the same test inverted), an
interval that excludes the reference rate (memorization), a patient-level bootstrap interval of
the difference from the held-out floor or cross-patient shift row that excludes 0 (image
quality), or a cost gap beyond run-to-run timing noise; no ranking comes from point estimates.
A table that was not produced gives a NOT_MEASURED reading.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from idc_synth.arms import BASELINE, Arm
from idc_synth.inference import DIFFERENCE, NO_DIFFERENCE, UNDEFINED
from idc_synth.memorization import COPIED
from idc_synth.quality.table import HOLDOUT, MIN_PATIENTS, REAL_VAL
from idc_synth.report.format import is_missing
from idc_synth.simulation import simulated_mdd
from idc_synth.study_checks import MIN_TEST_PATIENTS
from idc_synth.sweep import CONTRAST_COLUMNS, MEAN_EFFECT

ADVANTAGE, LIMITATION, NEUTRAL, NOT_MEASURED = "advantage", "limitation", "neutral", "missing"
KINDS = (ADVANTAGE, LIMITATION, NEUTRAL, NOT_MEASURED)
# Wall times of one run vary by 10-20% under shared load: a smaller cost gap is not called.
COST_MARGIN = 1.25
SKIPPED_SPACE_KEYS = {"inception": "quality.inception_weights"}
# The real reference rows of image_quality.tsv: held-out train patches (the floor) and val
# patients (the shift).
FLOOR, SHIFT = HOLDOUT, REAL_VAL


@dataclass(frozen=True)
class Reading:
    aspect: str  # "primary endpoint", "image quality", ...
    kind: str  # one of KINDS
    statement: str  # which sentence the template writes
    source: str  # the table it is read from (a key of the template's table paths)
    numbers: Mapping[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The primary family


def _reason(note, prefix: str = "undefined: ") -> str:
    return str(note or "undefined").removeprefix(prefix)


def _scope(row: Mapping) -> str:
    """What the verdict is about (primary.tsv's `scope`: one trained generator, or the method
    over k realizations); empty in tables written before the column existed."""
    value = row.get("scope")
    return "" if is_missing(value) else str(value)


def comparison_readings(primary: pd.DataFrame) -> list[Reading]:
    """One reading per primary comparison: its verdict, what it is about (`scope`), and for a
    difference which arm is higher."""
    readings = []
    for row in primary.to_dict("records"):
        higher, lower = (
            (row["arm_a"], row["arm_b"]) if row["difference"] > 0 else (row["arm_b"], row["arm_a"])
        )
        numbers = row | {"higher": higher, "lower": lower, "why": _reason(row["note"])}
        numbers["scope"] = _scope(row)
        readings.append(Reading("primary endpoint", NEUTRAL, row["verdict"], "primary", numbers))
    return readings


def headline(primary: pd.DataFrame) -> Reading:
    """The conclusion's opening: no comparison, no decision possible, k differences, or none."""
    verdicts = primary["verdict"] if len(primary) else pd.Series(dtype=str)
    if primary.empty:
        statement = "single_arm"
    elif (verdicts == UNDEFINED).all():
        statement = UNDEFINED
    elif (verdicts == DIFFERENCE).any():
        statement = DIFFERENCE
    else:
        statement = NO_DIFFERENCE
    numbers = {"shown": int((verdicts == DIFFERENCE).sum()), "comparisons": len(primary)}
    return Reading("primary endpoint", NEUTRAL, statement, "primary", numbers)


def family(primary: pd.DataFrame) -> dict[str, Any]:
    """What the primary family compares, from its rows: generators vs the baseline, vs the
    classic augmentation arm chosen on val (named), combined arms vs their classic arm,
    selected arms (vs the baseline and their generator's plain arm)."""
    kinds = [
        (Arm.parse(a).kind, Arm.parse(b).kind, b)
        for a, b in zip(primary["arm_a"], primary["arm_b"], strict=True)
    ]
    best = [b for a, kind, b in kinds if a == "generator" and kind == "classic"]
    return {
        "vs_baseline": ("generator", "baseline", BASELINE) in kinds,
        "best_classic": best[0] if best else None,
        "combined": any(a == "combined" for a, _, _ in kinds),
        "selected": any(a == "selected" for a, _, _ in kinds),
    }


def design(primary: pd.DataFrame, calibration: pd.DataFrame | None) -> dict[str, Any]:
    """What this design can decide before any verdict: its size, each comparison's MDD from
    this run's variance, and the simulated MDD per scenario (None: beyond the largest planted
    difference)."""
    first = primary.iloc[0]
    reach = []
    if calibration is not None and not calibration.empty:
        planted = calibration[calibration["read"] == "primary"]
        reach = [
            {"scenario": scenario, "mdd": None if is_missing(value) else value}
            for (scenario, *_), value in simulated_mdd(planted).items()
        ]
        largest = planted["true_difference"].max()
    return {
        "patients": int(first["n_patients"]),
        "seeds": int(first["n_seeds"]),
        "family_size": int(first["family_size"]),
        "alpha": float(first["alpha"]),
        "note": first["note"],
        "decidable": bool((primary["verdict"] != UNDEFINED).any()),
        "observed": [r for r in primary.to_dict("records") if r["verdict"] != UNDEFINED],
        "simulated": reach,
        "largest_planted": largest if reach else None,
    }


def single_realization_arms(primary: pd.DataFrame) -> list[str]:
    """Arms whose verdicts rest on one trained generator (every seed's classifier trained on
    patches of that one training run, so the test's seed variance holds none of its own)."""
    single = primary[(primary["generator_realizations"] == 1) & (primary["n_seeds"] > 1)]
    return list(dict.fromkeys(single["arm_a"]))


def spread_change(row: Mapping) -> str:
    """'widens' / 'narrows' only on a verdict of difference; else the verdict itself."""
    if row["verdict"] == DIFFERENCE:
        return "widens" if row["spread_difference"] > 0 else "narrows"
    return row["verdict"]


def headline_undefined(summary_ci: pd.DataFrame) -> str | None:
    """Why the headline intervals are undefined, when any is: too few patients or constant."""
    undefined = summary_ci["ci_low"].isna() | (summary_ci["ci_low"] == summary_ci["ci_high"])
    if not undefined.any():
        return None
    return "few_patients" if int(summary_ci["n_patients"].iloc[0]) < 2 else "constant"


# ---------------------------------------------------------------------------------------------
# Each generator's advantages and limitations


def _versus(row: Mapping, arm: str) -> tuple[str, float, float, float]:
    """A primary comparison from ``arm``'s side: (other arm, difference, ci_low, ci_high)."""
    if row["arm_a"] == arm:
        return row["arm_b"], row["difference"], row["ci_low"], row["ci_high"]
    return row["arm_a"], -row["difference"], -row["ci_high"], -row["ci_low"]


def primary_readings(arm: str, primary: pd.DataFrame) -> list[Reading]:
    """Every primary comparison that involves ``arm``, from its side; a combined arm's (``arm``
    on top of a classic augmentation vs that augmentation alone) is marked `on_top`."""
    readings = []
    for row in primary.to_dict("records"):
        combined = Arm.parse(row["arm_a"])
        on_top = combined.kind == "combined" and combined.generator == arm
        if arm not in (row["arm_a"], row["arm_b"]) and not on_top:
            continue
        other, difference, low, high = _versus(row, row["arm_a"] if on_top else arm)
        kind = NOT_MEASURED if row["verdict"] == UNDEFINED else NEUTRAL  # not tested: no claim
        if row["verdict"] == DIFFERENCE:
            kind = ADVANTAGE if difference > 0 else LIMITATION
        numbers = {
            "other": other,
            "on_top": on_top,
            "metric": row["metric"],
            "difference": difference,
            "low": low,
            "high": high,
            "note": row.get("note") or "",
            "why": _reason(row.get("note")),
            "p_adjusted": row["p_adjusted"],
            "mdd": row["mdd"],
            "scope": _scope(row),
        }
        readings.append(Reading("primary endpoint", kind, row["verdict"], "primary", numbers))
    return readings


def skipped_quality(image_quality: pd.DataFrame) -> pd.Series:
    """Which image-quality rows were skipped (a feature space without its weights)."""
    if "status" not in image_quality:
        return pd.Series(False, index=image_quality.index)
    return image_quality["status"].fillna("").astype(str).str.startswith("skipped")


def _compared(row: Mapping, score: str, other: str) -> tuple[float, float] | None:
    """The patient-bootstrap interval of (row - other row) for a score ("floor" or "shift"),
    or None when the table has none or it is undefined."""
    low, high = row.get(f"{score}_vs_{other}_low"), row.get(f"{score}_vs_{other}_high")
    if is_missing(low) or is_missing(high):
        return None
    return float(low), float(high)


def _side(bounds: tuple[float, float] | None) -> int | None:
    """+1 / -1 when the interval lies above / below 0, 0 when it holds 0, None: undefined."""
    if bounds is None:
        return None
    return 1 if bounds[0] > 0 else -1 if bounds[1] < 0 else 0


def _undefined_why(row: Mapping) -> str:
    """Why a row has no interval: the reason the bootstrap wrote into its note."""
    note = str(row.get("note") or "")
    reason = next((part for part in note.split("; ") if "intervals undefined" in part), "")
    return reason.removeprefix("intervals undefined: ") or "no patient-level interval"


def _score(rows: Mapping[str, Mapping], score: str) -> dict[str, Any]:
    """A score of the generator next to the floor and shift rows, with the interval of its
    difference from the shift (None when undefined)."""
    return {
        "score": score,
        "value": rows["ours"][score],
        "floor": rows.get(FLOOR, {}).get(score, math.nan),
        "shift": rows.get(SHIFT, {}).get(score, math.nan),
        "minus_shift": _compared(rows["ours"], score, "shift"),
    }


def _distance_reading(space: str, label, rows: Mapping[str, Mapping]) -> Reading | None:
    """FID and KID of the generator against the val shift row, called only where the
    patient-level interval of the paired difference excludes 0 (the floor row is context)."""
    generator = rows["ours"]
    scores = [s for s in ("fid", "kid") if not is_missing(generator.get(s))]
    if not scores:
        return None
    numbers = {
        "space": space,
        "label": label,
        "scores": [_score(rows, s) for s in scores],
        "why": _undefined_why(generator),
    }
    sides = [_side(_compared(generator, s, "shift")) for s in scores]
    floor = [_side(_compared(generator, s, "floor")) for s in scores]
    kind = NEUTRAL
    if None in sides:
        statement = "undefined"
    elif all(side == 1 for side in sides):
        kind, statement = LIMITATION, "beyond_shift"
    elif all(side == -1 for side in sides):
        kind, statement = ADVANTAGE, "within_shift"
        numbers["as_floor"] = all(side == 0 for side in floor)
    elif 1 in sides and -1 in sides:
        statement = "scores_disagree"
    elif any(sides):  # one score decided, the other not: say which, claim nothing
        statement = "one_score"
        numbers["direction"] = "beyond" if 1 in sides else "within"
        numbers["decided"] = [s for s, side in zip(scores, sides, strict=True) if side]
        numbers["undecided"] = [s for s, side in zip(scores, sides, strict=True) if not side]
    else:
        statement = "as_shift"
    return Reading("image quality", kind, f"distance.{statement}", "image_quality", numbers)


def _share_readings(space: str, label, rows: Mapping[str, Mapping]) -> list[Reading]:
    """Precision (fidelity) and recall (coverage) against the val shift row, called only where
    the patient-level interval of the difference excludes 0; scores on the same side share a
    reading."""
    generator, shift = rows["ours"], rows.get(SHIFT, {})
    statements = {
        1: (ADVANTAGE, "above"),
        -1: (LIMITATION, "below"),
        0: (NEUTRAL, "as_shift"),
        None: (NEUTRAL, "undefined"),
    }
    groups: dict[int | None, list[dict]] = {}
    for score in ("precision", "recall"):
        ours, theirs = generator.get(score), shift.get(score)
        if is_missing(ours) or is_missing(theirs):
            continue
        bounds = _compared(generator, score, "shift")
        groups.setdefault(_side(bounds), []).append(
            {"score": score, "value": ours, "shift": theirs, "minus_shift": bounds}
        )
    return [
        Reading(
            "image quality",
            statements[side][0],
            f"share.{statements[side][1]}",
            "image_quality",
            {"space": space, "label": label, "scores": scores, "why": _undefined_why(generator)},
        )
        for side, scores in groups.items()
    ]


def _spectral_readings(label, rows: Mapping[str, Mapping]) -> list[Reading]:
    """The periodic grid spike against the held-out floor (real train has none), and the power
    spectrum's distance from real train against the val shift; intervals decide."""
    generator = rows["ours"]
    readings = []
    why = _undefined_why(generator)
    if not is_missing(generator.get("spike_ratio")):
        bounds = _compared(generator, "spike_ratio", "floor")
        kind, statement = NEUTRAL, "undefined" if bounds is None else "no_grid"
        if bounds is not None and bounds[0] > 0:
            kind, statement = LIMITATION, "grid"
        numbers = {
            "label": label,
            "value": generator["spike_ratio"],
            "floor": rows.get(FLOOR, {}).get("spike_ratio", math.nan),
            "minus_floor": bounds,
            "why": why,
        }
        readings.append(
            Reading("image quality", kind, f"spike.{statement}", "image_quality", numbers)
        )
    if not is_missing(generator.get("spectral_distance")):
        side = _side(_compared(generator, "spectral_distance", "shift"))
        kind, statement = {
            1: (LIMITATION, "farther"),
            -1: (ADVANTAGE, "closer"),
            0: (NEUTRAL, "as_shift"),
            None: (NEUTRAL, "undefined"),
        }[side]
        numbers = {"label": label, "score": _score(rows, "spectral_distance"), "why": why}
        readings.append(
            Reading("image quality", kind, f"spectrum.{statement}", "image_quality", numbers)
        )
    return readings


def _copy_reading(space: str, rows: list[Mapping]) -> Reading | None:
    """Near-copy share (with its interval) against the rate a fresh real patch is flagged at.
    Fewer copies than expected is no advantage: patches far from every train patch (low
    fidelity) score so too."""
    measured = [r for r in rows if not is_missing(r.get("near_copy_share"))]
    if not measured:
        return None
    # a copy shown is a copy; any other claim needs patient-level intervals, which too few train
    # patients leave undefined (patches of two patients are no sample)
    unjudged = [
        r
        for r in measured
        if is_missing(r["near_copy_low"])
        or is_missing(r["near_copy_high"])
        or "intervals undefined" in str(r.get("note") or "")
    ]
    if any(r["near_copy_low"] > r["near_copy_expected"] for r in measured):
        kind, statement = LIMITATION, "excess"
    elif unjudged:
        numbers = {"space": space, "classes": measured, "why": _undefined_why(unjudged[0])}
        return Reading("memorization", NOT_MEASURED, "copies.undefined", "image_quality", numbers)
    elif all(r["near_copy_high"] < r["near_copy_expected"] for r in measured):
        kind, statement = NEUTRAL, "fewer"
    else:
        kind, statement = NEUTRAL, "as_expected"
    numbers = {"space": space, "classes": measured}
    return Reading("memorization", kind, f"copies.{statement}", "image_quality", numbers)


def split_shortfalls(split_info: Mapping | None) -> list[dict]:
    """Each split with fewer patients than the design's claims need: test for the primary test,
    train for image-quality and memorization claims, val for the cross-patient shift."""
    sizes = (split_info or {}).get("split_sizes") or {}
    needs = (
        ("test", MIN_TEST_PATIENTS, "the primary test"),
        ("train", MIN_PATIENTS, "image-quality and memorization claims"),
        ("val", MIN_PATIENTS, "the val shift image quality is judged against"),
    )
    return [
        {"split": split, "patients": sizes[split], "needed": needed, "for": purpose}
        for split, needed, purpose in needs
        if split in sizes and sizes[split] < needed
    ]


def quality_readings(arm: str, image_quality: pd.DataFrame | None) -> list[Reading]:
    """Distances (FID/KID), precision/recall, spectral fidelity and near copies of ``arm``'s
    patches per feature space and class, against the held-out floor and the val shift, decided
    by the patient-level bootstrap intervals; skipped spaces with the key that measures them."""
    if image_quality is None or image_quality.empty:
        return [Reading("image quality", NOT_MEASURED, "quality.not_run", "image_quality")]
    readings = []
    skipped = skipped_quality(image_quality)
    ours = image_quality["generator"].isin([arm, FLOOR, SHIFT])
    for (space, status), group in image_quality[skipped & ours].groupby(
        ["feature_space", "status"], sort=False
    ):
        numbers = {"space": space, "status": status, "key": SKIPPED_SPACE_KEYS.get(space)}
        if skipped[image_quality["feature_space"] == space].all():
            statement = "quality.space_skipped"
        else:
            statement = "quality.rows_skipped"
            numbers["rows"] = group[["generator", "label"]].to_dict("records")
        readings.append(Reading("image quality", NOT_MEASURED, statement, "image_quality", numbers))
    for space, in_space in image_quality[~skipped].groupby("feature_space", sort=False):
        copies = []
        for label, group in in_space.groupby("label", sort=False):
            # This arm's row as "ours", next to the holdout (floor) and real_val (shift) rows.
            rows = {
                ("ours" if source == arm else source): record
                for source, record in zip(group["generator"], group.to_dict("records"), strict=True)
            }
            if "ours" not in rows:
                continue
            copies.append(rows["ours"])
            distance = _distance_reading(space, label, rows)
            readings += [distance] if distance else []
            readings += _share_readings(space, label, rows)
            readings += _spectral_readings(label, rows) if space == "pixels" else []
        copy = _copy_reading(space, copies)
        readings += [copy] if copy else []
    return readings


def memorization_readings(arm: str, memorization: pd.DataFrame | None) -> list[Reading]:
    """Train patients whose near copies among ``arm``'s patches exceed their held-out floor
    (Holm over the patients of a feature space), a limitation; else a neutral reading. Nothing
    when the table is absent (quality_readings says why)."""
    if memorization is None:
        return []
    ours = memorization[memorization["generator"] == arm]
    if ours.empty:
        return []
    copied = ours[ours["verdict"] == COPIED]
    if copied.empty:
        numbers = {
            "patients": ours["patient"].nunique(),
            "spaces": list(dict.fromkeys(ours["feature_space"])),
            "needed": MIN_PATIENTS,
        }
        if numbers["patients"] < MIN_PATIENTS:  # too few to claim that none was copied
            return [
                Reading("memorization", NOT_MEASURED, "patients.too_few", "memorization", numbers)
            ]
        return [Reading("memorization", NEUTRAL, "patients.none_copied", "memorization", numbers)]
    numbers = {"copied": copied.to_dict("records")}
    return [Reading("memorization", LIMITATION, "patients.copied", "memorization", numbers)]


def tstr_readings(arm: str, tstr: pd.DataFrame | None) -> list[Reading]:
    """What a classifier trained on ``arm``'s patches alone reaches on the real test split."""
    if tstr is None or tstr.empty:
        return [Reading("train on synthetic", NOT_MEASURED, "tstr.not_run", "tstr")]
    notes = tstr.get("note", pd.Series("", index=tstr.index)).fillna("").astype(str)
    ran = tstr[~notes.str.startswith("skipped")]
    ours = ran[ran["arm"] == f"{arm}_only"]
    real = ran[ran["arm"] == BASELINE]
    if ours.empty:
        return [Reading("train on synthetic", NOT_MEASURED, "tstr.no_arm", "tstr", {"arm": arm})]
    numbers = {
        "roc_auc": ours["roc_auc"].mean(),
        "seeds": len(ours),
        "real_roc_auc": real["roc_auc"].mean(),
    }
    return [Reading("train on synthetic", NEUTRAL, "tstr.measured", "tstr", numbers)]


def _generator_cost(costs: pd.DataFrame, arm: str) -> pd.DataFrame:
    pattern = re.compile(rf"(train|sample)_{re.escape(arm)}(_\w+)?")
    return costs[[bool(pattern.fullmatch(str(rule))) for rule in costs["rule"]]]


def cost_readings(arm: str, costs: pd.DataFrame | None, generators: list[str]) -> list[Reading]:
    """Training + sampling time of ``arm``'s generator, in units of one classifier's training,
    and against the other generators (called only beyond COST_MARGIN)."""
    ours = _generator_cost(costs, arm) if costs is not None else pd.DataFrame()
    if ours.empty:
        return [Reading("cost", NOT_MEASURED, "cost.no_rows", "cost", {"arm": arm})]
    wall = float(ours["wall_s"].sum())
    numbers: dict[str, Any] = {
        "wall": wall,
        "cpu": float(ours["cpu_s"].sum()),
        "rules": ours[["rule", "wall_s"]].to_dict("records"),
        "per_classifier": None,
        "margin": COST_MARGIN,
    }
    classifier = costs[costs["rule"] == "train_classifier"]
    if len(classifier) and classifier["jobs"].iloc[0]:
        numbers["per_classifier"] = float(classifier["wall_s"].iloc[0]) / float(
            classifier["jobs"].iloc[0]
        )
    others = {other: _generator_cost(costs, other) for other in generators if other != arm}
    others = {other: float(rows["wall_s"].sum()) for other, rows in others.items() if len(rows)}
    numbers["others"] = others
    if others and all(wall * COST_MARGIN < value for value in others.values()):
        kind, statement = ADVANTAGE, "cost.cheapest"
    elif others and not any(wall > value * COST_MARGIN for value in others.values()):
        kind, statement = NEUTRAL, "cost.within_margin"
    else:
        kind, statement = LIMITATION, "cost.extra"
    return [Reading("cost", kind, statement, "cost", numbers)]


def robustness_readings(arm: str, robustness: pd.DataFrame | None) -> list[Reading]:
    """Degradation under each perturbation's strongest strength vs the baseline's, as its
    declared family decides it (Bonferroni over every generator and perturbation)."""
    if robustness is None or robustness.empty:
        return [Reading("robustness", NOT_MEASURED, "robustness.not_run", "robustness")]
    robustness = robustness.fillna({"comparison": "", "verdict": "", "note": "", "role": ""})
    ours = robustness[
        (robustness["comparison"] == f"{arm} vs {BASELINE}") & (robustness["role"] == "decision")
    ]
    readings = [
        Reading(
            "robustness",
            ADVANTAGE if r["degradation_difference"] > 0 else LIMITATION,
            "robustness.difference",
            "robustness",
            r,
        )
        for r in ours[ours["verdict"] == DIFFERENCE].to_dict("records")
    ]
    # "no difference shown" needs a test; an undefined one is "not tested", never worded so
    for verdict, kind, statement in (
        (NO_DIFFERENCE, NEUTRAL, "robustness.none_shown"),
        (UNDEFINED, NOT_MEASURED, "robustness.not_tested"),
    ):
        rows = ours[ours["verdict"] == verdict]
        if not rows.empty:
            numbers = {
                "perturbations": list(dict.fromkeys(rows["perturbation"])),
                "why": rows["note"].iloc[0],
            }
            readings.append(Reading("robustness", kind, statement, "robustness", numbers))
    return readings


def calibration_readings(arm: str, calibration: pd.DataFrame | None) -> list[Reading]:
    """Brier and ECE of ``arm`` next to the baseline's: secondary, no between-arm test."""
    source = "probability_calibration"
    if calibration is None or calibration.empty:
        return [Reading("calibration", NOT_MEASURED, "calibration.not_run", source)]
    means = calibration[calibration["seed"].astype(str) == "mean"].fillna({"note": ""})
    cells = []
    for metric in ("brier", "ece"):
        rows = means[means["metric"] == metric].set_index("arm")
        if arm in rows.index and BASELINE in rows.index:
            ours, baseline = rows.loc[arm].to_dict(), rows.loc[BASELINE].to_dict()
            cells.append({"metric": metric, "ours": ours, "baseline": baseline})
    if not cells:
        return [Reading("calibration", NOT_MEASURED, "calibration.no_rows", source)]
    return [Reading("calibration", NEUTRAL, "calibration.measured", source, {"cells": cells})]


def contrast_rows(contrasts: pd.DataFrame) -> list[dict]:
    """The sweep's declared contrasts as records, checked for the columns they are read by."""
    missing = [column for column in CONTRAST_COLUMNS if column not in contrasts]
    if missing:
        raise ValueError(f"efficiency contrasts without the columns {missing}")
    return contrasts.fillna({"note": ""}).to_dict("records")


def efficiency_readings(arm: str, contrasts: pd.DataFrame | None) -> list[Reading]:
    """The generator's declared data-efficiency contrasts: an advantage where its mean effect
    over the map is a positive difference, a limitation where it is a negative one."""
    source = "efficiency_contrasts"
    if contrasts is None or contrasts.empty:
        return [Reading("data efficiency", NOT_MEASURED, "efficiency.not_run", source)]
    rows = [row for row in contrast_rows(contrasts) if row["arm"] == arm]
    if not rows:
        return [
            Reading("data efficiency", NOT_MEASURED, "efficiency.no_cells", source, {"arm": arm})
        ]
    mean = next((row for row in rows if row["contrast"] == MEAN_EFFECT), None)
    kind = NEUTRAL
    if mean is not None and mean["verdict"] == DIFFERENCE:
        kind = ADVANTAGE if mean["estimate"] > 0 else LIMITATION
    return [Reading("data efficiency", kind, "efficiency.contrasts", source, {"contrasts": rows})]


def generator_readings(arm: str, generators: list[str], tables: Mapping) -> list[Reading]:
    """Everything the tables say about one generator, in the summary's order. ``tables``: the
    frames by name (missing or None when not produced)."""
    return [
        *primary_readings(arm, tables["primary"]),
        *quality_readings(arm, tables.get("image_quality")),
        *memorization_readings(arm, tables.get("memorization")),
        *tstr_readings(arm, tables.get("tstr")),
        *cost_readings(arm, tables.get("costs"), generators),
        *robustness_readings(arm, tables.get("robustness")),
        *calibration_readings(arm, tables.get("probability_calibration")),
        *efficiency_readings(arm, tables.get("efficiency_contrasts")),
    ]
