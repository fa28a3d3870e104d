"""Every figure family draws a non-empty PNG from tiny hand-made tables (idc_synth.figures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from idc_synth import figures
from idc_synth.figures.classification import metrics_interval
from idc_synth.synthetic import gather_shards, write_shard

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[1]
ARMS = ("baseline", "dcgan", "diffusion")


def assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_MAGIC


def classification_table() -> pd.DataFrame:
    rows = []
    for index, arm in enumerate(ARMS):
        for seed in (0, 1):
            value = 0.8 + 0.02 * index + 0.01 * seed
            rows.append(
                {"arm": arm, "seed": seed, "accuracy": value, "balanced_accuracy": value - 0.05}
                | {"precision": 0.7, "recall": 0.75, "f1": 0.72, "roc_auc": 0.9, "pr_auc": 0.8}
                | {"tn": 50, "fp": 5, "fn": 6, "tp": 20 + seed}
            )
    return pd.DataFrame(rows)


def summary_table() -> pd.DataFrame:
    table = classification_table()
    rows = []
    for arm, group in table.groupby("arm"):
        for metric in ("accuracy", "balanced_accuracy", "roc_auc"):
            mean = group[metric].mean()
            rows.append(
                {"arm": arm, "metric": metric, "mean": mean, "ci_low": mean - 0.03}
                | {"ci_high": mean + 0.02, "n_seeds": 2}
            )
    return pd.DataFrame(rows)


def predictions_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 40)
    frames = [
        pd.DataFrame(
            {
                "arm": arm,
                "seed": seed,
                "row": np.arange(40),
                "label": labels,
                "probability": np.clip(labels * 0.5 + rng.random(40) * 0.6, 0, 1),
            }
        )
        for arm in ARMS
        for seed in (0, 1)
    ]
    return pd.concat(frames, ignore_index=True)


def patches(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 50, 50, 3), dtype=np.uint8)


def quality_table(with_inception: bool = True) -> pd.DataFrame:
    """Rows as image_quality writes them: three sets and two classes per space."""
    rows = []
    rng = np.random.default_rng(0)
    for space in ("classifier", "inception", "pixels"):
        for label in (0, 1):
            for name in ("dcgan", "diffusion", "holdout", "real_val"):
                row = {"feature_space": space, "generator": name, "label": label, "n": 40 + label}
                if space == "inception" and not with_inception:
                    row.update(n=0, status="skipped: no Inception weights at /tmp/x.pt")
                    rows.append(row)
                    continue
                row["status"] = "ok"
                if space != "pixels":
                    fid = 5 + 20 * rng.random()
                    row.update(fid=fid, fid_inf=fid - 2, kid=0.01, kid_std=0.002)
                    row.update(precision=rng.random(), recall=rng.random())
                    row.update(density=2 * rng.random(), coverage=rng.random())
                    row.update(fid_low=fid - 6, fid_high=fid - 1)  # bias-corrected: below
                else:
                    spike = 30.0 if name == "dcgan" else 1.6
                    row.update(spectral_distance=0.3, spike_ratio=spike)
                    row.update(spike_ratio_low=spike * 0.8, spike_ratio_high=np.nan)
                if name != "holdout" and space != "inception":
                    row.update(near_copy_share=0.05, near_copy_low=0.01, near_copy_high=0.12)
                    row.update(near_copy_expected=0.02)
                rows.append(row)
    rows[1].update(status="skipped: 0 patches of class 0 (matched n 40)", fid=np.nan)
    return pd.DataFrame(rows)


def test_metrics_figure(tmp_path):
    path = figures.plot_metrics(summary_table(), classification_table(), tmp_path / "m.png")
    assert_png(path)


def test_the_metrics_title_names_an_interval_only_where_one_is_drawn():
    table = summary_table()
    assert metrics_interval(table) == "CI over patients and seeds"
    one = table.assign(ci_low=np.nan, ci_high=np.nan, n_patients=1)
    assert metrics_interval(one) == "no CI: undefined with 1 test patient(s)"


def test_confusion_figure(tmp_path):
    assert_png(figures.plot_confusion(classification_table(), tmp_path / "c.png"))


def test_curves_figure(tmp_path):
    assert_png(figures.plot_curves(predictions_table(), tmp_path / "roc.png"))


def test_samples_figure(tmp_path):
    sources = {
        "real": (patches(12, 0), np.r_[np.zeros(6), np.ones(6)]),
        "dcgan": (patches(5, 1), np.zeros(5)),  # a class without patches is labelled
    }
    path = figures.draw_samples(sources, tmp_path / "s.png", n_per_class=4, seed=1)
    assert_png(path)


@pytest.mark.parametrize("with_inception", [True, False])
def test_quality_figure_with_and_without_inception(tmp_path, with_inception):
    path = figures.plot_quality(quality_table(with_inception), tmp_path / "q.png")
    assert_png(path)


def test_training_figure_with_and_without_generators(tmp_path):
    steps = np.arange(1, 31)
    gan = pd.DataFrame({"step": steps, "epoch": 1, "loss_d": 1 / steps, "loss_g": np.log1p(steps)})
    diffusion = pd.DataFrame(
        {
            "step": np.r_[steps, steps],
            "phase": ["vae"] * 30 + ["unet"] * 30,
            "loss": np.r_[1 / steps, 0.5 / steps],
        }
    )
    history = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "train_loss": [0.6, 0.4, 0.3],
            "val_loss": [0.7, 0.5, 0.55],
            "val_balanced_accuracy": [0.6, 0.75, 0.7],
            "val_roc_auc": [0.7, 0.8, 0.8],
            "seconds": 1.0,
            "is_best": [False, True, False],
        }
    )
    histories = {(arm, seed): history for arm in ARMS for seed in (0, 1)}
    snapshots = pd.DataFrame(
        {
            "step": np.repeat([0, 10, 20, 30], 2),
            "label": [0, 1] * 4,
            "n": 64,
            **{score: np.linspace(5, 1, 8) for score in ("fid_pixels", "spectral_distance")},
            "spike_ratio": np.linspace(40, 2, 8),
            **{f"{s}_floor": 0.5 for s in ("fid_pixels", "spectral_distance", "spike_ratio")},
        }
    )
    quality = {"dcgan_class0": snapshots[snapshots["label"] == 0], "diffusion": snapshots}
    full = figures.plot_training(
        histories=list(histories.values()),
        runs=list(histories),
        path=tmp_path / "a.png",
        losses={"dcgan_class0": gan, "dcgan_class1": gan, "diffusion": diffusion},
        quality=quality,
    )
    assert_png(full)
    assert_png(figures.plot_training([history], [("baseline", 0)], tmp_path / "b.png"))
    with pytest.raises(ValueError):  # a run without its history
        figures.plot_training([history], [("baseline", 0), ("baseline", 1)], tmp_path / "c.png")


def test_closest_pairs_figure(tmp_path):
    pairs = {
        "dcgan": {"synthetic": patches(5, 2), "train": patches(5, 3), "distances": np.arange(5.0)},
        "diffusion": {"synthetic": patches(0, 4), "train": patches(0, 5), "distances": []},
    }
    assert_png(figures.draw_closest_pairs(pairs, tmp_path / "p.png", n_pairs=3))


def test_render_reads_named_inputs(tmp_path):
    """The rules' path: named input files -> figure, for the families that parse names."""
    shard_dir = tmp_path / "synthetic/dcgan/class0"
    shard_dir.mkdir(parents=True)
    write_shard(
        patches(6, 6),
        label=0,
        generator="dcgan",
        seed=1,
        shard=0,
        images_path=shard_dir / "shard0.npy",
        table_path=shard_dir / "shard0.parquet",
    )
    manifest = tmp_path / "synthetic/dcgan/manifest.parquet"
    gather_shards([shard_dir / "shard0.parquet"], manifest)
    np.save(tmp_path / "train.npy", patches(8, 7))
    pd.DataFrame({"row": range(8), "label": [0, 1] * 4}).to_parquet(tmp_path / "train.parquet")
    options = {"dpi": 60, "font_size": 8, "colors": {"dcgan": "#123456"}, "grid_samples": 4}
    samples = figures.render(
        "samples",
        {
            "train_images": [tmp_path / "train.npy"],
            "train_table": [tmp_path / "train.parquet"],
            "manifest_dcgan": [manifest],
        },
        tmp_path / "samples.png",
        options,
    )
    assert_png(samples)
    np.savez(
        tmp_path / "pairs.npz",
        classifier_synthetic=patches(3, 8),
        classifier_train=patches(3, 9),
        classifier_distances=np.ones(3),
        pixels_synthetic=patches(2, 8),
        pixels_train=patches(2, 9),
        pixels_distances=np.ones(2),
        pixels_patient=np.array(["p1", "p2"]),
    )
    pd.DataFrame(
        {
            "generator": "dcgan",
            "feature_space": "pixels",
            "patient": ["p1", "p2"],
            "verdict": ["copied beyond the floor", "not shown"],
        }
    ).to_csv(tmp_path / "memorization.tsv", sep="\t", index=False)
    pair_inputs = {
        "pairs_dcgan": [tmp_path / "pairs.npz"],
        "memorization": [tmp_path / "memorization.tsv"],
    }
    style = {key: options[key] for key in ("dpi", "font_size", "colors")}
    pairs = figures.render(
        "closest_pairs", pair_inputs, tmp_path / "pairs.png", style | {"closest_pairs": 2}
    )
    assert_png(pairs)
    with pytest.raises(ValueError, match="unknown figure family"):
        figures.render("pie", {}, tmp_path / "x.png", options)
    with pytest.raises(ValueError, match="name no input"):  # an input the family does not read
        figures.render(
            "closest_pairs", pair_inputs | {"extra": [manifest]}, tmp_path / "x.png", style
        )
    with pytest.raises(TypeError, match="grid_samples"):  # an option its function does not take
        figures.render("closest_pairs", pair_inputs, tmp_path / "x.png", options)


def test_the_reader_reads_by_extension(tmp_path):
    """One reader for every input: tables (patient ids as text), arrays, npz, json."""
    pd.DataFrame({"patient": ["007", "12"], "value": [1.5, 2.0]}).to_csv(
        tmp_path / "t.tsv", sep="\t", index=False
    )
    table = figures.read_file(tmp_path / "t.tsv")
    assert list(table["patient"]) == ["007", "12"] and table["value"].dtype == float
    np.savez(tmp_path / "a.npz", x=np.arange(3))
    assert list(figures.read_file(tmp_path / "a.npz")["x"]) == [0, 1, 2]
    (tmp_path / "i.json").write_text('{"seed": 3}')
    assert figures.read_file(tmp_path / "i.json") == {"seed": 3}
    with pytest.raises(ValueError, match="no reader"):
        figures.read_file(tmp_path / "x.csv")


def test_style_colours_override_defaults_and_name_unknown_arms():
    style = figures.Style.from_options({"colors": {"dcgan": "#123456"}})
    assert style.color("dcgan") == "#123456"
    assert style.color("baseline") == figures.DEFAULTS["colors"]["baseline"]
    assert style.color("real_val") == figures.DEFAULTS["colors"]["real"]
    assert style.color("other").startswith("#")


def test_per_patient_and_reliability_figures(tmp_path):
    from idc_synth.generalization import per_patient_metrics
    from idc_synth.statistics import StudyPredictions

    frame = predictions_table().assign(
        patient=lambda f: "p" + (f["row"] % 5).astype(str), threshold=0.5, synthetic_draw=-1
    )
    per_patient = per_patient_metrics(StudyPredictions(frame))
    path = figures.plot_per_patient(per_patient, "balanced_accuracy", tmp_path / "pp.png")
    assert_png(path)
    assert_png(figures.plot_reliability(frame, 10, tmp_path / "rel.png"))


def test_calibration_simulation_figure_follows_the_style(tmp_path):
    """Rendered from the rule's named input: the `figures:` font size and palette reach it."""
    from PIL import Image

    from idc_synth.simulation import design_grid

    table = design_grid((6,), (2,), [0.0, 0.1], n_studies=5, alpha=0.05)
    table.to_csv(tmp_path / "sim.tsv", sep="\t", index=False)
    inputs = {"calibration_simulation": [tmp_path / "sim.tsv"]}
    styles = {
        "default": {},
        "large_font": {"font_size": 14},
        "red": {"colors": {"baseline": "#FF0000"}},  # the first scenario's colour
    }
    images = {}
    for name, options in styles.items():
        path = figures.render("calibration_simulation", inputs, tmp_path / f"{name}.png", options)
        assert_png(path)
        images[name] = np.asarray(Image.open(path).convert("RGB"))
    assert images["large_font"].shape != images["default"].shape
    red = (images["red"] == (255, 0, 0)).all(axis=-1).sum()
    assert red > 50 and not (images["default"] == (255, 0, 0)).all(axis=-1).any()


@pytest.fixture(scope="module")
def figure_table(tmp_path_factory):
    """The workflow's FIGURE_TABLE, FIGURES and plot_* rules, loaded (not run) with every family
    switched on: the default study plus the sweep (generators and perturbations are on)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    configs = [ROOT / "config.yaml", ROOT / "profiles/sweep/sweep.yaml"]
    with SnakemakeApi(OutputSettings()) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=configs),
            snakefile=ROOT / "Snakefile",
            workdir=tmp_path_factory.mktemp("workdir"),
        )._workflow
        rules = {
            rule.name: (dict(rule.input.items()), dict(rule.params.items()))
            for rule in workflow.rules
            if rule.name.startswith("plot_")
        }
        return workflow.globals["FIGURE_TABLE"], workflow.globals["FIGURES"], rules


def test_the_registry_and_the_figure_table_agree(figure_table):
    """Each FIGURE_TABLE family has a registry row, a caption, and a rule whose input names and
    options are exactly the keywords its plot function takes."""
    import inspect

    from idc_synth.figures.registry import STYLE_OPTIONS, Read

    table, drawn, rules = figure_table
    assert set(table) == set(figures.FAMILIES)
    assert set(drawn) == set(table)  # this config draws every family
    assert set(rules) == {f"plot_{family}" for family in drawn}
    for family, row in table.items():
        assert (ROOT / "report" / f"{family}.rst").is_file(), family
        entry = figures.FAMILIES[family]
        inputs, params = rules[f"plot_{family}"]
        assert params["family"] == family
        groups = {name for name, read in entry.inputs.items() if read in (Read.GROUP, Read.PATHS)}
        singles = set(entry.inputs) - groups
        assert singles <= set(inputs), family
        for name in inputs:
            assert name in singles or any(name.startswith(f"{g}_") for g in groups), (family, name)
        assert set(row["inputs"]) == set(inputs)
        settings = {key for key in params["options"] if key not in STYLE_OPTIONS}
        keywords = dict.fromkeys([*entry.inputs, *settings, "path", "style"])
        inspect.signature(entry.plot).bind(**keywords)  # no keyword missing or unknown


def test_every_quality_bar_carries_its_extrapolated_marker():
    """The FID-infinity diamond is drawn on every bar that has one, not only the first."""
    import matplotlib.pyplot as plt

    from idc_synth.figures.synthetic_images import _quality_bars

    rows = quality_table()
    rows = rows[(rows["feature_space"] == "classifier") & (rows["status"] == "ok")]
    figure, ax = plt.subplots()
    sets = ["dcgan", "diffusion", "holdout", "real_val"]
    _quality_bars(ax, rows, sets, "fid", figures.Style(), marker="fid_inf")
    diamonds = [line for line in ax.get_lines() if line.get_marker() == "D"]
    plt.close(figure)
    assert len(diamonds) == len(rows) == 7
