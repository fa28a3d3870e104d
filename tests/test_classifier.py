import itertools
import json

import numpy as np
import pandas as pd
import predict_test
import pytest
import score_predictions
import torch
import train_classifier as train_script

from idc_synth.augment import augment_batch
from idc_synth.classifier import (
    HISTORY_COLUMNS,
    PREDICTION_COLUMNS,
    TrainSettings,
    load_classifier,
    predict_probabilities,
    save_classifier,
    train_classifier,
)
from idc_synth.metrics import METRIC_COLUMNS
from idc_synth.synthetic import gather_shards, write_shard

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


def run_train_script(train_npy, train_pq, val_npy, val_pq, synthetic, model_dir, log):
    """The train_classifier entry script for one epoch, writing into model_dir."""
    train_script.main(
        train_images=train_npy,
        train_table=train_pq,
        val_images=val_npy,
        val_table=val_pq,
        synthetic=synthetic,
        settings=TrainSettings(**{**SETTINGS.__dict__, "max_epochs": 1}),
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
    run_train_script(train_npy, train_pq, val_npy, val_pq, None, model_dir, log)
    predictions = tmp_path / "predictions" / "baseline" / "seed0.parquet"
    predict_test.main(
        weights=model_dir / "weights.safetensors",
        info=model_dir / "info.json",
        test_images=val_npy,
        test_table=val_pq,
        arm="baseline",
        seed=0,
        batch_size=16,
        device="cpu",
        predictions=predictions,
        threads=1,
        log=log,
    )
    metrics = tmp_path / "metrics" / "baseline_seed0.tsv"
    score_predictions.main(predictions=predictions, metrics=metrics, log=log)

    assert len(pd.read_csv(model_dir / "history.tsv", sep="\t")) == 1
    table = pd.read_parquet(predictions)
    assert list(table.columns) == list(PREDICTION_COLUMNS)
    assert table["label"].tolist() == val_y.tolist()
    assert ((table["probability"] >= 0.5) == table["predicted"].astype(bool)).all()
    scored = pd.read_csv(metrics, sep="\t")
    assert list(scored.columns) == list(METRIC_COLUMNS)
    assert scored.loc[0, "arm"] == "baseline" and scored.loc[0, "seed"] == 0
    assert scored.loc[0, "tp"] + scored.loc[0, "fn"] == val_y.sum()
    assert "wrote" in log.read_text()


def test_synthetic_patches_join_only_the_train_split(task, tmp_path):
    (train_x, train_y), (val_x, val_y) = task
    train_npy, train_pq = write_packed_split(tmp_path, "train", train_x, train_y)
    val_npy, val_pq = write_packed_split(tmp_path, "val", val_x, val_y)
    shard_dir = tmp_path / "synthetic" / "dcgan" / "class1"
    shard_dir.mkdir(parents=True)
    write_shard(
        train_x[:5],
        label=1,
        generator="dcgan",
        seed=3,
        shard=0,
        images_path=shard_dir / "shard0.npy",
        table_path=shard_dir / "shard0.parquet",
    )
    manifest = tmp_path / "synthetic" / "dcgan" / "manifest.parquet"
    gather_shards([shard_dir / "shard0.parquet"], manifest)
    model_dir = tmp_path / "classifiers"
    run_train_script(
        train_npy, train_pq, val_npy, val_pq, manifest, model_dir, tmp_path / "log.txt"
    )
    info = json.loads((model_dir / "info.json").read_text())
    assert info["synthetic_per_class"] == {"1": 5}
    real = {str(label): int((train_y == label).sum()) for label in (0, 1)}
    assert info["n_val"] == {str(label): int((val_y == label).sum()) for label in (0, 1)}
    assert sum(info["n_train"].values()) == sum(real.values()) + 5
