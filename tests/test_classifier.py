import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import predict as predict_script
import pytest
import torch
import train_classifier as train_script
from safetensors.torch import load_file
from workflow_helpers import checkout_env

import idc_synth.classifier as classifier_module
from idc_synth.augment import augment_batch, mixup, stain_jitter
from idc_synth.batches import IndexedImages, Part
from idc_synth.checkpoint import load_checkpoint
from idc_synth.classifier import (
    HISTORY_COLUMNS,
    PREDICTION_COLUMNS,
    StepPlan,
    TrainSettings,
    _pass_order,
    _Run,
    load_classifier,
    predict_probabilities,
    save_classifier,
    train_classifier,
)
from idc_synth.metrics import METRIC_COLUMNS, classification_metrics, prediction_scores
from idc_synth.synthetic import NO_DRAW, write_shard

SETTINGS = TrainSettings(
    arch="small_cnn",
    max_epochs=3,
    batch_size=32,
    learning_rate=3e-3,
    weight_decay=1e-4,
    patience=3,
    seed=0,
)


def brightness_task(n_neg: int, n_pos: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """IDC patches are brighter: learnable in a couple of epochs, noisy enough not to be trivial."""
    rng = np.random.default_rng(seed)
    labels = np.array([0] * n_neg + [1] * n_pos)
    rng.shuffle(labels)
    means = np.where(labels == 1, 160.0, 95.0)[:, None, None, None]
    images = means + rng.normal(0, 35, (len(labels), 50, 50, 3))
    return np.clip(images, 0, 255).astype(np.uint8), labels


@pytest.fixture(scope="module")
def task():
    return brightness_task(64, 32, seed=1), brightness_task(24, 16, seed=2)


@pytest.fixture(scope="module")
def trained(task):
    (train_x, train_y), (val_x, val_y) = task
    return train_classifier(train_x, train_y, val_x, val_y, SETTINGS, "cpu")


def state_of(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_learns_a_simple_cue(trained):
    assert trained.history["val_balanced_accuracy"].max() >= 0.9
    assert trained.info["arch"] == "small_cnn" and trained.info["seed"] == 0
    assert trained.info["n_train"] == {"0": 64, "1": 32}
    assert trained.info["n_val"] == {"0": 24, "1": 16}
    assert trained.info["pos_weight"] == pytest.approx(2.0)
    assert trained.info["threshold_rule"] == "tuned on val"
    best = trained.history.loc[trained.history["is_best"]].iloc[0]
    assert trained.info["threshold"] == best["val_threshold"]


def test_history_has_one_row_per_epoch_and_one_best(trained):
    history = trained.history
    assert list(history.columns) == list(HISTORY_COLUMNS)
    assert history["epoch"].tolist() == list(range(1, trained.info["epochs_run"] + 1))
    assert history["is_best"].sum() == 1
    best = history.loc[history["is_best"]].iloc[0]
    assert best["epoch"] == trained.info["best_epoch"]
    assert best["val_balanced_accuracy"] == history["val_balanced_accuracy"].max()


def test_best_weights_are_restored(task, trained):
    _, (val_x, val_y) = task
    predicted = predict_probabilities(trained.model, val_x, 16, "cpu") >= trained.info["threshold"]
    recall = [(predicted[val_y == c] == c).mean() for c in (0, 1)]
    best = trained.history.loc[trained.history["is_best"], "val_balanced_accuracy"].iloc[0]
    assert np.mean(recall) == pytest.approx(best)


def test_same_seed_same_weights_other_seed_other_weights(task, trained):
    (train_x, train_y), (val_x, val_y) = task
    settings = TrainSettings(**{**SETTINGS.__dict__, "max_epochs": 1})
    runs = [
        train_classifier(train_x, train_y, val_x, val_y, s, "cpu").model
        for s in (settings, settings, TrainSettings(**{**settings.__dict__, "seed": 1}))
    ]
    first, again, other = (state_of(m) for m in runs)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_indexed_parts_train_exactly_as_their_concatenation_and_log_the_data_wait(task, caplog):
    """The job's IndexedImages (real memory map + shards by row) is only a view: same batches,
    same weights as the concatenated array; each period logs how long the model waited."""
    (train_x, train_y), (val_x, val_y) = task
    settings = TrainSettings(**{**SETTINGS.__dict__, "max_epochs": 1})
    whole = train_classifier(train_x, train_y, val_x, val_y, settings, "cpu")
    shard_rows = np.arange(50, 96)[::-1]
    parts = IndexedImages(
        [Part(train_x[:50], train_y[:50]), Part(train_x, train_y[shard_rows], shard_rows)]
    )
    labels = np.concatenate([train_y[:50], train_y[shard_rows]])
    reordered = np.concatenate([train_x[:50], train_x[shard_rows]])
    with caplog.at_level("INFO"):
        split = train_classifier(parts, labels, val_x, val_y, settings, "cpu")
    again = train_classifier(reordered, labels, val_x, val_y, settings, "cpu")
    first, second = state_of(split.model), state_of(again.model)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], state_of(whole.model)[k]) for k in first)  # rows moved
    assert re.search(r"data wait \d+\.\d% of training", caplog.text)


def test_save_load_round_trip_predicts_identically(task, trained, tmp_path):
    _, (val_x, _) = task
    save_classifier(trained, tmp_path / "w.safetensors", tmp_path / "info.json")
    model, info = load_classifier(tmp_path / "w.safetensors", tmp_path / "info.json", "cpu")
    assert info == trained.info
    np.testing.assert_array_equal(
        predict_probabilities(model, val_x, 16, "cpu"),
        predict_probabilities(trained.model, val_x, 16, "cpu"),
    )


def dihedral_views(patch: torch.Tensor) -> list[torch.Tensor]:
    """The 8 flips/rotations of one (H, W, C) patch."""
    flips = (patch, patch.flip(1))
    return [torch.rot90(f, k, dims=(0, 1)) for f, k in itertools.product(flips, range(4))]


def test_augmentation_is_a_per_sample_dihedral_transform():
    batch = torch.randint(0, 256, (64, 6, 6, 3), dtype=torch.uint8)
    out = augment_batch(batch, torch.Generator().manual_seed(0))
    seen = set()
    for original, augmented in zip(batch, out, strict=True):
        # each output is one of the 8 flips/rotations of its own input: same pixels, same label
        matches = [i for i, v in enumerate(dihedral_views(original)) if torch.equal(v, augmented)]
        assert matches, "augmented patch is not a flip/rotation of its input"
        seen.add(matches[0])
    assert len(seen) == 8  # and all 8 transforms get drawn


def test_augmentation_applies_its_draws_in_a_fixed_order():
    """Sample i: width flip if the first draw says so, then height flip, then k quarter turns:
    the mapping seeded runs (and resumed ones) depend on."""
    batch = torch.randint(0, 256, (40, 5, 5, 3), dtype=torch.uint8)
    out = augment_batch(batch, torch.Generator().manual_seed(7))
    draws = torch.Generator().manual_seed(7)
    flips = torch.randint(0, 2, (2, len(batch)), generator=draws).bool()
    turns = torch.randint(0, 4, (len(batch),), generator=draws)
    for i, patch in enumerate(batch):
        expected = patch.flip(1) if flips[0, i] else patch
        expected = expected.flip(0) if flips[1, i] else expected
        assert torch.equal(out[i], torch.rot90(expected, int(turns[i]), dims=(0, 1)))


def test_class_balanced_sampling_draws_each_class_half_the_time():
    labels = np.array([0] * 900 + [1] * 100)
    order = _pass_order(labels, seed=0, data_pass=0, balance=True)
    assert len(order) == 1000 and abs(labels[order].mean() - 0.5) < 0.05
    assert sorted(_pass_order(labels, 0, 0, balance=False)) == list(range(1000))
    assert np.array_equal(order, _pass_order(labels, 0, 0, balance=True))  # seeded by (seed, pass)


def test_stain_jitter_shifts_colour_reproducibly_and_keeps_the_format():
    from skimage.color import hed2rgb

    # Patches inside the stain space (positive H, E, DAB amounts), as H&E tissue is.
    stains = np.random.default_rng(3).uniform(0, 0.05, size=(12, 50, 50, 3))
    patches = np.clip(np.rint(hed2rgb(stains) * 255), 0, 255).astype(np.uint8)
    jittered = stain_jitter(patches, 0.2, np.random.default_rng(0))
    assert jittered.shape == patches.shape and jittered.dtype == np.uint8
    assert np.abs(jittered.astype(int) - patches).mean() > 1
    assert np.array_equal(jittered, stain_jitter(patches, 0.2, np.random.default_rng(0)))
    gentle = stain_jitter(patches, 1e-6, np.random.default_rng(0))
    assert np.abs(gentle.astype(int) - patches).max() <= 2  # a tiny strength barely moves


def test_mixup_blends_patches_and_labels_with_one_weight():
    inputs = torch.stack([torch.full((3, 2, 2), float(v)) for v in (0, 1, 2, 3)])
    targets = torch.tensor([0.0, 1.0, 0.0, 1.0])
    mixed, soft = mixup(inputs, targets, 0.4, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    weight, partners = rng.beta(0.4, 0.4), rng.permutation(4)
    expected = weight * np.arange(4) + (1 - weight) * np.arange(4)[partners]
    assert torch.allclose(mixed[:, 0, 0, 0], torch.tensor(expected, dtype=torch.float32))
    labels = targets.numpy()
    soft_expected = weight * labels + (1 - weight) * labels[partners]
    assert torch.allclose(soft, torch.tensor(soft_expected, dtype=torch.float32))


def test_classic_settings_are_recorded_and_a_balanced_run_drops_the_loss_weight(task):
    (train_x, train_y), (val_x, val_y) = task
    settings = TrainSettings(**{**SETTINGS.__dict__, "max_epochs": 1, **CLASSIC})
    result = train_classifier(train_x, train_y, val_x, val_y, settings, "cpu")
    assert result.info["pos_weight"] == 1.0
    assert {key: result.info["settings"][key] for key in CLASSIC} == CLASSIC
    assert set(result.info["val_scores"]) == {"balanced_accuracy", "roc_auc"}
    best = result.history[result.history["is_best"]].iloc[0]
    assert result.info["val_scores"]["balanced_accuracy"] == best["val_balanced_accuracy"]
    with pytest.raises(ValueError, match="stain_strength"):
        TrainSettings(**{**SETTINGS.__dict__, "stain_strength": -0.1})


def test_missing_class_is_a_clear_error(task):
    (train_x, train_y), (val_x, val_y) = task
    with pytest.raises(ValueError, match="train split has no patches of class 1"):
        train_classifier(train_x, np.zeros_like(train_y), val_x, val_y, SETTINGS, "cpu")
    with pytest.raises(ValueError, match="val split has no patches of class 0"):
        train_classifier(train_x, train_y, val_x, np.ones_like(val_y), SETTINGS, "cpu")


def test_a_fixed_threshold_is_kept_and_a_bad_one_rejected(task):
    (train_x, train_y), (val_x, val_y) = task
    fixed = TrainSettings(**{**SETTINGS.__dict__, "max_epochs": 1, "threshold": 0.3})
    result = train_classifier(train_x, train_y, val_x, val_y, fixed, "cpu")
    assert result.info["threshold"] == 0.3 and result.info["threshold_rule"] == "fixed"
    assert result.history["val_threshold"].tolist() == [0.3]
    for bad in (0, 1.0, "tune"):
        with pytest.raises(ValueError, match="threshold must be 'val' or between 0 and 1"):
            TrainSettings(**{**SETTINGS.__dict__, "threshold": bad})


def test_the_kept_period_has_the_best_val_score_then_loss_and_patience_ends_the_run():
    """Period choice and early stopping without training: a period wins on a higher val
    balanced accuracy, on a tie on a lower val loss; `patience` periods without a win end it."""
    settings = TrainSettings(**{**SETTINGS.__dict__, "patience": 2})
    run = _Run(settings, StepPlan(1, 1, budget_steps=10), "data", torch.device("cpu"))
    parameter = next(run.model.parameters())
    finished = []
    for accuracy, loss in ((0.7, 0.5), (0.8, 0.6), (0.8, 0.4), (0.8, 0.45), (0.75, 0.3)):
        run.step += 1
        with torch.no_grad():
            parameter.fill_(run.step)  # each period's weights tell which period they are
        row = dict.fromkeys(HISTORY_COLUMNS[:-1], 0.0) | {"epoch": run.period + 1}
        run.record(row | {"val_balanced_accuracy": accuracy, "val_loss": loss}, accuracy / 2)
        finished.append(run.finished())
    assert finished == [False, False, False, False, True]  # periods 4 and 5 do not beat 3
    assert (run.best["period"], run.best["step"], run.best["threshold"]) == (3, 3, 0.4)
    assert run.history_table()["is_best"].tolist() == [False, False, True, False, False]
    kept = run.kept_model()
    assert not kept.training and bool((next(kept.parameters()) == 3).all())
    # the budget ends a run that keeps improving
    assert _Run(settings, StepPlan(1, 1, budget_steps=0), "data", torch.device("cpu")).finished()


def test_unknown_arch_in_settings_is_rejected():
    with pytest.raises(ValueError, match="valid: small_cnn, resnet18"):
        TrainSettings(**{**SETTINGS.__dict__, "arch": "vit"})


def write_packed_split(directory, name, images, labels):
    np.save(directory / f"{name}.npy", images)
    table = pd.DataFrame(
        {
            "row": np.arange(len(labels)),
            "path": [f"p{i % 3}/{label}/patch{i}.png" for i, label in enumerate(labels)],
            "patient": [f"p{i % 3}" for i in range(len(labels))],
            "x": np.arange(len(labels)) * 50,
            "y": np.zeros(len(labels), dtype=int),
            "label": labels,
        }
    )
    table.to_parquet(directory / f"{name}.parquet", index=False)
    return directory / f"{name}.npy", directory / f"{name}.parquet"


def run_predict_script(model_dir, images, table, arm, predictions, log, metrics=None):
    """The predict entry script on one packed split with seed 0's classifier in model_dir;
    its scores go next to the predictions unless ``metrics`` names their file."""
    predict_script.main(
        weights=model_dir / "weights.safetensors",
        info=model_dir / "info.json",
        test_images=images,
        test_table=table,
        arm=arm,
        seed=0,
        batch_size=16,
        device="cpu",
        predictions=predictions,
        metrics=metrics or predictions.with_suffix(".tsv"),
        threads=1,
        log=log,
    )


def run_train_script(
    train_npy, train_pq, val_npy, val_pq, model_dir, log, synthetic=(), draw=NO_DRAW, **settings
):
    """The train_classifier entry script for one period, writing into model_dir."""
    train_script.main(
        train_images=train_npy,
        train_table=train_pq,
        val_images=val_npy,
        val_table=val_pq,
        synthetic=list(synthetic),
        synthetic_draw=draw,
        generator_realization=NO_DRAW if draw == NO_DRAW else 0,
        settings=TrainSettings(**{**SETTINGS.__dict__, "max_epochs": 1, **settings}),
        state=model_dir / "state" / "checkpoint.pt",
        device="cpu",
        weights=model_dir / "weights.safetensors",
        info=model_dir / "info.json",
        history=model_dir / "history.tsv",
        threads=1,
        log=log,
    )


def test_entry_scripts_train_predict_score(task, tmp_path):
    (train_x, train_y), (val_x, val_y) = task
    train_npy, train_pq = write_packed_split(tmp_path, "train", train_x, train_y)
    val_npy, val_pq = write_packed_split(tmp_path, "val", val_x, val_y)
    model_dir, log = tmp_path / "classifiers" / "baseline" / "seed0", tmp_path / "log.txt"
    run_train_script(train_npy, train_pq, val_npy, val_pq, model_dir, log)
    predictions = tmp_path / "predictions" / "baseline" / "seed0.parquet"
    metrics = tmp_path / "metrics" / "baseline_seed0.tsv"
    run_predict_script(model_dir, val_npy, val_pq, "baseline", predictions, log, metrics)

    assert len(pd.read_csv(model_dir / "history.tsv", sep="\t")) == 1
    table = pd.read_parquet(predictions)
    assert list(table.columns) == list(PREDICTION_COLUMNS)
    assert table["synthetic_draw"].tolist() == [NO_DRAW] * len(val_y)
    assert table["generator_realization"].tolist() == [NO_DRAW] * len(val_y)
    assert table["label"].tolist() == val_y.tolist()
    assert ((table["probability"] >= 0.5) == table["predicted"].astype(bool)).all()
    scored = pd.read_csv(metrics, sep="\t")
    assert list(scored.columns) == list(METRIC_COLUMNS)
    assert scored.loc[0, "arm"] == "baseline" and scored.loc[0, "seed"] == 0
    assert scored.loc[0, "tp"] + scored.loc[0, "fn"] == val_y.sum()
    # the scores are those of the predictions as written (what the tables downstream read)
    expected = classification_metrics(
        table["label"].to_numpy(), table["probability"].to_numpy(), table["threshold"].iloc[0]
    )
    for key, value in expected.items():
        assert scored.loc[0, key] == pytest.approx(value, nan_ok=True), key
    with pytest.raises(ValueError, match="one seed"):
        prediction_scores(pd.concat([table, table.assign(seed=1)]))
    assert "wrote" in log.read_text()


def write_draw(root, draw, images):
    """One shard per class of a synthetic draw, as sample_* lays it out; returns the tables."""
    tables = []
    for label, patches in enumerate(images):
        folder = root / f"draw{draw}" / f"class{label}"
        folder.mkdir(parents=True)
        write_shard(
            patches,
            label=label,
            generator="dcgan",
            seed=3,
            shard=0,
            draw=draw,
            images_path=folder / "shard0.npy",
            table_path=folder / "shard0.parquet",
        )
        tables.append(folder / "shard0.parquet")
    return tables


def test_synthetic_patches_join_only_the_train_split(task, tmp_path):
    (train_x, train_y), (val_x, val_y) = task
    train_npy, train_pq = write_packed_split(tmp_path, "train", train_x, train_y)
    val_npy, val_pq = write_packed_split(tmp_path, "val", val_x, val_y)
    synthetic = tmp_path / "synthetic" / "dcgan"
    # draw 1 has no class-0 patches (balance mode's majority class) and 5 of class 1
    tables = write_draw(synthetic, 1, [train_x[:0], train_x[:5]])
    write_draw(synthetic, 0, [train_x[:7], train_x[:7]])  # another draw: never read
    model_dir = tmp_path / "classifiers"
    log = tmp_path / "log.txt"
    run_train_script(train_npy, train_pq, val_npy, val_pq, model_dir, log, synthetic=tables, draw=1)
    info = json.loads((model_dir / "info.json").read_text())
    assert info["synthetic_per_class"] == {"1": 5} and info["synthetic_draw"] == 1
    real = {str(label): int((train_y == label).sum()) for label in (0, 1)}
    assert info["n_val"] == {str(label): int((val_y == label).sum()) for label in (0, 1)}
    assert sum(info["n_train"].values()) == sum(real.values()) + 5
    # the step budget is the real split's: ceil(96 / 32) steps, though 101 patches train
    assert info["budget"] == "steps" and info["budget_steps"] == info["optimizer_steps"] == 3
    predictions = tmp_path / "predictions.parquet"
    run_predict_script(model_dir, val_npy, val_pq, "dcgan", predictions, log)
    assert pd.read_parquet(predictions)["synthetic_draw"].unique().tolist() == [1]


def test_a_synthetic_only_arm_gets_the_real_step_budget(task, tmp_path):
    (train_x, train_y), (val_x, val_y) = task
    _, train_pq = write_packed_split(tmp_path, "train", train_x, train_y)
    val_npy, val_pq = write_packed_split(tmp_path, "val", val_x, val_y)
    tables = write_draw(tmp_path / "synthetic", 0, [train_x[:10], train_x[10:20]])
    model_dir = tmp_path / "classifiers"
    run_train_script(
        None, train_pq, val_npy, val_pq, model_dir, tmp_path / "log", synthetic=tables, draw=0
    )
    info = json.loads((model_dir / "info.json").read_text())
    assert info["n_train"] == {"0": 10, "1": 10}
    assert info["budget_reference_size"] == len(train_y) and info["optimizer_steps"] == 3
    assert "lists 96 real train patches (not trained on)" in (tmp_path / "log").read_text()


def augmented(task, extra: int):
    """The task's train set plus ``extra`` more patches (as an augmented arm has)."""
    (train_x, train_y), _ = task
    more_x, more_y = brightness_task(extra // 2, extra - extra // 2, seed=3)
    return np.concatenate([train_x, more_x]), np.concatenate([train_y, more_y])


@pytest.mark.parametrize(
    ("budget", "expected_steps"),
    [("steps", 3 * 3), ("epochs", 3 * 5)],  # 96 real: 3 steps per epoch; 96 + 48: 5
)
def test_the_step_budget_is_the_same_for_every_arm(task, budget, expected_steps):
    _, (val_x, val_y) = task
    train_x, train_y = augmented(task, 48)
    settings = TrainSettings(**{**SETTINGS.__dict__, "patience": 5, "budget": budget})
    result = train_classifier(train_x, train_y, val_x, val_y, settings, "cpu", reference_size=96)
    history, info = result.history, result.info
    assert info["budget"] == budget
    assert info["optimizer_steps"] == info["budget_steps"] == expected_steps
    assert info["epochs_run"] == len(history) == 3  # one val evaluation per max_epochs period
    assert history["optimizer_steps"].tolist() == [expected_steps // 3 * p for p in (1, 2, 3)]
    assert (history["budget_steps"] == expected_steps).all()
    assert info["data_passes"] == pytest.approx(expected_steps / 5)
    best = history.loc[history["is_best"]].iloc[0]
    assert info["best_step"] == best["optimizer_steps"]


def test_a_fixed_period_bounds_the_steps_whatever_the_train_size(task):
    (train_x, train_y), (val_x, val_y) = task
    settings = TrainSettings(**{**SETTINGS.__dict__, "patience": 5, "period_steps": 2})
    result = train_classifier(train_x, train_y, val_x, val_y, settings, "cpu", reference_size=10**6)
    assert result.info["budget_steps"] == result.info["optimizer_steps"] == 3 * 2
    assert result.history["optimizer_steps"].tolist() == [2, 4, 6]
    with pytest.raises(ValueError, match="period_steps .* needs budget 'steps'"):
        TrainSettings(**{**SETTINGS.__dict__, "budget": "epochs", "period_steps": 2})
    with pytest.raises(ValueError, match="period_steps must be >= 1"):
        TrainSettings(**{**SETTINGS.__dict__, "period_steps": 0})


def test_the_step_budget_leaves_the_baseline_as_it_was(task):
    """Without synthetic patches a period is an epoch: both budgets train the same model."""
    (train_x, train_y), (val_x, val_y) = task
    by_steps, by_epochs = (
        train_classifier(
            train_x,
            train_y,
            val_x,
            val_y,
            TrainSettings(**{**SETTINGS.__dict__, "max_epochs": 2, "budget": budget}),
            "cpu",
        )
        for budget in ("steps", "epochs")
    )
    columns = [c for c in HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(by_epochs.history[columns], by_steps.history[columns])
    for name, tensor in state_of(by_steps.model).items():
        assert torch.equal(by_epochs.model.state_dict()[name], tensor), name


class Interrupt(Exception):
    pass


CLASSIC = {"stain_strength": 0.1, "mixup_alpha": 0.2, "balance_classes": True}


@pytest.mark.parametrize("classic", [{}, CLASSIC], ids=["baseline", "classic"])
def test_an_interrupted_run_resumes_bit_identical(task, monkeypatch, tmp_path, caplog, classic):
    """Stopped right after the period-1 checkpoint and resumed: the same history, best period,
    threshold and weights as the run that was never stopped (with the classic augmentations'
    random streams too)."""
    _, (val_x, val_y) = task
    train_x, train_y = augmented(task, 20)
    settings = TrainSettings(**{**SETTINGS.__dict__, "patience": 2, **classic})
    state = tmp_path / "state" / "checkpoint.pt"
    arguments = (train_x, train_y, val_x, val_y, settings, "cpu")
    uninterrupted = train_classifier(*arguments, reference_size=96)

    save = classifier_module.save_checkpoint

    def save_then_stop(path, run_state):
        save(path, run_state)
        raise Interrupt

    monkeypatch.setattr(classifier_module, "save_checkpoint", save_then_stop)
    with pytest.raises(Interrupt):
        train_classifier(*arguments, reference_size=96, state_path=state)
    assert load_checkpoint(state)["step"] == 3 and len(load_checkpoint(state)["history"]) == 1
    monkeypatch.undo()
    torch.manual_seed(1234)  # whatever the process drew in between is overridden on resume
    with caplog.at_level("INFO"):
        resumed = train_classifier(*arguments, reference_size=96, state_path=state)
    assert "resuming from step 3 of 9 (period 1" in caplog.text
    columns = [c for c in HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(resumed.history[columns], uninterrupted.history[columns])
    skip = ("seconds",)
    assert {k: v for k, v in resumed.info.items() if k not in skip} == uninterrupted.info
    for name, tensor in state_of(uninterrupted.model).items():
        assert torch.equal(resumed.model.state_dict()[name], tensor), name
    # the finished run's checkpoint resumes to the same result without training again
    again = train_classifier(*arguments, reference_size=96, state_path=state)
    assert again.info == uninterrupted.info


def test_a_checkpoint_from_other_data_or_budget_is_not_resumed(task, tmp_path, caplog):
    (train_x, train_y), (val_x, val_y) = task
    settings = TrainSettings(**{**SETTINGS.__dict__, "max_epochs": 1})
    state = tmp_path / "checkpoint.pt"
    train_classifier(train_x, train_y, val_x, val_y, settings, "cpu", state_path=state)
    for changed, differs in (
        ({"train_images": 255 - train_x}, "data"),
        # the checkpoint is now the changed-data run's: it differs in the plan and the data
        ({"reference_size": 200}, "plan, data"),
    ):
        arguments = {
            "train_images": train_x,
            "reference_size": None,
            **changed,
        }
        caplog.clear()
        with caplog.at_level("INFO"):
            train_classifier(
                arguments["train_images"],
                train_y,
                val_x,
                val_y,
                settings,
                "cpu",
                reference_size=arguments["reference_size"],
                state_path=state,
            )
        assert f"made with other {differs}; ignoring it" in caplog.text
        assert "starting from step 0" in caplog.text


# train_classifier.main in a child that pauses after each checkpoint, so the kill lands mid-run.
KILLABLE_CHILD = """
import json, sys, time
from pathlib import Path
import idc_synth.classifier as classifier
import train_classifier

save = classifier.save_checkpoint
def save_then_pause(path, state):
    save(path, state)
    time.sleep(2)
classifier.save_checkpoint = save_then_pause
arguments = json.loads(sys.argv[1])
settings = classifier.TrainSettings(**arguments.pop("settings"))
paths = {key: Path(value) for key, value in arguments.pop("paths").items()}
train_classifier.main(settings=settings, synthetic=[], **paths, **arguments)
"""


def test_a_killed_training_job_resumes_to_the_same_model(task, tmp_path):
    """The rule's script, SIGKILLed after its first checkpoint and rerun, writes the weights,
    history and info an uninterrupted run writes."""
    (train_x, train_y), (val_x, val_y) = task
    train_npy, train_pq = write_packed_split(tmp_path, "train", train_x, train_y)
    val_npy, val_pq = write_packed_split(tmp_path, "val", val_x, val_y)
    settings = {**SETTINGS.__dict__, "max_epochs": 2}
    paths = {
        "train_images": train_npy,
        "train_table": train_pq,
        "val_images": val_npy,
        "val_table": val_pq,
        "state": tmp_path / "killed" / "state" / "checkpoint.pt",
        "weights": tmp_path / "killed" / "model.safetensors",
        "info": tmp_path / "killed" / "info.json",
        "history": tmp_path / "killed" / "history.tsv",
        "log": tmp_path / "killed" / "train.log",
    }
    payload = {
        "settings": settings,
        "synthetic_draw": NO_DRAW,
        "generator_realization": NO_DRAW,
        "device": "cpu",
        "threads": 1,
        "paths": {key: str(value) for key, value in paths.items()},
    }
    child = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_CHILD, json.dumps(payload)], env=checkout_env()
    )
    deadline = time.monotonic() + 120
    while not paths["state"].exists() and child.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint appeared within 120 s"
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, "the child ended before it could be killed"
    assert not paths["weights"].exists()

    arguments = {"synthetic": [], "synthetic_draw": NO_DRAW, "generator_realization": NO_DRAW}
    arguments |= {"device": "cpu", "threads": 1}
    train_script.main(settings=TrainSettings(**settings), **paths, **arguments)
    assert "resuming from step 3 of 6 (period 1" in paths["log"].read_text()
    fresh = {key: tmp_path / "fresh" / value.name for key, value in paths.items()}
    fresh["state"] = tmp_path / "fresh" / "state" / "checkpoint.pt"
    for key in ("train_images", "train_table", "val_images", "val_table"):
        fresh[key] = paths[key]
    train_script.main(settings=TrainSettings(**settings), **fresh, **arguments)

    columns = [c for c in HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(
        pd.read_csv(paths["history"], sep="\t")[columns],
        pd.read_csv(fresh["history"], sep="\t")[columns],
    )
    assert json.loads(paths["info"].read_text()) == json.loads(fresh["info"].read_text())
    resumed, uninterrupted = load_file(paths["weights"]), load_file(fresh["weights"])
    assert all(torch.equal(resumed[name], uninterrupted[name]) for name in uninterrupted)
