"""results/summary.md: tables, cost per rule family and a conclusion from the primary endpoint."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import write_summary

from idc_synth.discussion import (
    discussion_section,
    efficiency_sentences,
    equivalent_sentences,
    quality_findings,
)
from idc_synth.inference import DIFFERENCE, NO_DIFFERENCE, Crossed, decide
from idc_synth.report_format import markdown_html
from idc_synth.statistics import PRIMARY_COLUMNS, TESTS_COLUMNS
from idc_synth.summary import (
    benchmark_costs,
    build_summary,
    classifier_steps,
    conclusion,
    design_reach,
    interval,
    markdown_table,
    percent,
    quality_spaces,
    quality_table,
    tstr_table,
)
from idc_synth.sweep import CONTRAST_COLUMNS, EFFICIENCY_COLUMNS, MEAN_EFFECT, SCARCITY


def summary_ci(level: float = 0.95, patients: int = 40, width: float = 0.02) -> pd.DataFrame:
    rows = []
    for arm, shift in (("baseline", 0.0), ("dcgan", 0.03)):
        for metric in ("accuracy", "balanced_accuracy", "roc_auc"):
            mean = 0.8 + shift
            low, high = (mean - width, mean + width) if width else (np.nan, np.nan)
            rows.append(
                {"arm": arm, "metric": metric, "mean": mean, "std": 0.01, "n_seeds": 3}
                | {"ci_low": low, "ci_high": high, "confidence_level": level}
                | {"n_patients": patients}
            )
    return pd.DataFrame(rows)


def crossed_result(difference: float, se: float, patients: int = 40) -> Crossed:
    """A comparison whose whole variance is in its patients (Student t on patients - 1 df)."""
    if np.isnan(se):
        return Crossed(difference, 3, patients, note="undefined: 1 test patient(s), 2 needed")
    return Crossed(difference, 1, patients, ms_patient=se**2 * patients, df_patient=patients - 1)


def primary(rows: list[tuple], patients: int = 40, realizations: int = 3) -> pd.DataFrame:
    """Primary rows from (difference, se), decided as the statistics module decides them;
    `realizations`: trained generators behind each generator arm's 3 seeds."""
    comparisons = [("dcgan", "baseline"), ("diffusion", "baseline")]
    decided = decide([crossed_result(d, se, patients) for d, se in rows], alpha=0.05)
    frame = pd.DataFrame(
        [
            {"comparison": f"{a} vs {b}", "arm_a": a, "arm_b": b, "metric": "balanced_accuracy"}
            | {"mean_a": 0.8 + d, "mean_b": 0.8, "difference": d, "alpha": 0.05}
            | {"n_patients": patients, "n_seeds": 3, "generator_realizations": realizations}
            | {key: row[key] for key in PRIMARY_COLUMNS if key in row}
            for (a, b), (d, _), row in zip(
                comparisons, rows, decided.to_dict("records"), strict=False
            )
        ]
    )
    return frame[PRIMARY_COLUMNS]


def test_a_verdict_resting_on_one_trained_generator_says_so():
    one = conclusion(primary([(0.03, 0.008), (0.0, 0.01)], realizations=1))
    assert "**One generator realization:** dcgan's and diffusion's verdicts rest on one" in one
    rows = primary([(0.03, 0.008), (0.0, 0.01)], realizations=1)
    repeated = pd.concat([rows, rows.assign(arm_b="stain")], ignore_index=True)
    assert "dcgan's and diffusion's verdicts rest" in conclusion(repeated)  # each arm once
    single = conclusion(rows.iloc[:1])
    assert "**One generator realization:** dcgan's verdict rests on one" in single
    assert "`synthetic.generator_realizations: per_draw`" in one
    assert "One generator realization" not in conclusion(primary([(0.03, 0.008), (0.0, 0.01)]))


def test_interval_never_prints_an_undefined_or_zero_width_interval_as_numbers():
    assert interval(0.01, 0.05) == "[0.010, 0.050]"
    assert interval(np.nan, np.nan, "undefined: 1 test patient(s)").startswith(
        "undefined (1 test patient"
    )
    assert interval(0.02, 0.02) == "undefined (zero width)"
    assert percent(0.95) == "95%" and percent(0.9) == "90%" and percent(0.975) == "97.5%"


def test_verdicts_give_a_directional_conclusion_after_the_designs_reach():
    rows = primary([(0.03, 0.008), (0.0, 0.01)])
    assert rows["verdict"].tolist() == [DIFFERENCE, NO_DIFFERENCE]
    text = conclusion(rows)
    assert text.startswith("**What this design can decide**: 40 test patients")
    assert "each decided at α/2 = 0.025" in text and "no resampling floor" in text
    assert "dcgan vs baseline: dcgan has the higher balanced accuracy** than baseline" in text
    assert "diffusion vs baseline: no difference shown" in text
    assert "1 of 2 comparisons show a difference" in text
    assert "97.5% CI" in text and "conflict" not in text and "disagree" not in text


def test_the_designs_reach_quotes_the_simulation_at_this_design():
    rows = primary([(0.0, 0.01), (0.0, 0.01)])
    calibration = pd.DataFrame(
        {
            "scenario": ["demo"] * 3 + ["full_scale"] * 3,
            "read": "primary",
            "n_patients": 40,
            "n_seeds": 3,
            "true_difference": [0.0, 0.025, 0.05] * 2,
            "rejection_rate": [0.02, 0.6, 1.0, 0.03, 0.2, 0.5],
        }
    )
    reach = design_reach(rows, calibration)
    assert "0.038 (demo variance)" in reach  # 0.0375: 80% between 0.6 at 0.025 and 1 at 0.05
    assert "more than 0.050 (full_scale variance)" in reach


def test_degenerate_inputs_say_no_conclusion_can_be_drawn():
    rows = primary([(0.02, np.nan), (0.01, np.nan)], patients=1)
    text = conclusion(rows, data_source="demo")
    assert text.startswith("**This design cannot decide**")
    assert "**No conclusion can be drawn** from this run" in text
    assert text.count("no conclusion can be drawn** (1 test patient(s), 2 needed") == 2
    assert "Demo caveat" in text and "pipeline check" in text
    assert not re.search(r"\[\s*[-\d.]+,\s*[-\d.]+\]", text)  # no interval as numbers


def test_conclusion_with_a_single_arm():
    text = conclusion(pd.DataFrame(columns=PRIMARY_COLUMNS))
    assert "nothing to compare" in text


def test_benchmark_costs_sum_per_rule_family(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    files = {
        "train_classifier/baseline/seed0.tsv": "10.0\t0:00:10\t500\t1\t1\t1\t0\t0\t0\t9.0\n",
        "train_classifier/dcgan/seed0.tsv": "20.0\t0:00:20\t700\t1\t1\t1\t0\t0\t0\t18.0\n",
        "manifest.tsv": "1.5\t0:00:01\t-\t1\t1\t1\t0\t0\t0\t1.0\n",
    }
    for name, line in files.items():
        path = tmp_path / "benchmarks" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + line)
    costs = benchmark_costs(sorted((tmp_path / "benchmarks").rglob("*.tsv"))).set_index("rule")
    assert costs.loc["train_classifier", "jobs"] == 2
    assert costs.loc["train_classifier", "wall_s"] == 30.0
    assert costs.loc["train_classifier", "cpu_s"] == 27.0
    assert costs.loc["train_classifier", "peak_rss_mb"] == 700
    assert np.isnan(costs.loc["manifest", "peak_rss_mb"])  # '-' is unknown, not an error
    assert costs.loc["total", "wall_s"] == 31.5 and costs.loc["total", "jobs"] == 3
    assert benchmark_costs([]).empty


def test_classifier_steps_read_each_info_json(tmp_path):
    for arm, seed, steps in (("baseline", 0, 120), ("dcgan", 1, 118)):
        folder = tmp_path / "classifiers" / arm / f"seed{seed}"
        folder.mkdir(parents=True)
        (folder / "info.json").write_text(json.dumps({"seed": seed, "optimizer_steps": steps}))
    table = classifier_steps(sorted(tmp_path.rglob("info.json")))
    assert table.to_dict("records") == [
        {"arm": "baseline", "seed": 0, "optimizer_steps": 120},
        {"arm": "dcgan", "seed": 1, "optimizer_steps": 118},
    ]


def make_tests(primary_rows: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {column: row.get(column, np.nan) for column in TESTS_COLUMNS}
        | {"role": role, "test": "seed x patient", "seed": "all", "note": row["note"]}
        | {"mean_difference": row["difference"], "metric": metric, "n": 40}
        for row in primary_rows.to_dict("records")
        for metric, role in (("balanced_accuracy", "primary"), ("roc_auc", "secondary"))
    ]
    return pd.DataFrame(rows, columns=TESTS_COLUMNS)


def calibration_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scenario": ["demo"] * 5,
            "read": ["primary", "spread", "contrast", "primary", "primary"],
            "n_patients": 40,
            "n_seeds": 3,
            "family_size": 2,
            "true_difference": [0.0, 0.0, 0.0, 0.025, 0.05],
            "n_studies": 200,
            "rejection_rate": [0.045, 0.03, 0.02, 0.5, 0.95],
            "mc_se": 0.01,
            "alpha": 0.05,
        }
    )


def test_summary_prints_the_configured_level_and_every_section(tmp_path):
    quality = pd.DataFrame(
        [
            {"feature_space": "inception", "generator": "dcgan", "label": "all", "fid": 50.0}
            | {"kid": 0.03, "precision": 0.5, "recall": 0.4, "status": "ok"},
        ]
    )
    costs = pd.DataFrame(
        [{"rule": "predict", "jobs": 2, "wall_s": 3.0, "cpu_s": 2.5, "peak_rss_mb": 900.0}]
    )
    tstr = pd.DataFrame(
        {
            "arm": ["dcgan_only", "diffusion_only"],
            "seed": [0, 0],
            "roc_auc": [0.71, np.nan],
            "balanced_accuracy": [0.6, np.nan],
            "note": ["", "skipped: no synthetic patches"],
        }
    )
    rows = primary([(0.03, 0.008)])
    text = build_summary(
        summary_ci=summary_ci(level=0.9),
        tests=make_tests(rows),
        primary=rows,
        variance=None,
        calibration=calibration_table(),
        tstr=tstr,
        image_quality=quality,
        costs=costs,
        steps=pd.DataFrame([{"arm": "dcgan", "seed": 0, "optimizer_steps": 640}]),
        alpha=0.05,
        data_source="folder",
    )
    for heading in (
        "## Primary endpoint",
        "## Conclusion",
        "## Methods",
        "## Secondary metrics",
        "## Train on synthetic, test on real",
        "## Image quality",
        "## Computational cost",
    ):
        assert heading in text
    assert "90% interval" in text and "unadjusted 90% intervals" in text
    assert "| dcgan | 3 | 0.830 [0.810, 0.850]" in text
    assert "| demo | 0.020 | 0.045 | 0.030 | 0.500 | 0.950 |" in text  # the calibration table
    assert "skipped: no synthetic patches" in text and "real (reference)" in text
    assert "| predict | 2 | 3.0 | 2.5 | 900.0 |" in text and "Demo caveat" not in text
    assert "| dcgan | 0 | 640 |" in text
    undefined = primary([(0.02, np.nan)], patients=1)
    one_patient = build_summary(
        summary_ci=summary_ci(patients=1, width=0),
        tests=make_tests(undefined),
        primary=undefined,
        variance=None,
        calibration=None,
        tstr=None,
        image_quality=None,
        costs=costs.iloc[:0],
        alpha=0.05,
        data_source="demo",
    )
    assert "| dcgan | 3 | 0.830 (CI undefined)" in one_patient
    assert "CI undefined: 1 test patient(s); an interval over patients needs 2." in one_patient
    assert "No conclusion can be drawn" in one_patient and "not computed" in one_patient


def test_markdown_table_escapes_pipes_and_formats_numbers():
    table = markdown_table(pd.DataFrame({"a": ["x|y"], "b": [0.123456], "c": [np.nan]}))
    assert table.splitlines()[2] == "| x\\|y | 0.123 | – |"


def test_quality_section_names_the_spaces_and_tstr_lists_the_baseline_once():
    quality = pd.DataFrame(
        [
            {"feature_space": "classifier", "generator": "dcgan", "label": 0, "n": 128.0}
            | {"fid": 6.9, "kid_subset": 64.0, "status": "ok", "note": "matched n"},
            {"feature_space": "inception", "generator": "dcgan", "label": 0, "n": np.nan}
            | {"fid": np.nan, "kid_subset": np.nan, "status": "skipped: no Inception weights"},
        ]
    )
    table = quality_table(quality)
    assert table["feature_space"].tolist() == ["classifier"]
    assert "status" not in table and "note" not in table
    assert markdown_table(table).splitlines()[2].startswith("| classifier | dcgan | 0 | 128 |")
    assert "<NA>" not in markdown_table(table.assign(n=pd.array([pd.NA], dtype="Int64")))
    assert quality_spaces(quality) == (
        "Feature spaces measured: classifier. Not measured: inception (skipped: no Inception "
        "weights)."
    )
    tstr = pd.DataFrame(
        {
            "arm": ["dcgan_only", "baseline", "baseline"],
            "seed": [0, 0, 1],
            "roc_auc": [0.71, 0.97, 0.98],
            "balanced_accuracy": [0.6, 0.9, 0.91],
            "note": ["", "reference", "reference"],
        }
    )
    rows = tstr_table(tstr, summary_ci())
    assert rows["arm"].tolist() == ["dcgan_only", "baseline"]
    assert rows["trained on"].tolist() == ["synthetic only", "real (reference)"]


# Data efficiency and the advantages/limitations discussion (idc_synth.discussion).


def contrasts_table(rows: list[tuple]) -> pd.DataFrame:
    """efficiency_contrasts.tsv from (arm, contrast, estimate, ci_low, ci_high, verdict)."""
    frame = pd.DataFrame(
        [
            {"arm": arm, "contrast": contrast, "estimate": estimate, "ci_low": low}
            | {"ci_high": high, "verdict": verdict, "p_value": 0.01, "family_size": len(rows)}
            | {"p_adjusted": 0.01 * len(rows), "decision_level": 1 - 0.05 / len(rows)}
            | {"se": 0.01, "mdd": 0.03, "note": "", "metric": "balanced_accuracy"}
            | {
                "description": "mean difference from real only over its 4 cell(s)"
                if contrast == MEAN_EFFECT
                else "mean difference at 10% real data minus at 100%"
            }
            for arm, contrast, estimate, low, high, verdict in rows
        ]
    )
    return frame[CONTRAST_COLUMNS]


def efficiency_cells() -> pd.DataFrame:
    rows = [
        {"arm": arm, "real_fraction": fraction, "synthetic_ratio": ratio}
        | {"value": 0.8 + difference, "value_ci_low": 0.75, "value_ci_high": 0.85}
        | {"difference": difference if arm != "baseline" else np.nan}
        | {"ci_low": difference - 0.02, "ci_high": difference + 0.02}
        for arm, fraction, ratio, difference in (
            ("baseline", 0.1, 0.0, 0.0),
            ("baseline", 1.0, 0.0, 0.0),
            ("dcgan", 0.1, 1.0, 0.05),
            ("dcgan", 1.0, 1.0, 0.0),
        )
    ]
    frame = pd.DataFrame(rows).assign(
        train_patients=lambda f: (f["real_fraction"] * 40).round().astype(int),
        real_train_patches=lambda f: f["train_patients"] * 100,
        metric="balanced_accuracy",
        confidence_level=0.95,
        n_test_patients=20,
        seeds=3,
    )
    return frame[EFFICIENCY_COLUMNS]


def test_the_map_reads_only_as_far_as_its_declared_contrasts():
    contrasts = contrasts_table(
        [
            ("dcgan", MEAN_EFFECT, 0.025, 0.004, 0.046, DIFFERENCE),
            ("dcgan", SCARCITY, 0.05, 0.01, 0.09, DIFFERENCE),
            ("diffusion", MEAN_EFFECT, 0.004, -0.02, 0.03, NO_DIFFERENCE),
            ("diffusion", SCARCITY, -0.01, -0.05, 0.03, NO_DIFFERENCE),
        ]
    )
    dcgan, diffusion = efficiency_sentences(contrasts)
    assert dcgan.startswith("dcgan: helps on average over the map (mean difference")
    assert "its effect is more favourable with scarce real data" in dcgan
    assert "+0.050, 98.75% CI [0.010, 0.090]" in dcgan
    assert diffusion.startswith("diffusion: no average effect over the map shown")
    assert "no change of its effect with the real fraction shown" in diffusion
    assert "helps" not in diffusion
    with pytest.raises(ValueError, match="estimate"):
        efficiency_sentences(contrasts.drop(columns="estimate"))


def paired(**bounds: tuple[float, float]) -> dict:
    """Interval columns: paired(fid_vs_shift=(1, 2)) -> fid_vs_shift_low/_high."""
    return {
        f"{key}_{end}": value
        for key, pair in bounds.items()
        for end, value in zip(("low", "high"), pair, strict=True)
    }


def discussion_tables(contrasts: pd.DataFrame | None, robustness: pd.DataFrame | None) -> dict:
    quality = pd.DataFrame(
        [
            {"feature_space": "classifier", "generator": source, "label": 0, "n": 100}
            | {"fid": fid, "kid": kid, "kid_std": 0.01, "precision": p, "recall": r}
            | {"near_copy_share": share, "near_copy_low": low, "near_copy_high": high}
            | {"near_copy_expected": 0.01, "status": "ok"}
            | intervals
            for source, fid, kid, p, r, share, low, high, intervals in (
                (
                    "dcgan", 9.0, 0.3, 0.9, 0.2, 0.05, 0.03, 0.08,
                    paired(fid_vs_shift=(6.5, 8.9), kid_vs_shift=(0.2, 0.35))
                    | paired(precision_vs_shift=(-0.05, 0.04), recall_vs_shift=(-0.8, -0.6)),
                ),
                (
                    "diffusion", 1.2, 0.005, 0.88, 0.9, 0.0, 0.0, 0.004,
                    paired(fid_vs_shift=(-0.5, -0.1), kid_vs_shift=(-0.01, -0.001))
                    | paired(fid_vs_floor=(-0.1, 1.2), kid_vs_floor=(-0.005, 0.03))
                    | paired(precision_vs_shift=(-0.06, 0.02), recall_vs_shift=(-0.1, 0.05)),
                ),
                ("holdout", 0.5, -0.01, 0.9, 0.95, np.nan, np.nan, np.nan, {}),
                ("real_val", 1.5, 0.01, 0.9, 0.93, 0.01, 0.002, 0.03, {}),
            )
        ]
        + [
            {"feature_space": "pixels", "generator": source, "label": 0, "n": 100, "status": "ok"}
            | {"spike_ratio": spike, "spectral_distance": distance} | intervals
            for source, spike, distance, intervals in (
                (
                    "dcgan", 12.0, 0.8,
                    paired(spike_ratio_vs_floor=(8.0, 13.0), spectral_distance_vs_shift=(0.5, 0.9)),
                ),
                (
                    "diffusion", 1.6, 0.12,
                    paired(spike_ratio_vs_floor=(-0.3, 0.5))
                    | paired(spectral_distance_vs_shift=(-0.05, 0.1)),
                ),
                ("holdout", 1.5, 0.02, {}),
                ("real_val", 1.6, 0.1, {}),
            )
        ]
        + [
            {"feature_space": space, "generator": source, "label": label, "status": status}
            for space, source, label, status in (
                ("inception", "dcgan", 0, "skipped: no weights"),
                ("classifier", "holdout", 1, "skipped: 9 patches of class 1"),
            )
        ]
    )  # fmt: skip
    costs = pd.DataFrame(
        {
            "rule": ["train_classifier", "train_dcgan", "sample_dcgan", "train_diffusion"],
            "jobs": [10, 2, 4, 1],
            "wall_s": [100.0, 30.0, 10.0, 200.0],
            "cpu_s": [90.0, 25.0, 8.0, 150.0],
            "peak_rss_mb": [1000.0, 800.0, 700.0, 1500.0],
        }
    )
    return {
        "primary": primary([(0.03, 0.008), (0.004, 0.012)]),
        "image_quality": quality,
        "tstr": None,
        "costs": costs,
        "robustness": robustness,
        "probability_calibration": None,
        "efficiency_contrasts": contrasts,
    }


def robustness_rows() -> pd.DataFrame:
    """Blur: dcgan degrades less (decided); JPEG: diffusion degrades more (decided)."""
    rows = []
    for perturbation, strength, arm, degradation, difference, low, high, p, verdict in (
        ("blur", 1.5, "baseline", -0.10, np.nan, np.nan, np.nan, np.nan, ""),
        ("blur", 1.5, "dcgan", -0.02, 0.08, 0.03, 0.13, 0.01, DIFFERENCE),
        ("blur", 1.5, "diffusion", -0.11, -0.01, -0.05, 0.03, 1.0, NO_DIFFERENCE),
        ("jpeg", 15, "baseline", -0.01, np.nan, np.nan, np.nan, np.nan, ""),
        ("jpeg", 15, "dcgan", -0.005, 0.005, -0.02, 0.03, 1.0, NO_DIFFERENCE),
        ("jpeg", 15, "diffusion", -0.07, -0.06, -0.1, -0.02, 0.02, DIFFERENCE),
    ):
        rows.append(
            {"perturbation": perturbation, "strength": strength, "arm": arm}
            | {"metric": "balanced_accuracy"}
            | {"mean": 0.8 + degradation, "degradation": degradation}
            | {"comparison": "" if arm == "baseline" else f"{arm} vs baseline"}
            | {"role": "" if arm == "baseline" else "decision"}
            | {"degradation_difference": difference, "difference_ci_low": low}
            | {"difference_ci_high": high, "difference_ci_level": 0.9875}
            | {"p_adjusted": p, "verdict": verdict, "note": ""}
        )
    return pd.DataFrame(rows)


def findings_by_kind(text: str, arm: str) -> dict[str, list[str]]:
    """The bullet lines of one generator's block, keyed by the heading above them."""
    block = text.split(f"### {arm}\n", 1)[1].split("\n### ", 1)[0]
    kinds, heading = {}, None
    for line in block.splitlines():
        if line.startswith("**"):
            heading = line.strip("*").split(" (")[0]
        elif line.startswith("- "):
            kinds.setdefault(heading, []).append(line)
    return kinds


def map_contrasts() -> pd.DataFrame:
    return contrasts_table(
        [
            ("dcgan", MEAN_EFFECT, 0.025, 0.004, 0.046, DIFFERENCE),
            ("diffusion", MEAN_EFFECT, 0.004, -0.02, 0.03, NO_DIFFERENCE),
        ]
    )


def test_each_advantage_and_limitation_follows_the_inference_and_cites_its_table():
    text = "\n".join(
        discussion_section(
            ["dcgan", "diffusion"], **discussion_tables(map_contrasts(), robustness_rows())
        )
    )
    cites = re.compile(r"\(results/metrics/(\w+)\.tsv\)$")
    sources = {
        "primary endpoint": "primary",
        "image quality": "image_quality",
        "memorization": "image_quality",
        "train on synthetic": "tstr",
        "cost": "cost",
        "robustness": "robustness",
        "calibration": "probability_calibration",
        "data efficiency": "efficiency_contrasts",
    }
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(lines) >= 16
    for line in lines:
        aspect = line[2:].split(":", 1)[0]
        assert cites.search(line).group(1) == sources[aspect], line
    dcgan, diffusion = findings_by_kind(text, "dcgan"), findings_by_kind(text, "diffusion")
    joined = {
        arm: {k: "\n".join(v) for k, v in kinds.items()}
        for arm, kinds in (("dcgan", dcgan), ("diffusion", diffusion))
    }
    # Decisions of a declared family are the only decided advantages.
    assert "higher balanced accuracy than baseline (+0.030" in joined["dcgan"]["Advantages"]
    assert "degrades less than the baseline under blur 1.5" in joined["dcgan"]["Advantages"]
    assert "data efficiency: helps on average over the map" in joined["dcgan"]["Advantages"]
    assert "cost: generator training + sampling 40.0 s wall" in joined["dcgan"]["Advantages"]
    # FID and KID beyond the val shift (patient-level intervals of the differences above 0),
    # recall below it, a grid spike above the floor, near copies above expected.
    dcgan_limits = joined["dcgan"]["Limitations"]
    assert (
        "FID 9.000 vs held-out floor 0.500, val shift 1.500 (minus shift [6.500, 8.900])"
        in dcgan_limits
    )
    assert "farther from real train than patches of unseen patients" in dcgan_limits
    assert "recall 0.200 vs 0.930 (difference [-0.800, -0.600]): below val patches'" in dcgan_limits
    assert (
        "precision 0.900 vs 0.900 (difference [-0.050, 0.040]): not shown to differ"
        in (joined["dcgan"]["Neither shown"])
    )
    assert "periodic spike ratio 12.000 vs held-out floor 1.500: a periodic (grid)" in dcgan_limits
    assert "texture (power spectrum) farther from real train than val patches'" in dcgan_limits
    assert "more near copies of train patches than expected" in dcgan_limits
    # Closer than the shift (interval below 0) and not shown to differ from the floor; no grid.
    assert (
        "closer to real train than patches of unseen patients, not shown to differ from the "
        "held-out floor" in joined["diffusion"]["Advantages"]
    )
    neutral = joined["diffusion"]["Neither shown"]
    assert "no grid beyond real patches' shown (difference [-0.300, 0.500])" in neutral
    assert "texture not shown to differ from the cross-patient shift" in neutral
    # fewer copies than expected is no advantage: low-fidelity patches also score so
    assert "no sign of memorization" in neutral
    assert "memorization" not in joined["diffusion"]["Advantages"]
    assert "no difference in balanced accuracy vs baseline shown" in neutral
    assert "no difference in degradation vs the baseline shown under blur" in neutral
    assert "least degradation" not in text  # no ranking from point estimates
    assert (
        "degrades more than the baseline under jpeg 15 (-0.060"
        in joined["diffusion"]["Limitations"]
    )
    assert (
        "no difference in degradation vs the baseline shown under jpeg"
        in (joined["dcgan"]["Neither shown"])
    )
    assert "data efficiency: no average effect over the map shown" in neutral
    assert "cost: generator training + sampling 200.0 s wall" in joined["diffusion"]["Limitations"]
    missing = joined["dcgan"]["Not measured"]
    assert "inception space skipped: no weights; set `quality.inception_weights`" in missing
    assert "classifier space, holdout class 1: skipped: 9 patches of class 1" in missing


def test_image_quality_claims_nothing_without_a_patient_level_interval():
    """Point estimates alone decide nothing, however far apart (too few patients)."""
    why = "intervals undefined: 2 train patients, a patient bootstrap needs at least 5"
    quality = pd.DataFrame(
        [
            {"feature_space": "classifier", "generator": "dcgan", "label": 0, "fid": 90.0}
            | {"kid": 3.0, "precision": 0.1, "recall": 0.05, "status": "ok", "note": why},
            {"feature_space": "classifier", "generator": "holdout", "label": 0, "fid": 1.0}
            | {"kid": 0.0, "precision": 0.9, "recall": 0.9, "status": "ok", "note": why},
            {"feature_space": "classifier", "generator": "real_val", "label": 0, "fid": 2.0}
            | {"kid": 0.01, "precision": 0.9, "recall": 0.9, "status": "ok", "note": why},
        ]
    )
    findings = quality_findings("dcgan", quality)
    assert findings and all(finding.kind == "neutral" for finding in findings)
    assert all("no comparison claimed (2 train patients" in f.text for f in findings)


def write_entry_summary(folder, efficiency: bool) -> str:
    """results/summary.md as write_summary's main writes it from the tables on disk."""
    rows = primary([(0.03, 0.008)])
    tables = {"summary_ci": summary_ci(), "tests": make_tests(rows), "primary": rows}
    tables["costs"] = pd.DataFrame(columns=["rule", "jobs", "wall_s", "cpu_s", "peak_rss_mb"])
    tables["steps"] = pd.DataFrame(columns=["arm", "seed", "optimizer_steps"])
    tables["efficiency"] = efficiency_cells()
    tables["efficiency_contrasts"] = map_contrasts()
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.tsv", sep="\t", index=False)
    optional = ("variance", "calibration", "tstr", "image_quality", "patient_spread")
    sweep = ("efficiency", "efficiency_contrasts")
    write_summary.main(
        tables={name: folder / f"{name}.tsv" for name in ("summary_ci", "tests", "primary")}
        | dict.fromkeys((*optional, "probability_calibration", "robustness"))
        | {name: folder / f"{name}.tsv" if efficiency else None for name in sweep},
        costs=folder / "costs.tsv",
        steps=folder / "steps.tsv",
        summary_path=folder / "summary.md",
        html_path=folder / "summary.html",
        alpha=0.05,
        data_source="folder",
        arms=["baseline", "dcgan"],
        log=None,
    )
    return (folder / "summary.md").read_text()


def test_missing_tables_say_not_measured_and_name_the_config_key(tmp_path):
    text = "\n".join(discussion_section(["dcgan"], **discussion_tables(None, None)))
    missing = findings_by_kind(text, "dcgan")["Not measured"]
    assert any(
        "data efficiency: not measured: data-efficiency sweep not run (sweep.enabled: false)" in m
        and m.endswith("(results/metrics/efficiency_contrasts.tsv)")
        for m in missing
    )
    assert any("`robustness.perturbations`" in m for m in missing)
    assert efficiency_sentences(None) == ["Data-efficiency sweep not run (sweep.enabled: false)."]
    # The entry script reads the map's tables when the rule passes them, and leaves them out.
    summary = write_entry_summary(tmp_path, efficiency=True)
    assert "- dcgan: helps on average over the map" in summary
    assert "| dcgan | 10% | 1 | 4 |" in summary and "+0.050 [0.030, 0.070]" in summary
    assert "Data-efficiency sweep not run (sweep.enabled: false)." in write_entry_summary(
        tmp_path, efficiency=False
    )


def test_the_summary_is_also_written_as_html_for_the_report(tmp_path):
    """The HTML report's front page (report/workflow.rst) includes this rendering."""
    summary = write_entry_summary(tmp_path, efficiency=False)
    html = (tmp_path / "summary.html").read_text()
    assert html.startswith('<div class="idc-summary">') and html.count("<table>") >= 2
    assert "<h1>IDC-Synth: summary</h1>" in html and "| dcgan |" in summary
    assert "<b>" not in markdown_html("a <b>raw</b> tag") and "&lt;b&gt;" in markdown_html("<b>")


def test_one_decided_distance_names_itself_and_claims_nothing():
    rows = [
        {"feature_space": "classifier", "generator": name, "label": 0, "fid": fid, "kid": kid}
        | {"status": "ok"}
        | bounds
        for name, fid, kid, bounds in (
            ("dcgan", 23.0, 1.0, paired(fid_vs_shift=(1.2, 35.0), kid_vs_shift=(-0.4, 1.8))),
            ("holdout", 0.6, 0.0, {}),
            ("real_val", 1.1, 0.0, {}),
        )
    ]
    (finding,) = quality_findings("dcgan", pd.DataFrame(rows))
    assert finding.kind == "neutral"
    assert "beyond the cross-patient shift by FID only, not by KID" in finding.text
    assert finding.text.startswith("class 0, classifier space: FID 23.000")  # which row it is


def test_real_patient_equivalents_read_as_patients_or_say_why_not():
    rows = pd.DataFrame(
        [
            {"arm": "dcgan", "real_fraction": 0.25, "synthetic_ratio": 1.0, "train_patients": 4}
            | {"equivalent_patients": 6.0, "equivalent_low": 4.8, "equivalent_high": 7.6}
            | {"gain_patients": 2.0, "note": ""},
            {"arm": "dcgan", "real_fraction": 0.5, "synthetic_ratio": 1.0, "train_patients": 8}
            | {"equivalent_patients": np.nan, "equivalent_low": np.nan}
            | {"equivalent_high": np.nan, "gain_patients": np.nan}
            | {"note": "beyond the map: above the baseline at 16 patients"},
        ]
    )
    worth, beyond = equivalent_sentences(rows)
    assert worth == (
        "dcgan at 25% real data (4 train patients), synthetic ratio 1: worth about +2.0 real "
        "train patients (as good as the baseline with 6.0; interval [4.8, 7.6] patients)."
    )
    assert beyond.endswith(
        "no real-patient equivalent (beyond the map: above the baseline at 16 patients)."
    )
    assert equivalent_sentences(None) == []
