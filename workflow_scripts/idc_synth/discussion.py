"""The summary's reading of the study: one data-efficiency sentence per generator, and each
generator's advantages and limitations, every line derived from a measured table and naming it.

A claim goes only as far as its table's inference: "helps", "hurts", "advantage" and
"limitation" need a decision of its declared family (verdict "difference", whose interval is the
same test inverted), an interval that excludes the reference rate (memorization), a patient-level
bootstrap interval of the difference from the held-out floor or cross-patient shift row that
excludes 0 (image quality), or a cost gap beyond run-to-run timing noise; no ranking comes from
point estimates, and everything else is phrased neutrally ("no difference shown"). A table that
was not produced says so, with the config key that produces it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from idc_synth.arms import BASELINE, Arm
from idc_synth.inference import DIFFERENCE, NO_DIFFERENCE, POWER
from idc_synth.metrics import METRIC_LABELS
from idc_synth.report_format import (
    format_value,
    interval,
    is_missing,
    markdown_table,
    percent,
    signed,
)
from idc_synth.sweep import CONTRAST_COLUMNS, MEAN_EFFECT

TABLES = {
    name: f"results/metrics/{name}.tsv"
    for name in (
        "primary",
        "image_quality",
        "memorization",
        "tstr",
        "cost",
        "robustness",
        "probability_calibration",
        "efficiency",
        "efficiency_contrasts",
    )
}
SWEEP_OFF = "Data-efficiency sweep not run (sweep.enabled: false)."
# Wall times of one run vary by 10-20% under shared load: a smaller cost gap is not called.
COST_MARGIN = 1.25
SKIPPED_SPACE_KEYS = {"inception": "quality.inception_weights"}
# The real reference rows of image_quality.tsv (idc_synth.quality.REFERENCES; not imported,
# that module pulls in torch): held-out train patches (the floor) and val patients (the shift).
FLOOR, SHIFT = "holdout", "real_val"
COPIED = "copied beyond the floor"  # memorization.tsv's verdict (idc_synth.memorization, torch)

ADVANTAGE, LIMITATION, NEUTRAL, NOT_MEASURED = "advantage", "limitation", "neutral", "missing"
HEADINGS = {
    ADVANTAGE: "Advantages",
    LIMITATION: "Limitations",
    NEUTRAL: "Neither shown (no difference, secondary or descriptive)",
    NOT_MEASURED: "Not measured",
}


# ---------------------------------------------------------------------------------------------
# Data efficiency


def _contrast_numbers(row: dict) -> str:
    return (
        f"{signed(row['estimate'])}, {percent(row['decision_level'])} CI "
        f"{interval(row['ci_low'], row['ci_high'], row['note'])}, adjusted p "
        f"{format_value(row['p_adjusted'])}"
    )


def contrast_phrase(row: dict) -> str:
    """One declared contrast of the map in words, as far as its verdict goes."""
    if row["contrast"] == MEAN_EFFECT:
        if row["verdict"] == DIFFERENCE:
            what = "helps on average over the map" if row["estimate"] > 0 else "hurts on average"
        elif row["verdict"] == NO_DIFFERENCE:
            what = "no average effect over the map shown"
        else:
            what = "average effect undefined"
    elif row["verdict"] == DIFFERENCE:
        scarce = "more" if row["estimate"] > 0 else "less"
        what = f"its effect is {scarce} favourable with scarce real data"
    elif row["verdict"] == NO_DIFFERENCE:
        what = "no change of its effect with the real fraction shown"
    else:
        what = "change with the real fraction undefined"
    return f"{what} ({row['description']}: {_contrast_numbers(row)})"


def efficiency_sentences(contrasts: pd.DataFrame | None) -> list[str]:
    """One sentence per generator of the sweep from its declared contrasts."""
    if contrasts is None or contrasts.empty:
        return [SWEEP_OFF]
    missing = [column for column in CONTRAST_COLUMNS if column not in contrasts]
    if missing:
        raise ValueError(f"efficiency contrasts without the columns {missing}")
    rows = contrasts.fillna({"note": ""}).to_dict("records")
    return [
        f"{arm}: " + "; ".join(contrast_phrase(row) for row in rows if row["arm"] == arm) + "."
        for arm in dict.fromkeys(row["arm"] for row in rows)
    ]


def equivalent_sentences(equivalents: pd.DataFrame | None) -> list[str]:
    """Each generator cell below the full train set as real train patients, or why the map
    cannot say (descriptive: no test)."""
    if equivalents is None or equivalents.empty:
        return []
    sentences = []
    for row in equivalents.fillna({"note": ""}).to_dict("records"):
        cell = (
            f"{row['arm']} at {percent(row['real_fraction'])} real data "
            f"({int(row['train_patients'])} train patients), synthetic ratio "
            f"{row['synthetic_ratio']:g}"
        )
        if is_missing(row["equivalent_patients"]):
            sentences.append(f"{cell}: no real-patient equivalent ({row['note']}).")
            continue
        low, high = row["equivalent_low"], row["equivalent_high"]
        span = (
            "its interval reaches outside the curve"
            if is_missing(low) or is_missing(high)
            else f"interval [{low:.1f}, {high:.1f}] patients"
        )
        sentences.append(
            f"{cell}: worth about {row['gain_patients']:+.1f} real train patients (as good as "
            f"the baseline with {row['equivalent_patients']:.1f}; {span})."
        )
    return sentences


def equivalents_paragraph(equivalents: pd.DataFrame | None) -> list[str]:
    sentences = equivalent_sentences(equivalents)
    if not sentences:
        return []
    return [
        "In real train patients (`results/metrics/efficiency_equivalents.tsv`): where the "
        "real-only learning curve reaches each cell's score, interpolated between the fractions "
        "(descriptive; the interval maps the cell's interval through the curve, whose own "
        "uncertainty it leaves out):",
        "",
        *(f"- {sentence}" for sentence in sentences),
        "",
    ]


def efficiency_section(
    efficiency: pd.DataFrame | None,
    contrasts: pd.DataFrame | None = None,
    equivalents: pd.DataFrame | None = None,
) -> list[str]:
    """The map's declared contrasts, one sentence per generator, the generator cells as real
    train patients, then its cells."""
    lines = ["## Data efficiency", ""]
    if efficiency is None or efficiency.empty:
        return [*lines, SWEEP_OFF, ""]
    metric = METRIC_LABELS.get(efficiency["metric"].iloc[0], efficiency["metric"].iloc[0])
    level = percent(efficiency["confidence_level"].iloc[0])
    rows = efficiency.to_dict("records")
    table = pd.DataFrame(
        {
            "arm": [r["arm"] for r in rows],
            "real fraction": [percent(r["real_fraction"]) for r in rows],
            "synthetic ratio": [f"{r['synthetic_ratio']:g}" for r in rows],
            "train patients": [r["train_patients"] for r in rows],
            metric: [
                f"{format_value(r['value'])} {interval(r['value_ci_low'], r['value_ci_high'])}"
                for r in rows
            ],
            f"difference (unadjusted {level} CI)": [
                ""
                if is_missing(r["difference"])
                else f"{signed(r['difference'])} {interval(r['ci_low'], r['ci_high'])}"
                for r in rows
            ],
        }
    )
    return [
        *lines,
        f"Classifiers trained on nested subsets of the train patients, each with synthetic "
        f"patches from generators trained on that subset only; difference = {metric} of the "
        "cell − the real-only classifier of the same fraction, seed-averaged. The map decides "
        "only through its declared contrasts per generator (its mean effect over the cells, "
        "and the effect at the smallest real fraction minus at the largest), Bonferroni over "
        "all of them, each with its inverted-test interval "
        "(`results/metrics/efficiency_contrasts.tsv`); a single cell's interval is unadjusted "
        "and decides nothing (`results/metrics/efficiency.tsv`, heatmap and learning curve "
        "under `results/figures/`).",
        "",
        *(f"- {sentence}" for sentence in efficiency_sentences(contrasts)),
        "",
        *equivalents_paragraph(equivalents),
        markdown_table(table),
        "",
    ]


# ---------------------------------------------------------------------------------------------
# Advantages and limitations


@dataclass(frozen=True)
class Finding:
    aspect: str
    kind: str  # ADVANTAGE | LIMITATION | NEUTRAL | NOT_MEASURED
    text: str
    table: str  # the key of TABLES it is read from

    def line(self) -> str:
        return f"- {self.aspect}: {self.text} ({TABLES[self.table]})"


def _versus(row: dict, arm: str) -> tuple[str, float, float, float]:
    """A primary comparison from ``arm``'s side: (other arm, difference, ci_low, ci_high)."""
    if row["arm_a"] == arm:
        return row["arm_b"], row["difference"], row["ci_low"], row["ci_high"]
    return row["arm_a"], -row["difference"], -row["ci_high"], -row["ci_low"]


def primary_findings(arm: str, primary: pd.DataFrame) -> list[Finding]:
    """Every primary comparison that involves ``arm``, with its verdict; a combined arm's
    (``arm`` on top of a classic augmentation vs that augmentation alone) reads as
    "on top of <classic>: ... than <classic> alone"."""
    findings = []
    for row in primary.to_dict("records"):
        combined = Arm.parse(row["arm_a"])
        on_top = combined.kind == "combined" and combined.generator == arm
        if arm not in (row["arm_a"], row["arm_b"]) and not on_top:
            continue
        other, difference, low, high = _versus(row, row["arm_a"] if on_top else arm)
        prefix, other = (f"on top of {other}: ", f"{other} alone") if on_top else ("", other)
        metric = METRIC_LABELS.get(row["metric"], row["metric"])
        numbers = (
            f"{signed(difference)} {interval(low, high, row.get('note') or '')}, "
            f"adjusted p {format_value(row['p_adjusted'])}"
        )
        verdict = row["verdict"]
        if verdict == DIFFERENCE:
            kind = ADVANTAGE if difference > 0 else LIMITATION
            text = f"{'higher' if difference > 0 else 'lower'} {metric} than {other} ({numbers})"
        elif verdict == NO_DIFFERENCE:
            kind = NEUTRAL
            text = (
                f"no difference in {metric} vs {other} shown ({numbers}; detectable with "
                f"{POWER:.0%} power: about {format_value(row['mdd'])})"
            )
        else:
            why = str(row.get("note") or "undefined").removeprefix("undefined: ")
            kind, text = NEUTRAL, f"vs {other}: no conclusion can be drawn ({why})"
        findings.append(Finding("primary endpoint", kind, prefix + text, "primary"))
    return findings


def skipped_quality(image_quality: pd.DataFrame) -> pd.Series:
    """Which image-quality rows were skipped (a feature space without its weights)."""
    if "status" not in image_quality:
        return pd.Series(False, index=image_quality.index)
    return image_quality["status"].fillna("").astype(str).str.startswith("skipped")


def _compared(row: dict, score: str, other: str) -> tuple[float, float] | None:
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


def _undefined_why(row: dict) -> str:
    """Why a row has no interval: the reason the bootstrap wrote into its note."""
    note = str(row.get("note") or "")
    reason = next((part for part in note.split("; ") if "intervals undefined" in part), "")
    return reason.removeprefix("intervals undefined: ") or "no patient-level interval"


def _score_text(rows: dict[str, dict], score: str) -> str:
    """'FID 9.000 vs held-out floor 0.500, val shift 1.500 (minus shift [6.1, 8.9])'."""
    ours, floor, shift = rows["ours"], rows.get(FLOOR, {}), rows.get(SHIFT, {})
    label = score.replace("_", " ") if "_" in score else score.upper()
    text = (
        f"{label} {format_value(ours[score])} vs held-out floor "
        f"{format_value(floor.get(score, math.nan))}, val shift "
        f"{format_value(shift.get(score, math.nan))}"
    )
    bounds = _compared(ours, score, "shift")
    return text + (f" (minus shift {interval(*bounds)})" if bounds else "")


QUALITY_INTERVAL = "patient-level bootstrap interval"


def _distance_finding(space: str, label, rows: dict[str, dict]) -> Finding | None:
    """FID and KID of the generator against the val shift row, called only where the
    patient-level interval of the paired difference excludes 0 (the floor row is context)."""
    generator = rows["ours"]
    scores = [s for s in ("fid", "kid") if not is_missing(generator.get(s))]
    if not scores:
        return None
    where = f"class {label}, {space} space: " + "; ".join(_score_text(rows, s) for s in scores)
    sides = [_side(_compared(generator, s, "shift")) for s in scores]
    floor = [_side(_compared(generator, s, "floor")) for s in scores]
    if None in sides:
        reading = f"no comparison claimed ({_undefined_why(generator)})"
        return Finding("image quality", NEUTRAL, f"{where}: {reading}", "image_quality")
    if all(side == 1 for side in sides):
        kind = LIMITATION
        reading = "farther from real train than patches of unseen patients (beyond the shift)"
    elif all(side == -1 for side in sides):
        kind, reading = ADVANTAGE, "closer to real train than patches of unseen patients"
        if all(side == 0 for side in floor):
            reading += ", not shown to differ from the held-out floor"
    elif 1 in sides and -1 in sides:
        kind, reading = NEUTRAL, "FID and KID disagree about the cross-patient shift"
    elif any(sides):  # one score decided, the other not: say which, claim nothing
        decided = [s.upper() for s, side in zip(scores, sides, strict=True) if side]
        undecided = [s.upper() for s, side in zip(scores, sides, strict=True) if not side]
        direction = "beyond" if 1 in sides else "within"
        kind = NEUTRAL
        reading = f"{direction} the cross-patient shift by {', '.join(decided)} only, not by " + (
            ", ".join(undecided)
        )
    else:
        kind, reading = NEUTRAL, "not shown to differ from the cross-patient shift"
    reading += f"; {QUALITY_INTERVAL}s of the differences"
    return Finding("image quality", kind, f"{where}: {reading}", "image_quality")


def _share_findings(space: str, label, rows: dict[str, dict]) -> list[Finding]:
    """Precision (fidelity) and recall (coverage) against the val shift row, called only where
    the patient-level interval of the difference excludes 0."""
    generator, shift = rows["ours"], rows.get(SHIFT, {})
    readings = {
        1: (ADVANTAGE, "above val patches'"),
        -1: (LIMITATION, "below val patches' (lower fidelity or coverage of the real patches)"),
        0: (NEUTRAL, f"not shown to differ from val patches' ({QUALITY_INTERVAL})"),
        None: (NEUTRAL, f"no comparison claimed ({_undefined_why(generator)})"),
    }
    groups: dict[int | None, list[str]] = {}
    for score in ("precision", "recall"):
        ours, theirs = generator.get(score), shift.get(score)
        if is_missing(ours) or is_missing(theirs):
            continue
        bounds = _compared(generator, score, "shift")
        text = f"{score} {format_value(ours)} vs {format_value(theirs)}"
        text += f" (difference {interval(*bounds)})" if bounds else ""
        groups.setdefault(_side(bounds), []).append(text)
    return [
        Finding(
            "image quality",
            readings[side][0],
            f"class {label}, {space} space: {', '.join(texts)}: {readings[side][1]}",
            "image_quality",
        )
        for side, texts in groups.items()
    ]


def _spectral_findings(label, rows: dict[str, dict]) -> list[Finding]:
    """The periodic grid spike against the held-out floor (real train has none), and the power
    spectrum's distance from real train against the val shift; intervals decide."""
    generator = rows["ours"]
    findings = []
    if not is_missing(generator.get("spike_ratio")):
        floor = rows.get(FLOOR, {}).get("spike_ratio", math.nan)
        bounds = _compared(generator, "spike_ratio", "floor")
        text = (
            f"class {label}, grey-level spectrum: periodic spike ratio "
            f"{format_value(generator['spike_ratio'])} vs held-out floor {format_value(floor)}"
        )
        if bounds is None:
            kind, reading = NEUTRAL, f"no comparison claimed ({_undefined_why(generator)})"
        elif bounds[0] > 0:
            kind, reading = LIMITATION, "a periodic (grid) pattern real patches lack"
        else:
            kind, reading = NEUTRAL, "no grid beyond real patches' shown"
        if bounds is not None:
            reading += f" (difference {interval(*bounds)})"
        findings.append(Finding("image quality", kind, f"{text}: {reading}", "image_quality"))
    if not is_missing(generator.get("spectral_distance")):
        side = _side(_compared(generator, "spectral_distance", "shift"))
        text = f"class {label}, grey-level spectrum: {_score_text(rows, 'spectral_distance')}"
        kind, reading = {
            1: (LIMITATION, "texture (power spectrum) farther from real train than val patches'"),
            -1: (ADVANTAGE, "texture (power spectrum) closer to real train than val patches'"),
            0: (NEUTRAL, "texture not shown to differ from the cross-patient shift"),
            None: (NEUTRAL, f"no comparison claimed ({_undefined_why(generator)})"),
        }[side]
        findings.append(Finding("image quality", kind, f"{text}: {reading}", "image_quality"))
    return findings


def _copy_finding(space: str, rows: list[dict]) -> Finding | None:
    """Near-copy share (with its interval) against the rate a fresh real patch is flagged at."""
    measured = [r for r in rows if not is_missing(r.get("near_copy_share"))]
    if not measured:
        return None
    numbers = "; ".join(
        f"class {r['label']} {format_value(r['near_copy_share'])} "
        f"{interval(r['near_copy_low'], r['near_copy_high'])} vs expected "
        f"{format_value(r['near_copy_expected'])}"
        for r in measured
    )
    if any(r["near_copy_low"] > r["near_copy_expected"] for r in measured):
        kind, reading = LIMITATION, "more near copies of train patches than expected"
    elif all(r["near_copy_high"] < r["near_copy_expected"] for r in measured):
        # Not an advantage: patches far from every train patch (low fidelity) also score so.
        kind, reading = (
            NEUTRAL,
            "fewer near copies than expected: no sign of memorization (samples farther from "
            "train than unseen real patches also read so; see the quality lines)",
        )
    else:
        kind, reading = NEUTRAL, "no excess of near copies shown"
    text = f"near-copy share in {space} space, {numbers}: {reading}"
    return Finding("memorization", kind, text, "image_quality")


def quality_findings(arm: str, image_quality: pd.DataFrame | None) -> list[Finding]:
    """Distances (FID/KID), precision/recall, spectral fidelity and near copies of ``arm``'s
    patches per feature space and class, against the held-out floor and the val shift, decided
    by the patient-level bootstrap intervals; skipped spaces by key."""
    if image_quality is None or image_quality.empty:
        return [
            Finding(
                "image quality",
                NOT_MEASURED,
                "not measured (computed whenever `arms` lists a generator)",
                "image_quality",
            )
        ]
    findings = []
    skipped = skipped_quality(image_quality)
    ours = image_quality["generator"].isin([arm, FLOOR, SHIFT])
    for (space, status), group in image_quality[skipped & ours].groupby(
        ["feature_space", "status"], sort=False
    ):
        if skipped[image_quality["feature_space"] == space].all():
            key = SKIPPED_SPACE_KEYS.get(space)
            text = f"{space} space {status}" + (f"; set `{key}` to measure it" if key else "")
        else:
            rows = ", ".join(f"{r.generator} class {r.label}" for r in group.itertuples())
            text = f"{space} space, {rows}: {status}"
        findings.append(Finding("image quality", NOT_MEASURED, text, "image_quality"))
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
            distance = _distance_finding(space, label, rows)
            findings += [distance] if distance else []
            findings += _share_findings(space, label, rows)
            findings += _spectral_findings(label, rows) if space == "pixels" else []
        copy = _copy_finding(space, copies)
        findings += [copy] if copy else []
    return findings


def memorization_findings(arm: str, memorization: pd.DataFrame | None) -> list[Finding]:
    """Train patients whose near copies among ``arm``'s patches exceed their held-out floor
    (Holm over the patients of a feature space), named as a limitation; else a neutral line.
    Nothing when the table is absent (quality_findings says why)."""
    if memorization is None:
        return []
    ours = memorization[memorization["generator"] == arm]
    if ours.empty:
        return []
    copied = ours[ours["verdict"] == COPIED]
    if copied.empty:
        spaces = " and ".join(dict.fromkeys(ours["feature_space"]))
        text = (
            f"no train patient copied beyond the held-out floor ({ours['patient'].nunique()} "
            f"patients, {spaces} space, Holm over patients)"
        )
        return [Finding("memorization", NEUTRAL, text, "memorization")]
    named = "; ".join(
        f"patient {r['patient']} ({r['feature_space']} space: {format_value(r['share'])} of "
        f"the patches {interval(r['ci_low'], r['ci_high'])} vs floor "
        f"{format_value(r['floor_share'])}, Holm p {format_value(r['p_holm'])})"
        for r in copied.to_dict("records")
    )
    text = f"train patients copied beyond the held-out floor: {named}"
    return [Finding("memorization", LIMITATION, text, "memorization")]


def tstr_findings(arm: str, tstr: pd.DataFrame | None) -> list[Finding]:
    """What a classifier trained on ``arm``'s patches alone reaches on the real test split."""
    if tstr is None or tstr.empty:
        return [Finding("train on synthetic", NOT_MEASURED, "not run", "tstr")]
    notes = tstr.get("note", pd.Series("", index=tstr.index)).fillna("").astype(str)
    ran = tstr[~notes.str.startswith("skipped")]
    ours = ran[ran["arm"] == f"{arm}_only"]
    real = ran[ran["arm"] == BASELINE]
    if ours.empty:
        return [Finding("train on synthetic", NOT_MEASURED, f"no {arm}_only classifier", "tstr")]
    text = (
        f"trained on its patches alone, ROC AUC {format_value(ours['roc_auc'].mean())} "
        f"({len(ours)} seed(s)) vs {format_value(real['roc_auc'].mean())} trained on real "
        "patches: descriptive, no test"
    )
    return [Finding("train on synthetic", NEUTRAL, text, "tstr")]


def _generator_cost(costs: pd.DataFrame, arm: str) -> pd.DataFrame:
    pattern = re.compile(rf"(train|sample)_{re.escape(arm)}(_\w+)?")
    return costs[[bool(pattern.fullmatch(str(rule))) for rule in costs["rule"]]]


def cost_findings(arm: str, costs: pd.DataFrame | None, generators: list[str]) -> list[Finding]:
    """Training + sampling time of ``arm``'s generator, in units of one classifier's training,
    and against the other generators (called only beyond COST_MARGIN)."""
    ours = _generator_cost(costs, arm) if costs is not None else pd.DataFrame()
    if ours.empty:
        return [
            Finding(
                "cost",
                NOT_MEASURED,
                f"no benchmark rows for train_{arm} or sample_{arm}",
                "cost",
            )
        ]
    wall, cpu = float(ours["wall_s"].sum()), float(ours["cpu_s"].sum())
    parts = " + ".join(f"{r.rule} {r.wall_s:.1f} s" for r in ours.itertuples())
    text = f"generator training + sampling {wall:.1f} s wall, {cpu:.1f} s CPU ({parts})"
    classifier = costs[costs["rule"] == "train_classifier"]
    if len(classifier) and classifier["jobs"].iloc[0]:
        per_job = float(classifier["wall_s"].iloc[0]) / float(classifier["jobs"].iloc[0])
        text += f", {wall / per_job:.1f}× one classifier's training ({per_job:.1f} s wall)"
    others = {other: _generator_cost(costs, other) for other in generators if other != arm}
    others = {other: float(rows["wall_s"].sum()) for other, rows in others.items() if len(rows)}
    if others:
        text += "; vs " + ", ".join(f"{other} {value:.1f} s" for other, value in others.items())
    if others and all(wall * COST_MARGIN < value for value in others.values()):
        kind = ADVANTAGE
        text += ": the cheapest generator"
    elif others and not any(wall > value * COST_MARGIN for value in others.values()):
        kind = NEUTRAL
        text += f": within {COST_MARGIN:g}× of the other generators, no cost difference called"
    else:
        kind = LIMITATION
        text += ": extra compute the baseline does not need"
    return [Finding("cost", kind, text, "cost")]


def robustness_findings(arm: str, robustness: pd.DataFrame | None) -> list[Finding]:
    """Degradation under each perturbation's strongest strength vs the baseline's, as its
    declared family decides it (Bonferroni over every generator and perturbation)."""
    if robustness is None or robustness.empty:
        return [
            Finding(
                "robustness",
                NOT_MEASURED,
                "not measured; set strengths under `robustness.perturbations` to run it",
                "robustness",
            )
        ]
    robustness = robustness.fillna({"comparison": "", "verdict": "", "note": "", "role": ""})
    ours = robustness[
        (robustness["comparison"] == f"{arm} vs {BASELINE}") & (robustness["role"] == "decision")
    ]
    findings = []
    for r in ours[ours["verdict"] == DIFFERENCE].to_dict("records"):
        less = r["degradation_difference"] > 0
        findings.append(
            Finding(
                "robustness",
                ADVANTAGE if less else LIMITATION,
                f"degrades {'less' if less else 'more'} than the baseline under "
                f"{r['perturbation']} {r['strength']:g} "
                f"({signed(r['degradation_difference'])} "
                f"{interval(r['difference_ci_low'], r['difference_ci_high'])}, "
                f"adjusted p {format_value(r['p_adjusted'])})",
                "robustness",
            )
        )
    undecided = list(dict.fromkeys(ours.loc[ours["verdict"] != DIFFERENCE, "perturbation"]))
    if undecided:
        text = f"no difference in degradation vs the baseline shown under {', '.join(undecided)}"
        findings.append(Finding("robustness", NEUTRAL, text, "robustness"))
    return findings


def _calibration_cell(row: pd.Series) -> str:
    why = str(row.get("note") or "").removeprefix("interval undefined: ")
    return f"{format_value(row['value'])} {interval(row['ci_low'], row['ci_high'], why)}"


def calibration_findings(arm: str, calibration: pd.DataFrame | None) -> list[Finding]:
    """Brier and ECE of ``arm`` next to the baseline's: secondary, no between-arm test."""
    if calibration is None or calibration.empty:
        return [Finding("calibration", NOT_MEASURED, "not computed", "probability_calibration")]
    means = calibration[calibration["seed"].astype(str) == "mean"]
    parts = []
    for metric, name in (("brier", "Brier"), ("ece", "ECE")):
        cells = means[means["metric"] == metric].set_index("arm")
        if arm not in cells.index or BASELINE not in cells.index:
            continue
        parts.append(
            f"{name} {_calibration_cell(cells.loc[arm])} vs baseline "
            f"{_calibration_cell(cells.loc[BASELINE])}"
        )
    if not parts:
        return [Finding("calibration", NOT_MEASURED, "no rows", "probability_calibration")]
    text = "; ".join(parts) + ": secondary, no between-arm test, no difference claimed"
    return [Finding("calibration", NEUTRAL, text, "probability_calibration")]


def efficiency_findings(arm: str, contrasts: pd.DataFrame | None) -> list[Finding]:
    """The generator's data-efficiency sentence: an advantage where its mean effect over the map
    is a positive difference, a limitation where it is a negative one."""
    if contrasts is None or contrasts.empty:
        text = "not measured: " + SWEEP_OFF[0].lower() + SWEEP_OFF[1:].rstrip(".")
        return [Finding("data efficiency", NOT_MEASURED, text, "efficiency_contrasts")]
    rows = contrasts.fillna({"note": ""})
    rows = rows[rows["arm"] == arm].to_dict("records")
    if not rows:
        return [Finding("data efficiency", NOT_MEASURED, f"no {arm} cells", "efficiency_contrasts")]
    mean = next((row for row in rows if row["contrast"] == MEAN_EFFECT), None)
    kind = NEUTRAL
    if mean is not None and mean["verdict"] == DIFFERENCE:
        kind = ADVANTAGE if mean["estimate"] > 0 else LIMITATION
    text = "; ".join(contrast_phrase(row) for row in rows)
    return [Finding("data efficiency", kind, text, "efficiency_contrasts")]


def generator_findings(
    arm: str,
    generators: list[str],
    *,
    primary: pd.DataFrame,
    image_quality: pd.DataFrame | None,
    tstr: pd.DataFrame | None,
    costs: pd.DataFrame | None,
    robustness: pd.DataFrame | None,
    probability_calibration: pd.DataFrame | None,
    efficiency_contrasts: pd.DataFrame | None,
    memorization: pd.DataFrame | None = None,
) -> list[Finding]:
    return [
        *primary_findings(arm, primary),
        *quality_findings(arm, image_quality),
        *memorization_findings(arm, memorization),
        *tstr_findings(arm, tstr),
        *cost_findings(arm, costs, generators),
        *robustness_findings(arm, robustness),
        *calibration_findings(arm, probability_calibration),
        *efficiency_findings(arm, efficiency_contrasts),
    ]


def discussion_section(generators: list[str], **tables) -> list[str]:
    """'## Advantages and limitations': per generator, its findings grouped by kind. ``tables``:
    the keyword arguments of generator_findings."""
    lines = [
        "## Advantages and limitations",
        "",
        "Read from the measured tables only; each line names its table. An advantage or a "
        "limitation is called only where the inference supports it: a decision of its "
        "declared family (verdict difference), a near-copy interval that excludes the expected "
        "rate, image-quality scores against the held-out floor and the cross-patient shift, a "
        f"cost gap beyond {COST_MARGIN:g}×. Costs are wall and CPU seconds from Snakemake's "
        "benchmarks (which record no GPU time; a GPU job's wall time is what it holds the GPU).",
        "",
    ]
    if not generators:
        return [*lines, "_No generator in this study._", ""]
    for arm in generators:
        findings = generator_findings(arm, generators, **tables)
        lines += [f"### {arm}", ""]
        for kind, heading in HEADINGS.items():
            chosen = [finding.line() for finding in findings if finding.kind == kind]
            if chosen or kind in (ADVANTAGE, LIMITATION):
                lines += [f"**{heading}**", "", *(chosen or ["_None shown._"]), ""]
    return lines
