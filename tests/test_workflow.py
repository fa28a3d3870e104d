"""Run the real Snakefile on a tiny config in a temp copy of the workflow."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from patchdata import REAL_SAMPLE

from idc_synth.memorization import COLUMNS as MEMORIZATION_COLUMNS
from idc_synth.metrics import METRIC_COLUMNS
from idc_synth.quality.features import CLEANFID_CACHE

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = (
    "Snakefile",
    "rules",
    "workflow_scripts",
    "schemas",
    "envs",
    "report",
    "profiles",
    "resources",
    "config.yaml",
)

pytestmark = pytest.mark.workflow


def tiny_config() -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["demo"].update(n_patients=6, patches_per_patient=60, edge_patch_fraction=0.05)
    config["classifier"].update(max_epochs=2, seeds=[0, 1], batch_size=64)
    config["pack"]["workers"] = 2
    config["dcgan"].update(
        latent_dim=16,
        generator_channels=4,
        discriminator_channels=4,
        epochs=1,
        min_steps=0,
        batch_size=32,
        checkpoint_every=5,
    )
    config["diffusion"].update(
        vae_channels=[4, 8],
        vae_steps=3,
        unet_channels=[8, 16],
        unet_steps=4,
        checkpoint_every=2,
        sampling_steps=2,
        vae_batch_size=4,
        unet_batch_size=4,
        preview_per_class=2,
    )
    config["synthetic"].update(count={"mode": "absolute", "value": 24}, shards_per_class=2)
    config["arms"] = ["baseline", "dcgan", "diffusion"]
    config["statistics"]["simulation"]["studies"] = 20
    config["quality"]["holdout_fraction"] = 0.3  # at least 10 held-out patches of each class
    return config


def copy_workflow(destination: Path, config: dict) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(
                source, destination / part, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / part)
    (destination / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return destination


def snakemake(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    return subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"), tiny_config())
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-4000:]
    (workdir / "console.txt").write_text(run.stdout + run.stderr)  # what the user saw
    return workdir


def test_demo_study_writes_the_metrics_contract(finished_run):
    table = pd.read_csv(finished_run / "results/metrics/classification.tsv", sep="\t")
    assert list(table.columns) == list(METRIC_COLUMNS)
    assert sorted(zip(table["arm"], table["seed"], strict=True)) == [
        (arm, seed) for arm in ("baseline", "dcgan", "diffusion") for seed in (0, 1)
    ]
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
    moved = Path(shutil.copytree(finished_run, tmp_path / "moved", symlinks=True))
    dry = snakemake(moved, "-n")
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout


def jobs_after_change(workdir: Path, tmp_path: Path, section: str, key: str, value) -> set[str]:
    """Rules a dry run would rerun after one config value changes."""
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config[section][key] = value
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(config, sort_keys=False))
    dry = snakemake(workdir, "-n", "--configfile", str(changed))
    assert dry.returncode == 0, dry.stderr[-2000:]
    lines = (dry.stdout + dry.stderr).splitlines()
    return {
        line.split()[1].rstrip(":") for line in lines if line.startswith(("rule ", "localrule "))
    }


def test_a_changed_training_param_reruns_only_what_depends_on_it(finished_run, tmp_path):
    rules = jobs_after_change(finished_run, tmp_path, "classifier", "learning_rate", 0.002)
    assert {"train_classifier", "collect_metrics", "compare_arms"} <= rules
    assert not rules & {"make_demo_data", "manifest", "split", "pack", "train_dcgan"}


def test_edited_library_code_reruns_the_tables_and_figures_it_makes(finished_run, tmp_path):
    """Every script rule carries the digest of the idc_synth modules its script imports."""
    study = Path(shutil.copytree(finished_run, tmp_path / "study", symlinks=True))
    library = study / "workflow_scripts/idc_synth/statistics.py"
    library.write_text(library.read_text() + "\n# an edit\n")
    dry = snakemake(study, "-n")
    assert dry.returncode == 0, dry.stderr[-2000:]
    rules = {
        line.split()[1].rstrip(":")
        for line in (dry.stdout + dry.stderr).splitlines()
        if line.startswith(("rule ", "localrule "))
    }
    assert {"compare_arms", "robustness_metrics", "write_summary"} <= rules
    assert not rules & {"make_demo_data", "manifest", "pack", "train_dcgan", "train_diffusion"}
    assert "train_classifier" not in rules  # training code does not import the statistics


def test_a_wording_edit_rewrites_only_the_summary(finished_run, tmp_path):
    """The summary's wording is a template in write_summary's code digest, and no other rule's."""
    study = Path(shutil.copytree(finished_run, tmp_path / "study", symlinks=True))
    template = study / "workflow_scripts/idc_synth/report/summary.md.j2"
    template.write_text(template.read_text().replace("# IDC-Synth: summary", "# Study summary"))
    run = snakemake(study)
    assert run.returncode == 0, run.stderr[-2000:]
    rules = {
        line.split()[1].rstrip(":")
        for line in (run.stdout + run.stderr).splitlines()
        if line.startswith(("rule ", "localrule "))
    }
    assert rules == {"write_summary", "all"}
    assert (study / "results/summary.md").read_text().startswith("# Study summary\n")


@pytest.mark.parametrize(("key", "value"), [("guidance_scale", 3.0), ("sampling_steps", 3)])
def test_a_sampling_knob_resamples_but_retrains_no_generator(finished_run, tmp_path, key, value):
    """train_diffusion receives no sampling knob (rules/common.smk slices the section)."""
    rules = jobs_after_change(finished_run, tmp_path, "diffusion", key, value)
    assert "sample_diffusion" in rules
    assert not rules & {"train_diffusion", "train_dcgan", "sample_dcgan"}


def test_edited_library_code_reruns_the_rules_that_import_it(tmp_path):
    """A generator trained, its library edited: the training rule reruns (in a fresh state
    folder, not resuming the finished run); an edit to a module it does not import does not."""
    workdir = copy_workflow(tmp_path, tiny_config())
    target = "results/models/dcgan/class0/generator.safetensors"
    run = snakemake(workdir, target)
    assert run.returncode == 0, run.stderr[-4000:]
    library = workdir / "workflow_scripts/idc_synth"
    for name, reruns in (("statistics.py", False), ("dcgan/training.py", True)):
        (library / name).write_text((library / name).read_text() + "\n# edited\n")
        dry = snakemake(workdir, "-n", target)
        assert dry.returncode == 0, dry.stderr[-2000:]
        assert ("rule train_dcgan:" in dry.stdout + dry.stderr) == reruns, name
    assert len(list((workdir / "results/state/dcgan/class0").glob("code-*"))) == 1


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
    assert "| train_classifier |" in (finished_run / "results/summary.md").read_text()


def test_a_planted_difference_goes_through_the_workflows_own_rules(finished_run, tmp_path):
    """benchmarks/planted_effect.py on a copy of the finished study: the study is unchanged."""
    before = (finished_run / "results/metrics/primary.tsv").read_bytes()
    out = tmp_path / "planted.tsv"
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/planted_effect.py"), "--study", str(finished_run)]
        + ["--studies", "1", "--null-studies", "1", "--difference", "0.3", "--out", str(out)],
        capture_output=True,
        text=True,
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
    summary = (finished_run / "results/summary.md").read_text()
    assert (
        "Split: stratified by patient (seed 0; patch shares train 0.5, val 0.2, test 0.3): "
        "train 3, val 1, test 2 patients; no patient left out." in summary
    )


def test_summary_figures_and_html_report(finished_run):
    summary = (finished_run / "results/summary.md").read_text()
    for arm in ("baseline", "dcgan", "diffusion"):
        assert arm in summary
    assert "## Primary endpoint" in summary and "## Methods" in summary
    discussion = summary.split("## Advantages and limitations", 1)[1]
    assert "### dcgan" in discussion and "### diffusion" in discussion
    assert "(results/metrics/cost.tsv)" in discussion
    tests = pd.read_csv(finished_run / "results/metrics/tests.tsv", sep="\t")
    assert set(tests["role"]) == {"primary", "secondary", "descriptive"}
    primary = pd.read_csv(finished_run / "results/metrics/primary.tsv", sep="\t")
    assert primary["comparison"].tolist() == ["dcgan vs baseline", "diffusion vs baseline"]
    assert set(primary["verdict"]) <= {"difference", "no difference shown", "undefined"}
    calibration = pd.read_csv(finished_run / "results/metrics/calibration_simulation.tsv", sep="\t")
    assert set(calibration["read"]) == {"primary", "spread", "contrast"}
    assert set(calibration["scenario"]) == {"demo", "full_scale", "seed_dominant"}
    split = pd.read_parquet(finished_run / "results/data/split.parquet")
    assert (calibration["n_patients"] == (split["split"] == "test").sum()).all()
    assert "**What this design can decide**" in summary
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
        [sys.executable, str(script), str(study)], capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = report_variables(study / "report.html")
    figures = {f"results/figures/{figure.name}" for figure in (study / "results/figures").iterdir()}
    assert REPORT_TABLES | figures <= set(report["results"])
    assert all(result["caption"] for result in report["results"].values())
    front_page = report["workflow_desc"]
    assert "<h1>IDC-Synth: summary</h1>" in front_page and "<h2>Primary endpoint</h2>" in front_page
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
    run = snakemake(workdir, "results/data/split.parquet")
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


def dry_run_inputs(workdir: Path, *args: str) -> dict[str, list[str]]:
    """rule name -> input files of every job a forced dry run of the whole DAG would run."""
    dry = snakemake(workdir, "-n", "--forceall", *args)
    assert dry.returncode == 0, dry.stderr[-2000:]
    inputs: dict[str, list[str]] = {}
    rule = None
    for line in (dry.stdout + dry.stderr).splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("input:") and rule:
            inputs.setdefault(rule, []).extend(line.split(":", 1)[1].replace(",", " ").split())
    return inputs


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


def test_balance_count_skips_tstr_with_its_reason_instead_of_crashing(tmp_path):
    config = tiny_config()
    config["synthetic"]["count"] = {"mode": "balance", "value": 0}
    workdir = copy_workflow(tmp_path, config)
    dry = snakemake(workdir, "-n", "--forceall")
    assert dry.returncode == 0, dry.stderr[-2000:]
    output = dry.stdout + dry.stderr
    assert "_only" not in output  # no synthetic-only classifier is trained (it would crash)
    assert "results/metrics/tstr.tsv" in output  # still comes, with the skipped rows


def test_diffusion_training_gets_one_process_per_gpu_of_its_job(finished_run, tmp_path):
    """The README's multi-GPU request, on this CPU machine: two processes in a gloo group."""
    workdir = Path(shutil.copytree(finished_run, tmp_path / "run", symlinks=True))
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


def test_pretrained_mode_runs_the_lora_path_offline(tmp_path):
    from tiny_sd import TINY_RESOLUTION, save_tiny_pipeline

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
    workdir = copy_workflow(tmp_path / "run", config)
    run = snakemake(
        workdir, "results/synthetic/diffusion/manifest.parquet", env={"HF_HUB_OFFLINE": "1"}
    )
    assert run.returncode == 0, run.stderr[-4000:]
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
    runs = [(arm, seed) for arm in ("baseline", "dcgan", "diffusion") for seed in (0, 1)]
    for arm, seed in [*runs, ("dcgan_only", 0), ("diffusion_only", 0)]:
        folder = finished_run / f"results/classifiers/{arm}/seed{seed}"
        info = json.loads((folder / "info.json").read_text())
        history = pd.read_csv(folder / "history.tsv", sep="\t")
        assert info["budget"] == "steps"
        assert info["optimizer_steps"] == info["budget_steps"] == steps, (arm, seed)
        assert history["optimizer_steps"].iloc[-1] == steps
        draw = -1 if arm == "baseline" else seed
        assert info["synthetic_draw"] == draw
        # one trained generator behind every draw (synthetic.generator_realizations: one)
        assert info["generator_realization"] == (-1 if arm == "baseline" else 0)
        synthetic = 0 if arm == "baseline" else 48
        assert sum(info["n_train"].values()) == synthetic + (0 if "_only" in arm else real)
        if (arm, seed) in runs:
            predictions = finished_run / f"results/predictions/{arm}/seed{seed}.parquet"
            assert pd.read_parquet(predictions)["synthetic_draw"].unique().tolist() == [draw]
    assert (
        len(
            list(
                (finished_run / "results/state/classifiers/dcgan/seed1").glob(
                    "code-*/checkpoint.pt"
                )
            )
        )
        == 1
    )
    log = (finished_run / "results/logs/train_classifier/diffusion/seed1.log").read_text()
    assert "of draw 1 from 4 shards" in log


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
    assert len(per_patient) == 3 * 2 * len(test_patients)  # arms x seeds x patients
    calibration = pd.read_csv(results / "metrics/probability_calibration.tsv", sep="\t")
    assert set(calibration["metric"]) == {"brier", "ece"}
    assert calibration["value"].between(0, 1).all()
    for family in ("per_patient", "reliability"):
        assert (results / f"figures/{family}.png").stat().st_size > 1000
    summary = (results / "summary.md").read_text()
    assert "## Generalization across test patients" in summary and "## Calibration" in summary


def test_robustness_predicts_perturbed_tests_without_touching_the_packed_split(finished_run):
    results = finished_run / "results"
    robustness = pd.read_csv(results / "metrics/robustness.tsv", sep="\t")
    config = yaml.safe_load((finished_run / "config.yaml").read_text())["robustness"]
    expected = {
        (name, float(s)) for name, values in config["perturbations"].items() for s in values
    }
    assert set(zip(robustness["perturbation"], robustness["strength"], strict=True)) == expected
    assert set(robustness["arm"]) == {"baseline", "dcgan", "diffusion"}
    perturbed = pd.read_parquet(results / "robustness/stain.parquet")
    clean = pd.read_parquet(results / "predictions/baseline/seed0.parquet")
    assert len(perturbed) == len(clean) * 3 * 2 * len(config["perturbations"]["stain"])
    packed_time = (results / "data/packed/test.npy").stat().st_mtime
    assert packed_time < (results / "robustness/stain.parquet").stat().st_mtime
    assert (results / "figures/robustness.png").stat().st_size > 1000
    assert "## Robustness to stain and acquisition shift" in (results / "summary.md").read_text()


def test_the_sweep_shares_the_main_study_and_trains_each_fraction_on_its_patients(
    finished_run, tmp_path
):
    study = Path(shutil.copytree(finished_run, tmp_path / "sweep", symlinks=True))
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
    efficiency_section = (results / "summary.md").read_text().split("## Data efficiency")[1]
    assert "- dcgan:" in efficiency_section and "- diffusion:" in efficiency_section
    equivalents = pd.read_csv(results / "metrics/efficiency_equivalents.tsv", sep="\t")
    assert equivalents[["arm", "real_fraction"]].values.tolist() == [
        ["dcgan", 0.5],
        ["diffusion", 0.5],
    ]
    assert "- dcgan at 50% real data" in efficiency_section
    costs = pd.read_csv(results / "metrics/cost.tsv", sep="\t").set_index("rule")
    assert costs.loc["sweep_train_classifier", "jobs"] == 2 + 2 * 2 * 2  # fraction 1 shared
