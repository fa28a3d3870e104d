"""The tiny study (tests/config/tiny.yaml), run once per session by conftest's finished_run:
its tables, its logs, and what a change to it reruns (in copies of it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from patchdata import REAL_SAMPLE
from workflow_helpers import (
    REPO,
    TINY_CONFIG,
    checkout_env,
    copy_study,
    copy_workflow,
    default_config,
    dry_run_inputs,
    dry_run_rules,
    job_rules,
    jobs_after_change,
    snakemake,
    summary_values,
    tiny_config,
    write_config,
)

from idc_synth.arms import Arm
from idc_synth.memorization import COLUMNS as MEMORIZATION_COLUMNS
from idc_synth.metrics import METRIC_COLUMNS
from idc_synth.quality.features import CLEANFID_CACHE

pytestmark = pytest.mark.workflow

ARMS = tiny_config()["arms"]
GENERATORS = ["dcgan", "diffusion"]


def test_demo_study_writes_the_metrics_contract(finished_run):
    table = pd.read_csv(finished_run / "results/metrics/classification.tsv", sep="\t")
    assert list(table.columns) == list(METRIC_COLUMNS)
    assert sorted(zip(table["arm"], table["seed"], strict=True)) == sorted(
        (arm, seed) for arm in ARMS for seed in (0, 1)
    )
    assert table["balanced_accuracy"].between(0, 1).all()
    test_size = len(pd.read_parquet(finished_run / "results/data/packed/test.parquet"))
    assert (table[["tn", "fp", "fn", "tp"]].sum(axis=1) == test_size).all()


def test_splits_are_patient_level_and_cover_the_manifest(finished_run):
    manifest = pd.read_parquet(finished_run / "results/data/manifest.parquet")
    split = pd.read_parquet(finished_run / "results/data/split.parquet")
    assert not split["patient"].duplicated().any()
    tables = {
        name: pd.read_parquet(finished_run / f"results/data/packed/{name}.parquet")
        for name in ("train", "holdout", "val", "test")
    }
    assert sum(len(table) for table in tables.values()) == len(manifest)
    # the held-out train patches (image-quality floor) are train patients' and disjoint from train
    holdout = tables.pop("holdout")
    assert len(holdout) and set(holdout["patient"]) <= set(tables["train"]["patient"])
    assert not set(holdout["path"]) & set(tables["train"]["path"])
    for name, table in tables.items():
        assert set(table["patient"]) == set(split.loc[split["split"] == name, "patient"])


def test_test_predictions_use_the_threshold_chosen_on_val(finished_run):
    for arm in ("baseline", "diffusion"):
        info = json.loads((finished_run / f"results/classifiers/{arm}/seed0/info.json").read_text())
        history = pd.read_csv(
            finished_run / f"results/classifiers/{arm}/seed0/history.tsv", sep="\t"
        )
        predictions = pd.read_parquet(finished_run / f"results/predictions/{arm}/seed0.parquet")
        assert info["threshold_rule"] == "tuned on val" and 0 < info["threshold"] < 1
        assert history.loc[history["is_best"], "val_threshold"].item() == info["threshold"]
        assert predictions["threshold"].unique().tolist() == [info["threshold"]]
        called = predictions["probability"] >= info["threshold"]
        assert (called.astype(int) == predictions["predicted"]).all()


def test_every_job_logged_and_training_history_written(finished_run):
    history = pd.read_csv(finished_run / "results/classifiers/baseline/seed0/history.tsv", sep="\t")
    assert len(history) >= 1 and history["is_best"].sum() == 1
    log = (finished_run / "results/logs/train_classifier/baseline/seed0.log").read_text()
    assert "100%|" in log  # the tqdm bar went into the log
    assert "images/s" in (finished_run / "results/logs/pack/train.log").read_text()


def test_nothing_left_to_do_after_a_run(finished_run):
    dry = snakemake(finished_run, "-n")
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr


def test_a_moved_study_has_nothing_to_do(finished_run, tmp_path):
    """No path that depends on where the checkout lives reaches params or a command's text."""
    moved = copy_study(finished_run, tmp_path / "moved")
    dry = snakemake(moved, "-n")
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout


def test_the_tiny_config_file_plans_the_tiny_study(finished_run, tmp_path):
    """tests/config/tiny.yaml on top of the default config.yaml (`snakemake --configfile
    tests/config/tiny.yaml`) plans the jobs the finished study ran."""
    workdir = copy_workflow(tmp_path / "workflow", default_config())
    planned = dry_run_rules(workdir, "--configfile", str(TINY_CONFIG))
    assert planned == dry_run_rules(finished_run, "--forceall")


def test_a_changed_training_param_reruns_only_what_depends_on_it(finished_run, tmp_path):
    rules = jobs_after_change(finished_run, tmp_path, "classifier", "learning_rate", 0.002)
    assert {"train_classifier", "collect_metrics", "compare_arms"} <= rules
    assert not rules & {"make_demo_data", "manifest", "split", "pack", "train_dcgan"}


def test_edited_library_code_reruns_the_rules_that_import_it(finished_run, tmp_path):
    """Every script rule carries the digest of the idc_synth modules its script imports: an
    edit to the statistics reruns the tables and figures made from them and no training; an
    edit to the DCGAN's training code retrains the DCGAN (in a fresh state folder, not resuming
    the finished run)."""
    study = copy_study(finished_run, tmp_path / "study")
    library = study / "workflow_scripts/idc_synth"
    (library / "statistics.py").write_text((library / "statistics.py").read_text() + "\n# edit\n")
    rules = set(dry_run_rules(study))
    assert {"compare_arms", "robustness_metrics", "write_summary"} <= rules
    assert not rules & {"make_demo_data", "manifest", "pack", "train_dcgan", "train_diffusion"}
    assert "train_classifier" not in rules  # training code does not import the statistics
    training = library / "dcgan/training.py"
    training.write_text(training.read_text() + "\n# edited\n")
    generator = "results/models/dcgan/class0/generator.safetensors"
    assert "train_dcgan" in dry_run_rules(study, generator)
    assert len(list((study / "results/state/dcgan/class0").glob("code-*"))) == 1


def test_the_tiny_settings_given_alone_plan_nothing_for_the_study_they_ran(finished_run, tmp_path):
    """`--configfile tests/config/tiny.yaml` alone is the tiny study's config merged in another
    order (its keys first, the defaults filled in last): the same params, so nothing reruns."""
    study = copy_study(finished_run, tmp_path / "study")
    assert dry_run_rules(study, "--configfile", str(TINY_CONFIG)) == {}


def test_a_wording_edit_rewrites_only_the_summary(finished_run, tmp_path):
    """The summary's wording is a template in write_summary's code digest, and no other rule's."""
    study = copy_study(finished_run, tmp_path / "study")
    template = study / "workflow_scripts/idc_synth/report/summary.md.j2"
    # (an expression's newline: the template's first tag strips the text's whitespace before it)
    template.write_text('An edited first line.{{ "\\n" }}' + template.read_text())
    run = snakemake(study)
    assert run.returncode == 0, run.stderr[-2000:]
    assert set(job_rules(run)) == {"write_summary", "all"}
    before = (finished_run / "results/summary.md").read_text()
    assert (study / "results/summary.md").read_text() == "An edited first line.\n" + before


@pytest.mark.parametrize(("key", "value"), [("guidance_scale", 3.0), ("sampling_steps", 3)])
def test_a_sampling_knob_resamples_but_retrains_no_generator(finished_run, tmp_path, key, value):
    """train_diffusion receives no sampling knob (rules/common.smk slices the section)."""
    rules = jobs_after_change(finished_run, tmp_path, "diffusion", key, value)
    assert "sample_diffusion" in rules
    assert not rules & {"train_diffusion", "train_dcgan", "sample_dcgan"}


RED_BASELINE = {
    "baseline": "#FF0000",
    "dcgan": "#0072B2",
    "diffusion": "#D55E00",
    "real": "#009E73",
}


@pytest.mark.parametrize(
    ("key", "value"), [("dpi", 72), ("font_size", 12), ("colors", RED_BASELINE)]
)
def test_a_figure_option_reruns_only_figures(finished_run, tmp_path, key, value):
    rules = jobs_after_change(finished_run, tmp_path, "figures", key, value)
    assert {"plot_metrics", "plot_calibration_simulation"} <= rules
    assert rules <= {"all"} | {rule for rule in rules if rule.startswith("plot_")}


def test_cost_table_reads_the_dags_benchmarks_and_classifier_steps(finished_run):
    """One row per rule family of the declared benchmark files, and every classifier's
    optimizer steps."""
    infos = sorted((finished_run / "results/classifiers").glob("*/seed*/info.json"))
    costs = pd.read_csv(finished_run / "results/metrics/cost.tsv", sep="\t").set_index("rule")
    assert costs.loc["train_classifier", "jobs"] == len(infos)
    assert costs.loc["total", "jobs"] == costs.drop(index="total")["jobs"].sum()
    steps = pd.read_csv(finished_run / "results/metrics/classifier_steps.tsv", sep="\t")
    assert sorted(zip(steps["arm"], steps["seed"], strict=True)) == sorted(
        (path.parent.parent.name, int(path.parent.name.removeprefix("seed"))) for path in infos
    )
    assert (steps["optimizer_steps"] > 0).all()


def test_a_planted_difference_goes_through_the_workflows_own_rules(finished_run, tmp_path):
    """benchmarks/planted_effect.py on a copy of the finished study: the study is unchanged."""
    before = (finished_run / "results/metrics/primary.tsv").read_bytes()
    out = tmp_path / "planted.tsv"
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/planted_effect.py"), "--study", str(finished_run)]
        + ["--studies", "1", "--null-studies", "1", "--difference", "0.3", "--out", str(out)],
        capture_output=True,
        text=True,
        env=checkout_env(finished_run),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    table = pd.read_csv(out, sep="\t")
    assert table["planted"].tolist() == [0.3, 0.0]
    assert table.loc[0, "difference"] > 0.1  # the planted arm gained in this rerun
    assert "studies decided 'difference'" in run.stdout
    assert (finished_run / "results/metrics/primary.tsv").read_bytes() == before


def test_the_ingest_preflight_is_on_the_console_before_any_training(finished_run):
    console = (finished_run / "console.txt").read_text()
    preflight = console.index("Ingest preflight (after decoding):")
    assert preflight < console.index("rule train_")
    assert re.search(r"split sizes \(patients\)\s+train 3, val 1, test 2", console[preflight:])
    table = pd.read_csv(finished_run / "results/data/preflight.tsv", sep="\t")
    assert table.set_index("item").at["patients", "value"] == "6"
    split = pd.read_parquet(finished_run / "results/data/split.parquet")
    assert split["split"].value_counts().to_dict() == {"train": 3, "test": 2, "val": 1}


def test_the_summary_is_its_template_over_the_studys_tables(finished_run):
    """The summary is idc_synth.report's template rendered from this study's tables (the golden
    files of test_summary own its wording); here, what it reads from them."""
    values = summary_values(finished_run)
    assert values["arms"] == ARMS and values["patients"] == 2
    assert values["primary_table"] is not None and values["design"] is not None
    assert values["simulation"] is not None  # what this design can decide
    split = values["split"]
    assert split["split_sizes"] == {"train": 3, "val": 1, "test": 2} and split["left_out"] == []
    assert set(values["discussion"]) == set(GENERATORS)
    for generator, found in values["discussion"].items():
        # each generator's advantages and limitations include its cost, read from cost.tsv
        assert "cost" in {reading.source for reading in found}, generator
    for aspect in ("spread", "probability_calibration", "robustness"):
        assert values[aspect] is not None, aspect
    assert values["efficiency"] is None  # the tiny study has no sweep


def test_summary_tables_figures_and_html_report(finished_run):
    tests = pd.read_csv(finished_run / "results/metrics/tests.tsv", sep="\t")
    assert set(tests["role"]) == {"primary", "secondary", "descriptive"}
    primary = pd.read_csv(finished_run / "results/metrics/primary.tsv", sep="\t")
    assert set(primary["verdict"]) <= {"difference", "no difference shown", "undefined"}
    calibration = pd.read_csv(finished_run / "results/metrics/calibration_simulation.tsv", sep="\t")
    assert set(calibration["read"]) == {"primary", "spread", "contrast"}
    assert set(calibration["scenario"]) == {"demo", "full_scale", "seed_dominant"}
    split = pd.read_parquet(finished_run / "results/data/split.parquet")
    assert (calibration["n_patients"] == (split["split"] == "test").sum()).all()
    for figure in (finished_run / "results/figures").iterdir():
        assert figure.stat().st_size > 1000, figure
    quality = pd.read_csv(finished_run / "results/metrics/image_quality.tsv", sep="\t")
    assert set(quality["generator"]) == {"dcgan", "diffusion", "holdout", "real_val"}
    ok = quality[quality["status"] == "ok"]
    distribution = ok[ok["feature_space"] != "pixels"]
    assert (distribution.groupby(["feature_space", "label"])["n"].nunique() == 1).all()
    spectral = quality.loc[
        quality["feature_space"] == "pixels", ["spectral_distance", "spike_ratio"]
    ]
    assert len(spectral) == 8 and spectral.notna().all().all()  # every set and class
    assert quality.loc[distribution.index, ["density", "coverage"]].notna().all().all()
    copied = pd.read_csv(finished_run / "results/metrics/memorization.tsv", sep="\t")
    assert list(copied.columns) == list(MEMORIZATION_COLUMNS)
    assert set(copied["generator"]) == {"dcgan", "diffusion"}
    assert set(copied["verdict"]) <= {"copied beyond the floor", "not shown"}
    for model in ("dcgan/class0", "dcgan/class1", "diffusion"):
        progress = pd.read_csv(finished_run / f"results/models/{model}/quality.tsv", sep="\t")
        assert len(progress) and progress["fid_pixels"].notna().all(), model
    tstr = pd.read_csv(finished_run / "results/metrics/tstr.tsv", sep="\t")
    assert tstr.columns[3] == "roc_auc" and set(tstr["training_data"]) == {
        "synthetic only",
        "real train",
    }
    inception = quality.loc[quality["feature_space"] == "inception", "status"]
    if not CLEANFID_CACHE.exists():  # no weights here: skipped and said so, never downloaded
        assert inception.str.startswith(f"skipped: no Inception weights at {CLEANFID_CACHE}").all()
    assert_report_holds_every_table_and_the_summary(finished_run)


def test_an_encoder_folder_adds_its_feature_space_and_leaves_the_other_rows_alone(
    finished_run, tmp_path
):
    from tiny_encoders import save_tiny_transformers

    study = copy_study(finished_run, tmp_path / "encoders")
    folder = save_tiny_transformers(tmp_path / "dinov2-tiny")
    absent = tmp_path / "not-downloaded"
    overlay = tmp_path / "encoders.yaml"
    encoders = {"tinyvit": str(folder), "absent": str(absent)}
    overlay.write_text(yaml.safe_dump({"quality": {"encoders": encoders}}))
    rules = set(dry_run_rules(study, "--configfile", str(overlay)))
    assert {"quality_reference", "image_quality", "gather_image_quality"} <= rules
    assert not rules & {"pack", "train_classifier", "train_dcgan", "train_diffusion", "predict"}
    quality_tsv = study / "results/metrics/image_quality.tsv"
    before = pd.read_csv(quality_tsv, sep="\t")
    run = snakemake(study, "--configfile", str(overlay))
    assert run.returncode == 0, run.stderr[-4000:]

    after = pd.read_csv(quality_tsv, sep="\t")
    tiny = after[after["feature_space"] == "tinyvit"]
    assert set(tiny["generator"]) == {*GENERATORS, "holdout", "real_val"}
    assert (tiny["status"] == "ok").all() and tiny["fid"].notna().all()
    assert tiny.loc[tiny["generator"].isin(GENERATORS), "near_copy_share"].notna().all()
    # intervals where the classifier space has them (the tiny study's 3 train patients: none)
    interval = ["fid_low", "fid_high", "kid_low", "kid_high", "recall_low"]
    by_set = ["generator", "label"]
    classifier = after[after["feature_space"] == "classifier"].set_index(by_set)[interval]
    assert tiny.set_index(by_set)[interval].isna().equals(classifier.isna())
    skipped = after.loc[after["feature_space"] == "absent", "status"]
    assert (
        len(skipped) == len(tiny) and (skipped == f"skipped: no encoder folder at {absent}").all()
    )
    # the built-in spaces' rows, intervals included, are those of the study without encoders
    kept = after[after["feature_space"].isin(before["feature_space"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, before)
    copied = pd.read_csv(study / "results/metrics/memorization.tsv", sep="\t")
    assert "tinyvit" in set(copied["feature_space"])
    spaces = summary_values(study)["quality_spaces"]
    assert spaces["skipped"]["absent"].startswith("skipped: no encoder folder")
    ranked = {order["space"] for order in spaces["ranking"]["orders"]}
    assert ranked == {"classifier", "tinyvit"}  # the generators ranked in both spaces


# Every table a reader needs in the HTML report of the tiny study (its sweep is off).
REPORT_TABLES = {
    f"results/metrics/{name}.tsv"
    for name in (
        "classification",
        "summary_ci",
        "primary",
        "tests",
        "variance",
        "per_patient",
        "patient_spread",
        "probability_calibration",
        "robustness",
        "tstr",
        "image_quality",
        "calibration_simulation",
        "cost",
        "classifier_steps",
    )
} | {"results/data/preflight.tsv", "results/summary.md", "results/summary.html"}


def report_variables(report: Path) -> dict:
    """What the Snakemake report draws itself from: `<script id=...> var <name> = <JSON>;`."""
    names = "results|workflow_desc"
    pattern = rf'<script id="[\w-]+">\s*var ({names}) = (.*);$'
    found = re.finditer(pattern, report.read_text(), re.MULTILINE)
    return {match[1]: json.loads(match[2]) for match in found}


def assert_report_holds_every_table_and_the_summary(study: Path) -> None:
    """benchmarks/report_screenshot.py builds the report and, where Chromium is installed,
    photographs its front page; every table and figure is a captioned result, and the front
    page (the workflow description) is the rendered summary."""
    script = REPO / "benchmarks/report_screenshot.py"
    run = subprocess.run(
        [sys.executable, str(script), str(study)],
        capture_output=True,
        text=True,
        timeout=900,
        env=checkout_env(study),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = report_variables(study / "report.html")
    figures = {f"results/figures/{figure.name}" for figure in (study / "results/figures").iterdir()}
    assert REPORT_TABLES | figures <= set(report["results"])
    assert all(result["caption"] for result in report["results"].values())
    front_page = report["workflow_desc"]
    headings = re.findall(r"^(#+) (.+)$", (study / "results/summary.md").read_text(), re.M)
    assert len(headings) > 5
    for hashes, heading in headings:
        assert f"<h{len(hashes)}>{heading}</h{len(hashes)}>" in front_page, heading
    if "screenshot (" in run.stdout:
        assert (study / "results/report/front_page.png").stat().st_size > 10_000
    else:
        assert "skipped the screenshot: no Chromium found" in run.stdout


def test_config_typo_is_named_before_any_job(tmp_path):
    config = tiny_config()
    config["classifier"]["max_epoch"] = 3
    config["figures"]["format"] = "pngg"
    workdir = copy_workflow(tmp_path, config)
    run = snakemake(workdir, "-n")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "classifier.max_epoch: unknown key; did you mean 'max_epochs'?" in output
    assert "figures.format: 'pngg' is not allowed (did you mean 'png'?)" in output
    assert "Failed validating" not in output and len(output.splitlines()) < 12
    assert not (workdir / "results").exists()


def test_out_of_range_value_is_named(tmp_path):
    config = tiny_config()
    config["split"]["fractions"]["val"] = 1.5
    run = snakemake(copy_workflow(tmp_path, config), "-n")
    assert run.returncode != 0
    assert "split.fractions.val: 1.5 is not allowed; must be < 1" in run.stdout + run.stderr


@pytest.mark.skipif(not REAL_SAMPLE.is_dir(), reason=f"real IDC sample not found at {REAL_SAMPLE}")
def test_real_sample_stops_at_the_split_with_a_clear_error(tmp_path):
    config = tiny_config()
    config["data"].update(source="folder", root=str(REAL_SAMPLE))
    workdir = copy_workflow(tmp_path, config)
    # The plan already knows from the file names: preflight refuses before any job runs.
    refused = snakemake(workdir, "results/data/split.parquet")
    assert refused.returncode != 0
    assert "needs at least 3 patients" in refused.stderr and "has 2" in refused.stderr
    assert "fix: add patients to data.root" in refused.stderr
    assert not (workdir / "results/data/manifest.parquet").exists()
    # Told to go on, the split job itself stops with the same reason in its log.
    run = snakemake(workdir, "results/data/split.parquet", "--config", "preflight=warn")
    assert run.returncode != 0
    manifest = pd.read_parquet(workdir / "results/data/manifest.parquet")
    assert len(manifest) == 1397 and set(manifest["patient"]) == {"10253", "10254"}
    log = (workdir / "results/logs/split.log").read_text()
    assert "at least 3 patients" in log and "has 2" in log
    assert not (workdir / "results/data/split.parquet").exists()


def test_dcgan_arm_trains_on_real_plus_synthetic(finished_run):
    manifest = pd.read_parquet(finished_run / "results/synthetic/dcgan/manifest.parquet")
    # one draw per classifier seed, each with its own seed per (class, shard)
    assert manifest.groupby(["draw", "label"]).size().to_dict() == {
        (draw, label): 24 for draw in (0, 1) for label in (0, 1)
    }
    assert manifest["seed"].nunique() == 8
    for model in ("class0", "class1"):
        folder = finished_run / "results/models/dcgan" / model
        assert (folder / "generator.safetensors").is_file() and (folder / "previews.png").is_file()
    real = len(pd.read_parquet(finished_run / "results/data/packed/train.parquet"))
    baseline = json.loads(
        (finished_run / "results/classifiers/baseline/seed0/info.json").read_text()
    )
    dcgan = json.loads((finished_run / "results/classifiers/dcgan/seed0/info.json").read_text())
    assert sum(baseline["n_train"].values()) == real
    assert sum(dcgan["n_train"].values()) == real + 48
    assert dcgan["n_val"] == baseline["n_val"]  # validation stays real


def test_generators_never_read_val_or_test(finished_run):
    inputs = dry_run_inputs(finished_run)
    for rule in ("train_dcgan", "sample_dcgan", "train_diffusion", "sample_diffusion"):
        assert inputs[rule], rule
        assert not [path for path in inputs[rule] if "/val." in path or "/test." in path]
    assert any("packed/test.npy" in path for path in inputs["predict"])
    readers_of_test = {
        rule for rule, paths in inputs.items() if any("packed/test." in p for p in paths)
    }
    # only prediction jobs: the clean one and the perturbed one (robustness), no training
    assert readers_of_test == {"predict", "predict_perturbed"}
    readers_of_holdout = {
        rule for rule, paths in inputs.items() if any("packed/holdout." in p for p in paths)
    }
    # the training jobs read held-out patches only to score their snapshots against them (a
    # scored and an unscored run train the same weights: test_dcgan, test_diffusion)
    assert readers_of_holdout == {
        "quality_reference",
        "image_quality",
        "train_dcgan",
        "train_diffusion",
    }


def test_diffusion_training_gets_one_process_per_gpu_of_its_job(finished_run, tmp_path):
    """The README's multi-GPU request, on this CPU machine: two processes in a gloo group."""
    workdir = copy_study(finished_run, tmp_path / "run")
    shutil.rmtree(workdir / "results/state/diffusion")  # train again, not resume a finished run
    run = snakemake(
        workdir,
        "-p",
        "--forcerun",
        "train_diffusion",
        "--until",
        "train_diffusion",
        "--set-resources",
        "train_diffusion:gpu=2",
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert "accelerate launch" in run.stdout + run.stderr
    assert "--num_processes 2 --multi_gpu" in run.stdout + run.stderr
    log = (workdir / "results/logs/train_diffusion.log").read_text()
    assert log.count(", 2 process(es)") == 1 and "phase unet done" in log


def test_pretrained_mode_runs_the_lora_path_offline(finished_run, tmp_path):
    """The finished study switched to LoRA on a local pipeline: its data are reused, the
    diffusion model is fine-tuned and sampled without the network."""
    from tiny_sd import TINY_RESOLUTION, save_tiny_pipeline

    workdir = copy_study(finished_run, tmp_path / "run")
    config = tiny_config()
    config["diffusion"].update(
        mode="pretrained",
        pretrained_path=str(save_tiny_pipeline(tmp_path / "tiny-sd")),
        resolution=TINY_RESOLUTION,
        lora_rank=2,
        lora_steps=3,
        lora_batch_size=2,
    )
    config["arms"] = ["baseline", "diffusion"]
    config["synthetic"]["shards_per_class"] = 1  # one sampling job per draw
    write_config(workdir / "config.yaml", config)
    target = "results/synthetic/diffusion/manifest.parquet"
    run = snakemake(workdir, target, env={"HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-4000:]
    assert not {"make_demo_data", "manifest", "pack"} & set(job_rules(run))
    model = workdir / "results/models/diffusion/model"
    assert list(model.glob("*lora*.safetensors"))
    manifest = pd.read_parquet(workdir / "results/synthetic/diffusion/manifest.parquet")
    assert manifest.groupby("label").size().to_dict() == {0: 48, 1: 48}  # 2 draws


def test_arms_get_equal_steps_and_seeds_read_their_own_draw(finished_run):
    """classifier.budget steps and synthetic.replicates per_seed: every arm, synthetic-only
    ones too, takes the same optimizer steps whatever it trains on, and the classifier of
    seed i trains on (and its predictions name) synthetic draw i."""
    manifest = pd.read_parquet(finished_run / "results/synthetic/diffusion/manifest.parquet")
    assert sorted(manifest["draw"].unique()) == [0, 1]
    assert not set(manifest.loc[manifest["draw"] == 0, "seed"]) & set(
        manifest.loc[manifest["draw"] == 1, "seed"]
    )
    real = len(pd.read_parquet(finished_run / "results/data/packed/train.parquet"))
    steps = 2 * -(-real // 64)  # max_epochs x ceil(real train / batch_size); patience > epochs
    runs = [(arm, seed) for arm in ARMS for seed in (0, 1)]
    for arm, seed in [*runs, ("dcgan_only", 0), ("diffusion_only", 0)]:
        folder = finished_run / f"results/classifiers/{arm}/seed{seed}"
        info = json.loads((folder / "info.json").read_text())
        history = pd.read_csv(folder / "history.tsv", sep="\t")
        assert info["budget"] == "steps"
        assert info["optimizer_steps"] == info["budget_steps"] == steps, (arm, seed)
        assert history["optimizer_steps"].iloc[-1] == steps
        generated = Arm.parse(arm).generator is not None
        draw = seed if generated else -1
        assert info["synthetic_draw"] == draw
        # one trained generator behind every draw (synthetic.generator_realizations: one)
        assert info["generator_realization"] == (0 if generated else -1)
        synthetic = 48 if generated else 0
        assert sum(info["n_train"].values()) == synthetic + (0 if "_only" in arm else real)
        if (arm, seed) in runs:
            predictions = finished_run / f"results/predictions/{arm}/seed{seed}.parquet"
            assert pd.read_parquet(predictions)["synthetic_draw"].unique().tolist() == [draw]
    state = finished_run / "results/state/classifiers/dcgan/seed1"
    assert len(list(state.glob("code-*/checkpoint.pt"))) == 1
    log = (finished_run / "results/logs/train_classifier/diffusion/seed1.log").read_text()
    assert "of draw 1 from 4 shards" in log


def test_classic_arms_enter_the_family_against_the_generators(finished_run):
    """Stain, rebalance and mixup train as arms; each generator is compared with the baseline
    and with the classic arm of the best val score, the combined arm with stain alone."""
    results = finished_run / "results"
    infos = {
        (arm, seed): json.loads((results / f"classifiers/{arm}/seed{seed}/info.json").read_text())
        for arm in ARMS
        for seed in (0, 1)
    }
    assert infos["stain", 0]["settings"]["stain_strength"] == 0.05
    assert infos["dcgan+stain", 0]["settings"]["stain_strength"] == 0.05
    assert (
        infos["dcgan+stain", 0]["synthetic_draw"] == 0 and infos["stain", 0]["synthetic_draw"] == -1
    )
    rebalance = infos["rebalance", 0]
    assert rebalance["settings"]["balance_classes"] and rebalance["pos_weight"] == 1
    assert infos["mixup", 0]["settings"]["mixup_alpha"] == 0.2
    val = {
        arm: sum(infos[arm, seed]["val_scores"]["balanced_accuracy"] for seed in (0, 1))
        for arm in ("stain", "rebalance", "mixup")
    }
    best = max(sorted(val), key=val.get)
    primary = pd.read_csv(results / "metrics/primary.tsv", sep="\t")
    assert primary["comparison"].tolist() == [
        "dcgan vs baseline",
        "diffusion vs baseline",
        f"dcgan vs {best}",
        f"diffusion vs {best}",
        "dcgan+stain vs stain",
    ]
    assert (primary["family_size"] == 5).all()
    simulated = pd.read_csv(results / "metrics/calibration_simulation.tsv", sep="\t")
    assert (simulated["family_size"] == 5).all()
    values = summary_values(finished_run)
    assert values["family"] == {
        "vs_baseline": True,
        "best_classic": best,
        "combined": True,
        "selected": False,
    }
    on_top = [read.numbers["other"] for read in values["discussion"]["dcgan"]
              if read.source == "primary" and read.numbers["on_top"]]  # fmt: skip
    assert on_top == ["stain"]  # dcgan's discussion reads dcgan+stain vs stain from its side


def test_a_third_draw_samples_but_retrains_no_classifier(finished_run, tmp_path):
    """Each classifier reads only its own draw's shards: adding a draw samples it and regathers
    the manifest, but no seed's classifier changes its data, so none retrains."""
    rules = jobs_after_change(finished_run, tmp_path, "synthetic", "replicates", 3)
    assert {"sample_dcgan", "sample_diffusion", "gather_synthetic"} <= rules
    assert not rules & {"train_classifier", "train_dcgan", "train_diffusion", "predict"}


def test_per_patient_calibration_tables_figures_and_summary(finished_run):
    results = finished_run / "results"
    per_patient = pd.read_csv(results / "metrics/per_patient.tsv", sep="\t")
    test_patients = pd.read_parquet(results / "data/split.parquet").query("split == 'test'")
    assert set(per_patient["patient"].astype(str)) == set(test_patients["patient"].astype(str))
    assert len(per_patient) == len(ARMS) * 2 * len(test_patients)  # arms x seeds x patients
    calibration = pd.read_csv(results / "metrics/probability_calibration.tsv", sep="\t")
    assert set(calibration["metric"]) == {"brier", "ece"}
    assert calibration["value"].between(0, 1).all()
    for family in ("per_patient", "reliability"):
        assert (results / f"figures/{family}.png").stat().st_size > 1000


def test_robustness_predicts_perturbed_tests_without_touching_the_packed_split(finished_run):
    results = finished_run / "results"
    robustness = pd.read_csv(results / "metrics/robustness.tsv", sep="\t")
    config = yaml.safe_load((finished_run / "config.yaml").read_text())["robustness"]
    expected = {
        (name, float(s)) for name, values in config["perturbations"].items() for s in values
    }
    assert set(zip(robustness["perturbation"], robustness["strength"], strict=True)) == expected
    assert set(robustness["arm"]) == set(ARMS)
    perturbed = pd.read_parquet(results / "robustness/stain.parquet")
    clean = pd.read_parquet(results / "predictions/baseline/seed0.parquet")
    assert len(perturbed) == len(clean) * len(ARMS) * 2 * len(config["perturbations"]["stain"])
    packed_time = (results / "data/packed/test.npy").stat().st_mtime
    assert packed_time < (results / "robustness/stain.parquet").stat().st_mtime
    assert (results / "figures/robustness.png").stat().st_size > 1000


def test_the_sweep_shares_the_main_study_and_trains_each_fraction_on_its_patients(
    finished_run, tmp_path
):
    study = copy_study(finished_run, tmp_path / "sweep")
    overlay = tmp_path / "sweep.yaml"
    sweep = {"enabled": True, "real_fractions": [0.5, 1.0], "synthetic_ratios": [0, 1]}
    overlay.write_text(yaml.safe_dump({"sweep": sweep}))
    rules = jobs_after_change(study, tmp_path, "sweep", "enabled", True)
    # jobs that do not depend on a fraction are the main study's, not repeated
    assert not rules & {"pack", "train_dcgan", "train_diffusion", "train_classifier", "predict"}
    assert {"sweep_subset", "sweep_train_dcgan", "sweep_train_diffusion"} <= rules
    inputs = dry_run_inputs(study, "--configfile", str(overlay))
    held_out = {"results/data/packed/holdout.npy", "results/data/packed/holdout.parquet"}
    for rule in ("sweep_train_dcgan", "sweep_train_diffusion"):
        # trained on the fraction's copy; the main held-out patches only score snapshots
        training = set(inputs[rule]) - held_out
        assert training and all(p.startswith("results/sweep/frac0.5/") for p in training)
        assert held_out <= set(inputs[rule])
    run = snakemake(study, "--configfile", str(overlay))
    assert run.returncode == 0, run.stderr[-4000:]

    results = study / "results"
    kept = (results / "sweep/frac0.5/patients.txt").read_text().split()
    train = pd.read_parquet(results / "data/packed/train.parquet")["patient"].astype(str)
    assert set(kept) < set(train)
    # the fraction's generators trained on a copy holding its patients' patches, nothing else
    subset = pd.read_parquet(results / "sweep/frac0.5/train.parquet")["patient"].astype(str)
    assert set(subset) == set(kept) and len(subset) == train.isin(kept).sum()
    dcgan_log = (results / "logs/sweep/frac0.5/train_dcgan/class0.log").read_text()
    assert "sweep/frac0.5/train.npy" in dcgan_log

    efficiency = pd.read_csv(results / "metrics/efficiency.tsv", sep="\t")
    assert len(efficiency) == 2 + 2 * 2  # real-only per fraction, 2 generators x 2 fractions
    assert set(efficiency["real_fraction"]) == {0.5, 1.0}
    at_full = efficiency.query("arm == 'baseline' and real_fraction == 1.0")
    main = pd.read_csv(results / "metrics/summary_ci.tsv", sep="\t")
    main = main.query("arm == 'baseline' and metric == 'balanced_accuracy'")
    assert at_full["value"].iloc[0] == pytest.approx(main["mean"].iloc[0])  # shared classifiers
    assert efficiency.query("real_fraction == 0.5")["real_train_patches"].eq(len(subset)).all()
    for family in ("efficiency", "learning_curve"):
        assert (results / f"figures/{family}.png").stat().st_size > 1000
    efficiency_read = summary_values(study)["efficiency"]
    assert set(efficiency_read["contrasts"]) == set(GENERATORS)  # each generator's contrasts
    equivalents = pd.read_csv(results / "metrics/efficiency_equivalents.tsv", sep="\t")
    assert equivalents[["arm", "real_fraction"]].values.tolist() == [
        ["dcgan", 0.5],
        ["diffusion", 0.5],
    ]
    assert [row["arm"] for row in efficiency_read["equivalents"]] == GENERATORS
    costs = pd.read_csv(results / "metrics/cost.tsv", sep="\t").set_index("rule")
    assert costs.loc["sweep_train_classifier", "jobs"] == 2 + 2 * 2 * 2  # fraction 1 shared
