"""results/summary.md: the decisions it states (idc_synth.report.readings, tested as data), its
tables and cost code, and its wording (the template), pinned by golden Markdown files.

A wording change in summary.md.j2 changes the golden files and nothing else: regenerate them
with `IDC_SYNTH_UPDATE_GOLDEN=1 python -m pytest tests/test_summary.py` and review the diff.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import write_summary
from summary_tables import (
    GOLDEN,
    calibration_table,
    contrasts_table,
    discussion_tables,
    efficiency_cells,
    golden,
    make_tests,
    map_contrasts,
    paired,
    primary,
    robustness_rows,
    summary_ci,
)

from idc_synth.inference import DIFFERENCE, NO_DIFFERENCE, UNDEFINED
from idc_synth.report import readings
from idc_synth.report.costs import benchmark_costs, classifier_steps
from idc_synth.report.format import interval, markdown_html, markdown_table, percent
from idc_synth.report.summary import TEMPLATE, build_summary
from idc_synth.report.tables import quality_spaces, quality_table, tstr_table
from idc_synth.statistics import PRIMARY_COLUMNS
from idc_synth.sweep import MEAN_EFFECT, SCARCITY

DEMO_ARMS = ["baseline", "dcgan", "diffusion", "stain", "rebalance", "mixup", "diffusion+stain"]


def demo_paths(folder: Path) -> dict[str, Path]:
    """The demo's tables by the names rules/report.smk gives write_summary's inputs."""
    renamed = {"calibration_simulation": "calibration", "cost": "costs"}
    renamed["classifier_steps"] = "steps"
    return {renamed.get(path.stem, path.stem): path for path in folder.glob("*.tsv")}


# ---------------------------------------------------------------------------------------------
# Golden summaries: the wording, whole


def test_the_demo_summary_matches_its_golden_file(tmp_path):
    """The 7-arm demo's own tables (with the sweep), through the rule's entry script."""
    write_summary.main(
        tables=demo_paths(GOLDEN / "demo"),
        summary_path=tmp_path / "summary.md",
        html_path=tmp_path / "summary.html",
        alpha=0.05,
        data_source="demo",
        arms=DEMO_ARMS,
        log=None,
        split_info=GOLDEN / "demo" / "split_info.json",
    )
    golden("demo", (tmp_path / "summary.md").read_text())


def test_a_one_test_patient_study_reads_cleanly_and_matches_its_golden_file(tmp_path):
    """The tables of a real 4-patient root (train 2, val 1, test 1; tests/test_workflow.py's
    tiny settings, the 7 demo arms, run with preflight: warn): it cannot decide, and says so
    without contradicting itself."""
    folder = GOLDEN / "one_test_patient"
    write_summary.main(
        tables=demo_paths(folder),
        summary_path=tmp_path / "summary.md",
        html_path=tmp_path / "summary.html",
        alpha=0.05,
        data_source="folder",
        arms=DEMO_ARMS,
        log=None,
        split_info=folder / "split_info.json",
    )
    text = (tmp_path / "summary.md").read_text()
    golden("one_test_patient", text)
    lines = text.splitlines()
    assert lines[2].startswith("**Too few patients for this design:** the generators and")
    assert "trained on 2 train patient(s), tuned on 1 val patient(s) and tested on 1" in lines[2]
    family = len(pd.read_csv(folder / "primary.tsv", sep="\t"))
    assert f"Bonferroni over the {family} comparison(s)" in text and family > 1
    assert "seed(s) without a defined score" not in text
    assert "no difference in degradation" not in text and "not tested under" in text
    assert "no train patient copied" not in text and "no sign of memorization" not in text
    mcnemar = pd.read_csv(folder / "tests.tsv", sep="\t").query("test == 'clustered_mcnemar'")
    assert len(mcnemar) and mcnemar[["statistic", "p_value"]].isna().all().all()


def test_every_reading_kind_in_a_study_of_decided_differences_matches_its_golden_file():
    """Decided differences, each image-quality reading, copies, costs, robustness, the map."""
    tables = discussion_tables(map_contrasts(), robustness_rows())
    rows = tables["primary"]
    frames = tables | {
        "summary_ci": summary_ci(level=0.9),
        "tests": make_tests(rows),
        "calibration": calibration_table(),
        "efficiency": efficiency_cells(),
    }
    arms = ["baseline", "dcgan", "diffusion"]
    golden("decided", build_summary(frames, alpha=0.05, data_source="folder", arms=arms))


def test_a_study_that_cannot_decide_matches_its_golden_file():
    """One test patient: no interval, no verdict, no optional stage; the demo caveat."""
    undefined = primary([(0.02, np.nan)], patients=1)
    frames = {
        "summary_ci": summary_ci(patients=1, width=0),
        "tests": make_tests(undefined),
        "primary": undefined,
        "costs": pd.DataFrame(columns=["rule", "jobs", "wall_s", "cpu_s", "peak_rss_mb"]),
    }
    golden("undecided", build_summary(frames, alpha=0.05, data_source="demo"))


def test_each_verdict_line_says_what_it_is_about_and_p_is_a_bound_never_zero():
    one = primary([(0.3, 0.001), (0.0, 0.01)], realizations=1)
    one.loc[0, ["p_value", "p_adjusted"]] = 0.0  # an extreme effect underflows
    costs = pd.DataFrame(columns=["rule", "jobs", "wall_s", "cpu_s", "peak_rss_mb"])
    frames = {"summary_ci": summary_ci(), "tests": make_tests(one), "primary": one, "costs": costs}
    text = build_summary(frames, alpha=0.05, data_source="folder")
    verdicts = [line for line in text.splitlines() if line.startswith("- **")]
    assert len(verdicts) == 2
    assert all("vs baseline (about this trained generator):" in line for line in verdicts)
    assert "adjusted p = < 1e-12" in verdicts[0] and "p = 0.000" not in text
    method = primary([(0.03, 0.008)], realizations=5)
    frames = frames | {"tests": make_tests(method), "primary": method}
    text = build_summary(frames, alpha=0.05, data_source="folder")
    assert "- **dcgan vs baseline (about the method, 5 realizations):" in text
    assert "One generator realization" not in text


def test_the_template_words_every_statement_the_readings_make():
    """A statement the template has no branch for would print nothing after its aspect."""
    template = TEMPLATE.read_text()
    literal = set(re.findall(r'"([a-z]+\.[a-z_]+)"', Path(readings.__file__).read_text()))
    literal -= set(readings.SKIPPED_SPACE_KEYS.values())  # config keys, not statements
    assert literal and not {s for s in literal if f'"{s}"' not in template}
    text = build_summary(
        discussion_tables(map_contrasts(), robustness_rows())
        | {"summary_ci": summary_ci(), "tests": make_tests(primary([(0.03, 0.008)]))},
        alpha=0.05,
        data_source="folder",
        arms=["baseline", "dcgan", "diffusion"],
    )
    cited = [line for line in text.splitlines() if "(results/metrics/" in line]
    assert len(cited) > 20
    for line in cited:
        said = line.split(": ", 1)[1].rsplit(" (results/metrics/", 1)[0]
        assert said.strip(" :;"), line


# ---------------------------------------------------------------------------------------------
# The primary family: verdicts, design reach, caveats (as data)


def test_verdicts_are_read_per_comparison_with_the_higher_arm():
    rows = primary([(0.03, 0.008), (0.0, 0.01)])
    assert rows["verdict"].tolist() == [DIFFERENCE, NO_DIFFERENCE]
    decided, undecided = readings.comparison_readings(rows)
    assert (decided.statement, decided.numbers["higher"], decided.numbers["lower"]) == (
        DIFFERENCE,
        "dcgan",
        "baseline",
    )
    assert undecided.statement == NO_DIFFERENCE
    headline = readings.headline(rows)
    assert headline.statement == DIFFERENCE and headline.numbers == {"shown": 1, "comparisons": 2}
    lower = readings.comparison_readings(primary([(-0.03, 0.008)]))[0]
    assert lower.numbers["higher"] == "baseline"
    assert readings.headline(primary([(0.0, 0.01)])).statement == NO_DIFFERENCE
    assert readings.headline(pd.DataFrame(columns=PRIMARY_COLUMNS)).statement == "single_arm"


def test_the_designs_reach_uses_the_simulation_at_this_design():
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
    design = readings.design(rows, calibration)
    assert (design["patients"], design["seeds"], design["family_size"]) == (40, 3, 2)
    demo, full = design["simulated"]
    assert demo["scenario"] == "demo" and demo["mdd"] == pytest.approx(0.0375)  # 0.6 -> 1.0
    assert full == {"scenario": "full_scale", "mdd": None}  # 80% never reached
    assert design["largest_planted"] == 0.05 and design["decidable"]
    assert readings.design(rows, None)["simulated"] == []


def test_degenerate_inputs_cannot_decide():
    rows = primary([(0.02, np.nan), (0.01, np.nan)], patients=1)
    assert readings.headline(rows).statement == UNDEFINED
    assert not readings.design(rows, None)["decidable"]
    assert [r.statement for r in readings.comparison_readings(rows)] == [UNDEFINED] * 2
    assert readings.comparison_readings(rows)[0].numbers["why"] == "1 test patient(s), 2 needed"
    assert readings.headline_undefined(summary_ci(patients=1, width=0)) == "few_patients"
    assert readings.headline_undefined(summary_ci()) is None


def test_verdicts_resting_on_one_trained_generator_are_named_once():
    rows = primary([(0.03, 0.008), (0.0, 0.01)], realizations=1)
    assert readings.single_realization_arms(rows) == ["dcgan", "diffusion"]
    repeated = pd.concat([rows, rows.assign(arm_b="stain")], ignore_index=True)
    assert readings.single_realization_arms(repeated) == ["dcgan", "diffusion"]
    assert readings.single_realization_arms(primary([(0.03, 0.008)])) == []  # 3 realizations


def test_the_family_is_read_from_its_rows():
    rows = primary([(0.03, 0.008), (0.0, 0.01)])
    assert readings.family(rows) == {
        "vs_baseline": True,
        "best_classic": None,
        "combined": False,
        "selected": False,
    }
    classic = rows.assign(arm_b="rebalance")
    combined = rows.iloc[:1].assign(arm_a="dcgan+stain", arm_b="stain")
    both = pd.concat([classic, combined], ignore_index=True)
    assert readings.family(both) == {
        "vs_baseline": False,
        "best_classic": "rebalance",
        "combined": True,
        "selected": False,
    }
    selected = rows.iloc[:1].assign(arm_a="dcgan_confident", arm_b="dcgan")
    assert readings.family(pd.concat([rows, selected]))["selected"]


# ---------------------------------------------------------------------------------------------
# Each generator's advantages and limitations (as data)


def kinds(arm: str, tables: dict) -> dict[tuple[str, str], str]:
    """{(aspect, statement): kind} of one generator's readings."""
    found = readings.generator_readings(arm, ["dcgan", "diffusion"], tables)
    return {(r.aspect, r.statement): r.kind for r in found}


def test_each_advantage_and_limitation_follows_the_inference():
    tables = discussion_tables(map_contrasts(), robustness_rows())
    dcgan, diffusion = kinds("dcgan", tables), kinds("diffusion", tables)
    A, L, N, M = readings.ADVANTAGE, readings.LIMITATION, readings.NEUTRAL, readings.NOT_MEASURED
    assert dcgan == {
        ("primary endpoint", DIFFERENCE): A,  # a decision of the declared family
        ("image quality", "distance.beyond_shift"): L,  # FID and KID intervals above the shift
        ("image quality", "share.as_shift"): N,  # precision's interval holds 0
        ("image quality", "share.below"): L,  # recall's lies below
        ("image quality", "spike.grid"): L,
        ("image quality", "spectrum.farther"): L,
        ("memorization", "copies.excess"): L,
        ("image quality", "quality.space_skipped"): M,
        ("image quality", "quality.rows_skipped"): M,
        ("train on synthetic", "tstr.not_run"): M,
        ("cost", "cost.cheapest"): A,  # 40 s vs 200 s, beyond the 1.25x margin
        ("robustness", "robustness.difference"): A,  # blur: degrades less, decided
        ("robustness", "robustness.none_shown"): N,
        ("calibration", "calibration.not_run"): M,
        ("data efficiency", "efficiency.contrasts"): A,  # mean effect decided positive
    }
    assert diffusion == {
        ("primary endpoint", NO_DIFFERENCE): N,
        ("image quality", "distance.within_shift"): A,
        ("image quality", "share.as_shift"): N,
        ("image quality", "spike.no_grid"): N,
        ("image quality", "spectrum.as_shift"): N,
        ("memorization", "copies.fewer"): N,  # no advantage: low fidelity reads so too
        ("image quality", "quality.rows_skipped"): M,
        ("train on synthetic", "tstr.not_run"): M,
        ("cost", "cost.extra"): L,
        ("robustness", "robustness.difference"): L,  # jpeg: degrades more, decided
        ("robustness", "robustness.none_shown"): N,
        ("calibration", "calibration.not_run"): M,
        ("data efficiency", "efficiency.contrasts"): N,
    }
    within = next(
        r
        for r in readings.quality_readings("diffusion", tables["image_quality"])
        if r.statement == "distance.within_shift"
    )
    assert within.numbers["as_floor"]  # the floor intervals hold 0
    fid = within.numbers["scores"][0]
    assert (fid["score"], fid["value"], fid["floor"], fid["shift"]) == ("fid", 1.2, 0.5, 1.5)
    assert fid["minus_shift"] == (-0.5, -0.1)


def test_a_comparison_on_top_of_a_classic_arm_reads_from_the_generators_side():
    rows = primary([(-0.03, 0.008)]).assign(arm_a="dcgan+stain", arm_b="stain")
    (reading,) = readings.primary_readings("dcgan", rows)
    assert reading.numbers["on_top"] and reading.numbers["other"] == "stain"
    assert reading.kind == readings.LIMITATION and reading.numbers["difference"] == -0.03
    reverse = primary([(0.03, 0.008)]).assign(arm_a="stain", arm_b="dcgan")
    (reading,) = readings.primary_readings("dcgan", reverse)
    assert reading.numbers["other"] == "stain" and reading.numbers["difference"] == -0.03
    assert reading.numbers["low"] == -reverse["ci_high"].iloc[0]


def test_costs_within_the_margin_call_no_difference():
    costs = pd.DataFrame(
        {
            "rule": ["train_classifier", "train_dcgan", "train_diffusion"],
            "jobs": [2, 1, 1],
            "wall_s": [10.0, 100.0, 110.0],
            "cpu_s": [9.0, 90.0, 100.0],
            "peak_rss_mb": [1.0, 1.0, 1.0],
        }
    )
    (reading,) = readings.cost_readings("dcgan", costs, ["dcgan", "diffusion"])
    assert (reading.kind, reading.statement) == (readings.NEUTRAL, "cost.within_margin")
    assert reading.numbers["per_classifier"] == 5.0 and reading.numbers["others"] == {
        "diffusion": 110.0
    }
    (alone,) = readings.cost_readings("dcgan", costs, ["dcgan"])
    assert alone.statement == "cost.extra"  # compute the baseline does not need
    (none,) = readings.cost_readings("dcgan", costs.iloc[:1], ["dcgan"])
    assert none.kind == readings.NOT_MEASURED


def test_image_quality_claims_nothing_without_a_patient_level_interval():
    """Point estimates alone decide nothing, however far apart (too few patients)."""
    why = "intervals undefined: 2 train patients, a patient bootstrap needs at least 5"
    quality = pd.DataFrame(
        [
            {"feature_space": "classifier", "generator": name, "label": 0, "fid": fid}
            | {"kid": kid, "precision": p, "recall": p, "status": "ok", "note": why}
            for name, fid, kid, p in (
                ("dcgan", 90.0, 3.0, 0.1),
                ("holdout", 1.0, 0.0, 0.9),
                ("real_val", 2.0, 0.01, 0.9),
            )
        ]
    )
    found = readings.quality_readings("dcgan", quality)
    assert [(r.kind, r.statement) for r in found] == [
        (readings.NEUTRAL, "distance.undefined"),
        (readings.NEUTRAL, "share.undefined"),
    ]
    assert all(r.numbers["why"].startswith("2 train patients") for r in found)


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
    (reading,) = readings.quality_readings("dcgan", pd.DataFrame(rows))
    assert (reading.kind, reading.statement) == (readings.NEUTRAL, "distance.one_score")
    assert reading.numbers["direction"] == "beyond"
    assert (reading.numbers["decided"], reading.numbers["undecided"]) == (["fid"], ["kid"])


def test_patients_copied_beyond_their_floor_are_a_limitation_by_name():
    table = pd.DataFrame(
        {
            "generator": "dcgan",
            "feature_space": "pixels",
            "patient": ["P1", "P2"],
            "share": [0.2, 0.0],
            "floor_share": [0.01, 0.01],
            "verdict": [readings.COPIED, "not beyond the floor"],
        }
    )
    (reading,) = readings.memorization_readings("dcgan", table)
    assert reading.kind == readings.LIMITATION
    assert [row["patient"] for row in reading.numbers["copied"]] == ["P1"]
    # no copy among 2 train patients claims nothing: "none copied" needs MIN_PATIENTS of them
    (few,) = readings.memorization_readings("dcgan", table.assign(verdict="not beyond"))
    assert few.statement == "patients.too_few" and few.kind == readings.NOT_MEASURED
    five = pd.concat([table] * 3, ignore_index=True).assign(
        patient=[f"P{i}" for i in range(6)], verdict="not beyond"
    )
    (none,) = readings.memorization_readings("dcgan", five)
    assert none.statement == "patients.none_copied" and none.numbers["patients"] == 6
    assert readings.memorization_readings("diffusion", table) == []


def test_the_map_reads_only_as_far_as_its_declared_contrasts():
    contrasts = contrasts_table(
        [
            ("dcgan", MEAN_EFFECT, 0.025, 0.004, 0.046, DIFFERENCE),
            ("dcgan", SCARCITY, 0.05, 0.01, 0.09, DIFFERENCE),
            ("diffusion", MEAN_EFFECT, -0.03, -0.05, -0.01, DIFFERENCE),
            ("diffusion", SCARCITY, -0.01, -0.05, 0.03, NO_DIFFERENCE),
        ]
    )
    (dcgan,) = readings.efficiency_readings("dcgan", contrasts)
    (diffusion,) = readings.efficiency_readings("diffusion", contrasts)
    assert dcgan.kind == readings.ADVANTAGE and len(dcgan.numbers["contrasts"]) == 2
    assert diffusion.kind == readings.LIMITATION  # its mean effect is a decided loss
    undecided = contrasts.assign(verdict=NO_DIFFERENCE)
    assert readings.efficiency_readings("dcgan", undecided)[0].kind == readings.NEUTRAL
    with pytest.raises(ValueError, match="estimate"):
        readings.efficiency_readings("dcgan", contrasts.drop(columns="estimate"))
    (missing,) = readings.efficiency_readings("dcgan", None)
    assert (missing.kind, missing.statement) == (readings.NOT_MEASURED, "efficiency.not_run")


def test_missing_tables_are_not_measured_readings_that_cite_their_table():
    tables = discussion_tables(None, None)
    found = readings.generator_readings("dcgan", ["dcgan"], tables)
    missing = {r.statement: r.source for r in found if r.kind == readings.NOT_MEASURED}
    assert missing["efficiency.not_run"] == "efficiency_contrasts"
    assert missing["robustness.not_run"] == "robustness"
    assert missing["tstr.not_run"] == "tstr"
    assert missing["calibration.not_run"] == "probability_calibration"
    (quality,) = readings.quality_readings("dcgan", None)
    assert (quality.kind, quality.statement) == (readings.NOT_MEASURED, "quality.not_run")


# ---------------------------------------------------------------------------------------------
# Tables, costs and formats


def test_interval_never_prints_an_undefined_or_zero_width_interval_as_numbers():
    assert interval(0.01, 0.05) == "[0.010, 0.050]"
    assert interval(np.nan, np.nan, "undefined: 1 test patient(s)").startswith(
        "undefined (1 test patient"
    )
    assert interval(0.02, 0.02) == "undefined (zero width)"
    assert percent(0.95) == "95%" and percent(0.9) == "90%" and percent(0.975) == "97.5%"
    assert percent(1 - 0.05 / 12) == "99.58%"  # a Bonferroni level, not 99.58333333%


def test_markdown_table_escapes_pipes_and_formats_numbers():
    table = markdown_table(pd.DataFrame({"a": ["x|y"], "b": [0.123456], "c": [np.nan]}))
    assert table.splitlines()[2] == "| x\\|y | 0.123 | – |"


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
    pool = tmp_path / "benchmarks" / "sample_dcgan" / "draw3" / "shard0.tsv"
    pool.parent.mkdir(parents=True)
    pool.write_text(header + files["manifest.tsv"])
    with_pool = benchmark_costs([tmp_path / "benchmarks" / "manifest.tsv"], [pool])
    assert with_pool.set_index("rule").loc["sample_dcgan_pool", "cpu_s"] == 1.0


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


def _fid_rows(fids: dict[tuple[str, int], dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"feature_space": space, "label": label, "generator": name, "fid": fid, "status": "ok"}
            for (space, label), by_set in fids.items()
            for name, fid in by_set.items()
        ]
    )


def test_the_generator_ranking_by_fid_is_compared_across_feature_spaces():
    agreeing = {
        ("classifier", 0): {"dcgan": 3.0, "diffusion": 20.0, "holdout": 0.1},
        ("dinov2", 0): {"dcgan": 40.0, "diffusion": 90.0, "real_val": 2.0},
    }
    ranking = quality_spaces(_fid_rows(agreeing))["ranking"]
    assert ranking["agree"] and ranking["orders"] == [
        {"space": "classifier", "label": 0, "order": ["dcgan", "diffusion"]},
        {"space": "dinov2", "label": 0, "order": ["dcgan", "diffusion"]},
    ]  # the real reference sets are not ranked
    disagreeing = agreeing | {("dinov2", 0): {"dcgan": 95.0, "diffusion": 90.0}}
    assert not quality_spaces(_fid_rows(disagreeing))["ranking"]["agree"]


def test_quality_table_keeps_measured_rows_and_tstr_lists_the_baseline_once():
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
    assert quality_spaces(quality) == {
        "used": ["classifier"],
        "skipped": {"inception": "skipped: no Inception weights"},
        "ranking": None,  # one space: nothing to agree on
    }
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


def test_the_entry_script_reads_the_tables_it_is_given_and_writes_html(tmp_path):
    """write_summary.main with the sweep's tables and without: the map's section follows, and
    the HTML report's front page (report/workflow.rst) gets the same summary rendered."""
    rows = primary([(0.03, 0.008)])
    frames = {"summary_ci": summary_ci(), "tests": make_tests(rows), "primary": rows}
    frames["costs"] = pd.DataFrame(columns=["rule", "jobs", "wall_s", "cpu_s", "peak_rss_mb"])
    frames["steps"] = pd.DataFrame(columns=["arm", "seed", "optimizer_steps"])
    frames["efficiency"] = efficiency_cells()
    frames["efficiency_contrasts"] = map_contrasts()
    for name, frame in frames.items():
        frame.to_csv(tmp_path / f"{name}.tsv", sep="\t", index=False)
    written = {}
    for sweep in (True, False):
        paths = {
            name: tmp_path / f"{name}.tsv"
            for name in frames
            if sweep or not name.startswith("efficiency")
        }
        write_summary.main(
            tables=paths,
            summary_path=tmp_path / "summary.md",
            html_path=tmp_path / "summary.html",
            alpha=0.05,
            data_source="folder",
            arms=["baseline", "dcgan"],
            log=None,
        )
        written[sweep] = (tmp_path / "summary.md").read_text()
    with_map, without = written[True], written[False]
    assert "| dcgan | 10% | 1 | 4 |" in with_map and "| dcgan | 10% |" not in without
    html = (tmp_path / "summary.html").read_text()
    assert html.startswith('<div class="idc-summary">') and html.count("<table>") >= 2
    assert "<h1>IDC-Synth: summary</h1>" in html
    assert "<b>" not in markdown_html("a <b>raw</b> tag") and "&lt;b&gt;" in markdown_html("<b>")
