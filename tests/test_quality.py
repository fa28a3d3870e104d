import math
import socket
import urllib.request

import image_quality
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from idc_synth import quality
from idc_synth.classifier import TrainedClassifier, save_classifier
from idc_synth.models import build_classifier
from idc_synth.quality import (
    INCEPTION_FILE,
    ROW_COLUMNS,
    LabelledImages,
    QualitySettings,
    assess,
    fid,
    inception_features,
    inception_weights_file,
    kid,
    load_inception,
    memorisation,
    precision_recall,
)
from idc_synth.synthetic import gather_shards, write_shard


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to reach the network (clean-fid downloads with urllib) fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def gaussian(n: int, dim: int = 16, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)) + shift


def patches(n: int, mean: float, seed: int) -> np.ndarray:
    pixels = np.random.default_rng(seed).normal(mean, 30, (n, 50, 50, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


class StandInInception(nn.Module):
    """Inception's call signature: float (N, 3, 299, 299) in [0, 255] -> (N, D) features."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Conv2d(3, 4, 7, stride=8), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten()
        )
        self.head = nn.Linear(16, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1:] == (3, 299, 299) and x.dtype == torch.float32
        return self.head(self.net((x - 128) / 128))


# ---------------------------------------------------------------------------------------------
# Metrics on features


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    x = gaussian(400)
    assert fid(x, x) == pytest.approx(0.0, abs=1e-6)
    small, large = fid(x, gaussian(400, shift=0.5, seed=1)), fid(x, gaussian(400, shift=2, seed=1))
    assert 1.0 < small < large
    assert math.isnan(fid(x[:1], x))


def test_kid_is_near_zero_for_identical_sets_and_positive_for_shifted_ones():
    x = gaussian(600)
    same, same_std, size = kid(x, x, subset_size=200, n_subsets=20, seed=0)
    shifted, _, _ = kid(x, gaussian(600, shift=1.0, seed=1), subset_size=200, n_subsets=20, seed=0)
    assert size == 200 and same_std > 0
    assert abs(same) < 0.05 * shifted
    assert shifted > 10 * same_std
    # seeded, and numpy's global RNG is left as it was
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    assert kid(x, x, 200, 5, seed=3) == kid(x, x, 200, 5, seed=3)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_precision_recall_identical_sets_and_disjoint_clusters():
    x = gaussian(300)
    assert precision_recall(x, x, k=3) == (1.0, 1.0)
    precision, recall = precision_recall(x, gaussian(300, shift=50, seed=1), k=3)
    assert precision < 0.01 and recall < 0.01
    assert all(math.isnan(v) for v in precision_recall(x[:3], x, k=3))


def test_precision_recall_respects_the_memory_budget(monkeypatch):
    """Blocks of a few rows give the same answer as one block."""
    x, y = gaussian(200), gaussian(150, shift=0.3, seed=1)
    expected = precision_recall(x, y, k=3)
    monkeypatch.setattr(quality, "DISTANCE_BUDGET_BYTES", 4 * 200 * 7)
    assert precision_recall(x, y, k=3) == pytest.approx(expected)


def test_memorisation_flags_copies_not_fresh_samples():
    train, val = gaussian(500), gaussian(200, seed=1)
    copies, fresh = train[:20], gaussian(200, seed=2)
    found = memorisation(np.concatenate([copies, fresh]), train, val, percentile=1.0)
    assert found.near_copy[:20].all()
    np.testing.assert_array_equal(found.train_index[:20], np.arange(20))
    assert found.near_copy[20:].mean() < 0.05
    assert found.threshold > 0


# ---------------------------------------------------------------------------------------------
# Inception: absent weights are a skipped row; present ones run through the same code


def test_inception_weights_file_resolution(tmp_path):
    assert inception_weights_file(None) == quality.CLEANFID_CACHE
    assert str(quality.CLEANFID_CACHE) == "/tmp/inception-2015-12-05.pt"
    assert inception_weights_file(tmp_path) == tmp_path / INCEPTION_FILE
    assert inception_weights_file(tmp_path / INCEPTION_FILE) == tmp_path / INCEPTION_FILE


def test_absent_inception_weights_load_nothing_and_never_download(tmp_path):
    assert load_inception(tmp_path / "nowhere" / INCEPTION_FILE, "cpu") is None


def test_inception_weights_load_through_clean_fids_wrapper(tmp_path):
    """A 2048-d TorchScript stand-in saved under clean-fid's file name loads with download=False
    and gives (N, 2048) features from clean-resized patches."""

    class Layers(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(3, 2, 9, stride=16), nn.AdaptiveAvgPool2d(1))
            self.head = nn.Linear(2, 2048)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.net(x).flatten(1))

    class Base(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = Layers()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layers(x)

    torch.jit.script(Base()).save(str(tmp_path / INCEPTION_FILE))
    extractor = load_inception(inception_weights_file(tmp_path), "cpu")
    feats = inception_features(extractor, patches(5, 120, 0), np.array([4, 0, 2]), batch_size=2)
    assert feats.shape == (3, 2048) and np.isfinite(feats).all()
    with pytest.raises(ValueError, match=INCEPTION_FILE):
        (tmp_path / "renamed.pt").write_bytes(b"")
        load_inception(tmp_path / "renamed.pt", "cpu")


def test_clean_resize_matches_clean_fid():
    from cleanfid.resize import build_resizer

    images = patches(2, 100, 0)
    resized = quality.clean_resize(images)
    assert resized.shape == (2, 3, 299, 299) and resized.dtype == torch.float32
    expected = build_resizer("clean")(images[1])
    np.testing.assert_array_equal(resized[1].permute(1, 2, 0).numpy(), expected)


def sets():
    rng = np.random.default_rng(0)
    train = LabelledImages(
        np.concatenate([patches(40, 80, 1), patches(30, 170, 2)]), np.repeat([0, 1], [40, 30])
    )
    val = LabelledImages(
        np.concatenate([patches(20, 80, 3), patches(20, 170, 4)]), np.repeat([0, 1], 20)
    )
    # class 0: 3 exact copies of train patches + fresh; class 1: fresh only
    synthetic = np.concatenate([train.images[[5, 9, 11]], patches(12, 80, 5), patches(15, 170, 6)])
    labels = np.repeat([0, 1], [15, 15])
    order = rng.permutation(len(labels))
    return LabelledImages(synthetic[order], labels[order]), train, val, order


def mean_colour(images: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A cheap stand-in for the classifier embedding."""
    return images[rows].reshape(len(rows), -1, 3).mean(axis=1).astype(np.float64)


def test_assess_without_inception_skips_with_the_path():
    synthetic, train, val, order = sets()
    settings = QualitySettings(kid_subset_size=10, kid_subsets=5, closest_pairs=4)
    status = "skipped: no Inception weights at /nowhere/inception-2015-12-05.pt"
    rows, pairs = assess("dcgan", synthetic, train, val, mean_colour, None, status, settings)
    table = pd.DataFrame(rows, columns=list(ROW_COLUMNS))
    assert len(table) == 4
    inception = table[table["feature_space"] == "inception"]
    assert (inception["status"] == status).all() and inception["fid"].isna().all()
    cnn = table[table["feature_space"] == "classifier"].set_index("label")
    assert (cnn["status"] == "ok").all()
    assert cnn.loc[0, "n_synthetic"] == 15 and cnn.loc[0, "n_real"] == 40
    assert cnn.loc[0, "near_copy_share"] >= 3 / 15
    assert cnn["note"].str.contains("small n").all()
    # the 3 copies are the closest pairs, at distance 0, and the images match
    copies = np.flatnonzero(np.isin(order, [0, 1, 2]))
    assert sorted(pairs["synthetic_index"][:3]) == sorted(copies)
    np.testing.assert_allclose(pairs["distances"][:3], 0, atol=1e-2)  # float32 cdist
    np.testing.assert_array_equal(pairs["synthetic"][:3], pairs["train"][:3])
    assert pairs["synthetic"].shape == (4, 50, 50, 3)


def test_assess_with_a_stand_in_inception_extractor():
    synthetic, train, val, _ = sets()
    extractor = StandInInception()
    inception_fn = lambda images, rows: inception_features(extractor, images, rows, batch_size=8)  # noqa: E731
    settings = QualitySettings(max_patches=12, kid_subset_size=10, kid_subsets=5)
    rows, _ = assess("dcgan", synthetic, train, val, mean_colour, inception_fn, "", settings)
    inception = pd.DataFrame(rows).query("feature_space == 'inception'")
    assert (inception["status"] == "ok").all()
    assert (inception["n_real"] == 12).all() and (inception["n_synthetic"] == 12).all()
    assert np.isfinite(inception[["fid", "kid", "precision", "recall"]].to_numpy(float)).all()


# ---------------------------------------------------------------------------------------------
# Entry script, end to end on tiny files


def write_packed(folder, name: str, data: LabelledImages):
    np.save(folder / f"{name}.npy", data.images)
    table = pd.DataFrame(
        {"row": np.arange(len(data.labels)), "path": "p", "patient": "1", "x": 0, "y": 0}
    ).assign(label=data.labels)
    table.to_parquet(folder / f"{name}.parquet", index=False)
    return folder / f"{name}.npy", folder / f"{name}.parquet"


def test_entry_script_writes_tables_pairs_and_gathers(tmp_path):
    synthetic, train, val, _ = sets()
    train_paths, val_paths = (
        write_packed(tmp_path, "train", train),
        write_packed(tmp_path, "val", val),
    )
    shard_tables = []
    for label in (0, 1):
        images = synthetic.images[synthetic.labels == label]
        shard_tables.append(tmp_path / "synthetic" / f"class{label}" / "shard0.parquet")
        shard_tables[-1].parent.mkdir(parents=True)
        write_shard(
            images,
            label=label,
            generator="dcgan",
            seed=0,
            shard=0,
            images_path=shard_tables[-1].with_suffix(".npy"),
            table_path=shard_tables[-1],
        )
    manifest = tmp_path / "synthetic" / "manifest.parquet"
    gather_shards(shard_tables, manifest)
    torch.manual_seed(0)
    weights, info = tmp_path / "model.safetensors", tmp_path / "info.json"
    model = build_classifier("small_cnn").eval()
    save_classifier(
        TrainedClassifier(model, pd.DataFrame(), {"arch": "small_cnn", "seed": 0}), weights, info
    )

    settings = QualitySettings(
        inception_weights=str(tmp_path / "no_weights"), kid_subset_size=10, kid_subsets=5
    )
    common = dict(
        train_images=train_paths[0],
        train_table=train_paths[1],
        val_images=val_paths[0],
        val_table=val_paths[1],
        classifier_weights=weights,
        classifier_info=info,
        settings=settings,
        device="cpu",
        threads=1,
    )
    out = tmp_path / "quality"
    image_quality.main(
        generator="dcgan",
        synthetic_manifest=manifest,
        table=out / "dcgan.tsv",
        pairs=out / "dcgan_closest_pairs.npz",
        log=out / "dcgan.log",
        **common,
    )
    image_quality.main(
        generator="real_val",
        synthetic_manifest=None,
        table=out / "real_val.tsv",
        pairs=None,
        log=out / "real_val.log",
        **common,
    )
    image_quality.gather(
        tables=[out / "dcgan.tsv", out / "real_val.tsv"], output=out / "all.tsv", log=None
    )
    table = pd.read_csv(out / "all.tsv", sep="\t")
    assert list(table.columns) == list(ROW_COLUMNS) and len(table) == 8
    assert set(table["generator"]) == {"dcgan", "real_val"}
    skipped = table[table["feature_space"] == "inception"]["status"]
    assert (
        skipped == f"skipped: no Inception weights at {tmp_path / 'no_weights' / INCEPTION_FILE}"
    ).all()
    assert (table[table["feature_space"] == "classifier"]["status"] == "ok").all()
    with np.load(out / "dcgan_closest_pairs.npz", allow_pickle=False) as pairs:
        assert pairs["synthetic"].shape[1:] == (50, 50, 3) and pairs["distances"][0] < 1e-2
