import math
import socket
import urllib.request

import gather_image_quality
import image_quality
import numpy as np
import pandas as pd
import pytest
import quality_reference
import torch
from torch import nn

from idc_synth.classifier import TrainedClassifier, save_classifier
from idc_synth.memorization import COLUMNS as MEMORIZATION_COLUMNS
from idc_synth.models import build_classifier
from idc_synth.quality import copies as near
from idc_synth.quality import features, metrics, neighbours, sampling, subsets
from idc_synth.quality.assess import LabelledImages, assess, reference_features
from idc_synth.quality.features import (
    INCEPTION_FILE,
    inception_features,
    inception_weights_file,
    load_inception,
)
from idc_synth.quality.metrics import fid, kid, kid_spread, manifold_metrics
from idc_synth.quality.pixels import pixel_features
from idc_synth.quality.table import INTERVAL_COLUMNS, ROW_COLUMNS, QualitySettings
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
    same, shifted = kid(x, gaussian(600, seed=2)), kid(x, gaussian(600, shift=1.0, seed=1))
    same_std, size = kid_spread(x, x, subset_size=200, n_subsets=20, seed=0)
    assert size == 200 and same_std > 0
    assert abs(same) < 0.05 * shifted
    assert shifted > 10 * same_std
    assert kid_spread(x, x, 200, 5, seed=3) == kid_spread(x, x, 200, 5, seed=3)  # seeded


def test_manifold_metrics_are_undefined_below_k_points():
    x = gaussian(300)
    assert all(math.isnan(v) for v in manifold_metrics(x[:3], x, k=3).values())


def test_manifold_metrics_respect_the_memory_budget(monkeypatch):
    """Blocks of a few rows give the same answer as one block."""
    x, y = gaussian(200), gaussian(150, shift=0.3, seed=1)
    expected = manifold_metrics(x, y, k=3)
    monkeypatch.setattr(neighbours, "DISTANCE_BUDGET_BYTES", 8 * 200 * 7)
    assert manifold_metrics(x, y, k=3) == pytest.approx(expected)


def test_kid_equals_a_hand_computed_mmd_and_varies_over_subsets_below_n():
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    y = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0], [0.5, 0.5]])

    def k(a, b):  # KID's cubic polynomial kernel, (a.b / d + 1)^3
        return (a @ b / 2 + 1) ** 3

    n = 4
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(n)) / (n * n)
    assert kid(x, y) == pytest.approx(xx + yy - 2 * xy)
    std, size = kid_spread(x, y, subset_size=4, n_subsets=3, seed=0)  # every subset = all of it
    assert size == 4 and std == pytest.approx(0)
    # the rows use subsets of at most half the matched n, so kid_std is a real spread
    assert metrics.kid_subset(300, 1000) == 150 and metrics.kid_subset(5000, 1000) == 1000
    z = gaussian(300)
    spread, _ = kid_spread(z, gaussian(300, seed=1), metrics.kid_subset(300, 1000), 20, seed=0)
    assert spread > 1e-6


def test_kid_over_every_patch_is_clean_fids_kernel_distance_on_one_full_subset():
    from cleanfid.fid import kernel_distance

    x, y = gaussian(50), gaussian(50, shift=0.4, seed=1)
    # one subset of all 50 rows of each set: a permutation, the U-statistic over every patch
    expected = kernel_distance(x, y, num_subsets=1, max_subset_size=50)
    assert kid(x, y) == pytest.approx(expected, rel=1e-9)


def test_fid_infinity_removes_most_of_the_small_n_bias():
    dim, n = 16, 300
    x, y = gaussian(n, dim, seed=1), gaussian(n, dim, shift=0.5, seed=2)
    truth = dim * 0.25  # equal covariances: FID is the squared mean shift
    at_n = fid(x, y)
    extrapolated = metrics.fid_infinity(x, y, seed=0)
    assert at_n - truth > 0.5  # FID at n = 300 is biased upward
    assert abs(extrapolated - truth) < 0.5 * (at_n - truth)
    assert math.isnan(metrics.fid_infinity(x[:3], y[:3], seed=0))


def test_copy_threshold_is_the_conformal_order_statistic():
    distances = np.arange(1.0, 400.0)  # m = 399 held-out distances
    threshold = near.copy_threshold(distances[::-1], percentile=1.0)
    assert (threshold.k, threshold.distance, threshold.expected) == (4, 4.0, 4 / 400)
    few = near.copy_threshold(np.array([3.0, 1.0, 2.0]), percentile=1.0)
    assert few.k == 1 and few.distance == 1.0 and few.expected == 0.25  # honest, not 1 %
    assert math.isnan(near.copy_threshold(np.empty(0), 1.0).distance)
    low, high = near.wilson_interval(5, 100, 0.95)
    assert low == pytest.approx(0.0215, abs=1e-3) and high == pytest.approx(0.1118, abs=1e-3)
    assert near.wilson_interval(0, 24, 0.95)[0] == 0.0
    assert near.wilson_interval(24, 24, 0.95)[1] == 1.0
    # statsmodels' proportion_confint gives the hand-written Wilson interval's numbers
    assert near.wilson_interval(3, 10, 0.95) == pytest.approx((0.1077913, 0.6032219), abs=1e-7)
    assert near.wilson_interval(1, 1000, 0.9) == pytest.approx((0.0002231, 0.0044697), abs=1e-7)
    assert all(math.isnan(bound) for bound in near.wilson_interval(0, 0, 0.95))


def patient_draws(n_patients: int, per_patient: int, seed: int, centres: np.ndarray | None = None):
    """Points around patient centres: patches of one patient resemble each other."""
    rng = np.random.default_rng(seed)
    if centres is None:
        centres = rng.normal(0, 3, (n_patients, 8))
    which = rng.integers(0, len(centres), n_patients * per_patient)
    return centres[which] + rng.normal(0, 1, (len(which), 8)), centres


def test_near_copies_catch_planted_copies_and_flag_fresh_draws_at_the_stated_rate():
    """Train and held-out train come from the same patients; a faithful generator draws fresh
    points from them. Planted exact copies of train points are all flagged; fresh draws are
    flagged at about the expected rate (5 % here), unlike a val-calibrated threshold, which
    (val patients lie farther from train) flags far too many."""
    train, centres = patient_draws(10, 100, seed=0)
    holdout, _ = patient_draws(10, 40, seed=1, centres=centres)
    fresh, _ = patient_draws(10, 300, seed=2, centres=centres)
    copies = train[[3, 50, 700, 999]]
    calibration = neighbours.nearest_neighbours(holdout, train)[0]
    threshold = near.copy_threshold(calibration, percentile=5.0)
    found = near.near_copies(np.concatenate([copies, fresh]), train, threshold)
    assert found.flagged[:4].all()
    np.testing.assert_array_equal(found.train_index[:4], [3, 50, 700, 999])
    fresh_share = found.flagged[4:].mean()
    assert threshold.expected == pytest.approx(0.05, abs=0.002)
    assert abs(fresh_share - threshold.expected) < 0.025, fresh_share
    low, high = found.interval(0.95)
    assert low < found.share < high
    # the old calibration on other patients' patches
    val, _ = patient_draws(4, 100, seed=3)
    val_threshold = near.copy_threshold(neighbours.nearest_neighbours(val, train)[0], 5.0)
    assert near.near_copies(fresh, train, val_threshold).share > 2 * fresh_share


def test_matched_size_is_the_smallest_usable_set_capped():
    counts = {"train": 900, "holdout": 100, "real_val": 300, "dcgan": 450, "diffusion": 0}
    assert sampling.matched_size(counts, None) == 100  # an empty set is skipped, not n = 0
    assert sampling.matched_size(counts, 64) == 64
    assert sampling.matched_size({**counts, "train": 3}, None) == 0
    sizes = sampling.class_sizes(
        {"train": {0: 900, 1: 50}, "dcgan": {0: 200, 1: 70}}, QualitySettings(max_patches=128)
    )
    assert sizes == {"classifier": {0: 200, 1: 50}, "inception": {0: 128, 1: 50}}
    rows = np.arange(10, 60)
    sub = subsets.subsample(rows, 20, 0, "train", 1)
    assert len(sub) == 20 and set(sub) <= set(rows) and (np.diff(sub) > 0).all()
    np.testing.assert_array_equal(sub, subsets.subsample(rows, 20, 0, "train", 1))
    assert not np.array_equal(sub, subsets.subsample(rows, 20, 0, "dcgan", 1))


def test_pixel_features_are_block_means():
    images = np.zeros((2, 50, 50, 3), np.uint8)
    images[1, :5, :5] = 255
    feats = pixel_features(images)
    assert feats.shape == (2, 300) and feats[0].max() == 0
    assert feats[1, :3].tolist() == [1.0, 1.0, 1.0] and feats[1, 3:].max() == 0


# ---------------------------------------------------------------------------------------------
# Inception: absent weights are a skipped row; present ones run through the same code


def test_inception_weights_file_resolution(tmp_path):
    assert inception_weights_file(None) == features.CLEANFID_CACHE
    assert str(features.CLEANFID_CACHE) == "/tmp/inception-2015-12-05.pt"
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
    resized = features.clean_resize(images)
    assert resized.shape == (2, 3, 299, 299) and resized.dtype == torch.float32
    expected = build_resizer("clean")(images[1])
    np.testing.assert_array_equal(resized[1].permute(1, 2, 0).numpy(), expected)


def sets():
    """Train, held-out train and val (two brightness classes), and a synthetic set whose
    class 0 holds 3 exact copies of train patches."""
    rng = np.random.default_rng(0)

    def labelled(n0, n1, seed):
        images = np.concatenate([patches(n0, 80, seed), patches(n1, 170, seed + 100)])
        return LabelledImages(images, np.repeat([0, 1], [n0, n1]))

    train, holdout, val = labelled(60, 40, 1), labelled(30, 20, 2), labelled(40, 25, 3)
    synthetic = np.concatenate([train.images[[5, 9, 11]], patches(22, 80, 5), patches(25, 170, 6)])
    labels = np.repeat([0, 1], [25, 25])
    order = rng.permutation(len(labels))
    return LabelledImages(synthetic[order], labels[order]), train, holdout, val, order


def mean_colour(images: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A cheap stand-in for the classifier embedding."""
    return images[rows].reshape(len(rows), -1, 3).mean(axis=1).astype(np.float64)


def reference_for(synthetic, train, holdout, val, fns, settings):
    counts = {
        "train": sampling.label_counts(train.labels),
        "holdout": sampling.label_counts(holdout.labels),
        "real_val": sampling.label_counts(val.labels),
        "dcgan": sampling.label_counts(synthetic.labels),
    }
    sizes = sampling.class_sizes(counts, settings)
    return reference_features(train, holdout, sizes, fns, settings)


def test_every_row_of_a_space_and_class_shares_n_with_the_floor_and_the_shift():
    synthetic, train, holdout, val, order = sets()
    settings = QualitySettings(kid_subset_size=10, kid_subsets=5, closest_pairs=4)
    fns = {"classifier": mean_colour, "inception": None, "pixels": pixel_features}
    reference = reference_for(synthetic, train, holdout, val, fns, settings)
    status = "skipped: no Inception weights at /nowhere/inception-2015-12-05.pt"
    tables, pairs = [], {}
    for name, candidates in (("dcgan", synthetic), ("holdout", holdout), ("real_val", val)):
        statuses = {"inception": status}
        rows, pairs[name], _ = assess(name, candidates, train, reference, fns, statuses, settings)
        tables.append(pd.DataFrame(rows, columns=list(ROW_COLUMNS)))
    table = pd.concat(tables, ignore_index=True)
    assert len(table) == 3 * 2 * 3  # sets x classes x spaces
    cnn = table[table["feature_space"] == "classifier"]
    assert (cnn["status"] == "ok").all()
    # matched n: the smallest set per class (held-out train: 30 and 20 patches)
    assert cnn.groupby("label")["n"].unique().map(list).to_dict() == {0: [25], 1: [20]}
    assert np.isfinite(cnn[["fid", "kid", "kid_std", "precision", "recall"]].to_numpy(float)).all()
    assert (cnn["kid_subset"] < cnn["n"]).all() and (cnn["kid_std"] > 0).all()
    inception = table[table["feature_space"] == "inception"]
    assert (inception["status"] == status).all() and inception["fid"].isna().all()
    # near copies, in both copy spaces: the planted copies are found
    for space in ("classifier", "pixels"):
        dcgan = table.query("feature_space == @space and generator == 'dcgan'").set_index("label")
        assert dcgan.loc[0, "near_copy_share"] >= 3 / 25
        assert dcgan.loc[0, "n_copy_checked"] == 25
        assert dcgan.loc[0, "near_copy_low"] <= dcgan.loc[0, "near_copy_share"]
        assert 0 < dcgan.loc[0, "near_copy_expected"] <= 1 / 31 + 1e-9  # k = 1 of m = 30
        floor = table.query("feature_space == @space and generator == 'holdout'")
        assert floor["near_copy_share"].isna().all()  # the calibration set itself
        copies = np.flatnonzero(np.isin(order, [0, 1, 2]))
        assert sorted(pairs["dcgan"][f"{space}_synthetic_index"][:3]) == sorted(copies)
        np.testing.assert_allclose(pairs["dcgan"][f"{space}_distances"][:3], 0, atol=1e-2)
        np.testing.assert_array_equal(
            pairs["dcgan"][f"{space}_synthetic"][:3], pairs["dcgan"][f"{space}_train"][:3]
        )
    assert pairs["dcgan"]["classifier_synthetic"].shape == (4, 50, 50, 3)
    # spectral fidelity on every set's pixel rows, from all its patches of the class
    pixel_rows = table[table["feature_space"] == "pixels"].set_index(["generator", "label"])
    assert np.isfinite(pixel_rows[["spectral_distance", "spike_ratio"]].to_numpy(float)).all()
    assert pixel_rows.loc[("holdout", 1), "n"] == 20 and pixel_rows.loc[("dcgan", 0), "n"] == 25
    assert table.loc[table["feature_space"] != "pixels", "spike_ratio"].isna().all()


def test_a_class_without_synthetic_patches_is_a_skipped_row_not_a_crash():
    synthetic, train, holdout, val, _ = sets()
    only_ones = LabelledImages(synthetic.images[synthetic.labels == 1], np.ones(25, int))
    settings = QualitySettings(kid_subset_size=10, kid_subsets=5)
    fns = {"classifier": mean_colour, "inception": None, "pixels": pixel_features}
    reference = reference_for(only_ones, train, holdout, val, fns, settings)
    statuses = {"inception": "skipped: none"}
    rows, _, _ = assess("dcgan", only_ones, train, reference, fns, statuses, settings)
    table = pd.DataFrame(rows).query("feature_space == 'classifier'").set_index("label")
    assert table.loc[0, "status"].startswith("skipped: 0 patches of class 0")
    assert table.loc[1, "status"] == "ok" and table.loc[0, "n"] == 0


def test_with_a_stand_in_inception_extractor_rows_are_capped_and_matched():
    synthetic, train, holdout, val, _ = sets()
    extractor = StandInInception()
    fns = {
        "classifier": mean_colour,
        "inception": lambda images, rows: inception_features(extractor, images, rows, batch_size=8),
        "pixels": pixel_features,
    }
    settings = QualitySettings(max_patches=12, kid_subset_size=10, kid_subsets=5)
    reference = reference_for(synthetic, train, holdout, val, fns, settings)
    rows, _, _ = assess("dcgan", synthetic, train, reference, fns, {}, settings)
    inception = pd.DataFrame(rows).query("feature_space == 'inception'")
    assert (inception["status"] == "ok").all() and (inception["n"] == 12).all()
    assert np.isfinite(inception[["fid", "kid", "precision", "recall"]].to_numpy(float)).all()


def test_an_encoder_space_gets_every_metric_and_an_absent_encoder_says_skipped():
    synthetic, train, holdout, val, _ = sets()
    fns = {
        "classifier": mean_colour,
        "inception": None,
        "pixels": pixel_features,
        "tiny": lambda images, rows: pixel_features(images, rows, block=10).astype(float),
        "gone": None,
    }
    statuses = {"inception": "skipped: none", "gone": "skipped: no encoder folder at /nowhere"}
    encoders = {"tiny": "/models/tiny", "gone": "/nowhere"}
    settings = QualitySettings(encoders=encoders, max_patches=12, kid_subset_size=5, kid_subsets=5)
    reference = reference_for(synthetic, train, holdout, val, fns, settings)
    rows, pairs, used = assess("dcgan", synthetic, train, reference, fns, statuses, settings)
    table = pd.DataFrame(rows, columns=list(ROW_COLUMNS)).set_index(["feature_space", "label"])
    tiny = table.loc["tiny"]
    assert (tiny["status"] == "ok").all() and (tiny["n"] == 12).all()  # capped like Inception
    assert np.isfinite(tiny[["fid", "kid", "precision", "recall"]].to_numpy(float)).all()
    assert tiny.loc[0, "near_copy_share"] >= 3 / 25  # the planted copies, among all 25
    assert "tiny_distances" in pairs and "tiny_copy_0" in used
    gone = table.loc["gone"]
    assert (gone["status"] == statuses["gone"]).all() and gone["near_copy_share"].isna().all()
    assert not any(key.startswith("gone_") for key in (*pairs, *used))
    assert not {"gone_train_0", "gone_reference_0", "gone_calibration_0"} & set(reference)


# ---------------------------------------------------------------------------------------------
# Entry script, end to end on tiny files


def write_packed(folder, name: str, data: LabelledImages):
    """Six patients per set: train and held-out train share theirs, val has its own."""
    np.save(folder / f"{name}.npy", data.images)
    rows = np.arange(len(data.labels))
    patients = [f"{'v' if name == 'val' else 't'}{row % 6}" for row in rows]
    table = pd.DataFrame({"row": rows, "path": "p", "patient": patients, "x": 0, "y": 0}).assign(
        label=data.labels
    )
    table.to_parquet(folder / f"{name}.parquet", index=False)
    return folder / f"{name}.npy", folder / f"{name}.parquet"


def test_entry_script_writes_reference_tables_pairs_and_gathers(tmp_path):
    synthetic, train, holdout, val, _ = sets()
    packed = {
        name: write_packed(tmp_path, name, data)
        for name, data in (("train", train), ("holdout", holdout), ("val", val))
    }
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
        classifier_weights=weights, classifier_info=info, settings=settings, device="cpu", threads=1
    )
    out = tmp_path / "quality"
    quality_reference.main(
        train=packed["train"],
        holdout=packed["holdout"],
        val_table=packed["val"][1],
        synthetic_manifests={"dcgan": manifest},
        output=out / "reference.npz",
        log=out / "reference.log",
        **common,
    )
    for name, candidates, synthetic_manifest in (
        ("dcgan", None, manifest),
        ("holdout", packed["holdout"], None),
        ("real_val", packed["val"], None),
    ):
        image_quality.main(
            generator=name,
            reference_path=out / "reference.npz",
            train=packed["train"],
            candidates=candidates,
            synthetic_manifest=synthetic_manifest,
            table=out / f"{name}.tsv",
            pairs=out / f"{name}_closest_pairs.npz",
            features=out / f"{name}_features.npz",
            log=out / f"{name}.log",
            **common,
        )
    names = ("dcgan", "holdout", "real_val")
    gather_image_quality.main(
        tables=[out / f"{name}.tsv" for name in names],
        features={name: out / f"{name}_features.npz" for name in names},
        reference_path=out / "reference.npz",
        output=out / "all.tsv",
        memorization=out / "memorization.tsv",
        settings=QualitySettings(bootstrap_samples=50),
        log=None,
    )
    table = pd.read_csv(out / "all.tsv", sep="\t")
    columns = [c for c in ROW_COLUMNS if c not in ("status", "note")]
    assert list(table.columns) == [*columns, *INTERVAL_COLUMNS, "status", "note"]
    assert len(table) == 18
    # patient-bootstrap intervals: around each row's value, and paired with the floor and shift
    rows = table.set_index(["feature_space", "generator", "label"])
    checked = (("classifier", "fid"), ("classifier", "recall"), ("pixels", "spike_ratio"))
    for space, metric in checked:
        for label in (0, 1):
            ours = rows.loc[(space, "dcgan", label)]
            assert ours[f"{metric}_low"] <= ours[f"{metric}_high"], (space, metric)
            paired = ours[[f"{metric}_vs_floor_low", f"{metric}_vs_shift_high"]]
            assert np.isfinite(paired.to_numpy(float)).all(), (space, metric, label)
            assert np.isnan(rows.loc[(space, "holdout", label), f"{metric}_vs_floor_low"])
    assert set(table["generator"]) == {"dcgan", "holdout", "real_val"}
    skipped = table[table["feature_space"] == "inception"]["status"]
    assert (
        skipped == f"skipped: no Inception weights at {tmp_path / 'no_weights' / INCEPTION_FILE}"
    ).all()
    cnn = table[table["feature_space"] == "classifier"]
    assert (cnn["status"] == "ok").all() and cnn.groupby("label")["n"].nunique().eq(1).all()
    with np.load(out / "dcgan_closest_pairs.npz", allow_pickle=False) as pairs:
        assert pairs["pixels_synthetic"].shape[1:] == (50, 50, 3)
        assert pairs["pixels_distances"][0] < 1e-2
        assert len(pairs["pixels_patient"]) == len(pairs["pixels_distances"])
    # one row per generator, copy space and train patient; the floor and the shift have none
    copied = pd.read_csv(out / "memorization.tsv", sep="\t", dtype={"patient": str})
    assert list(copied.columns) == list(MEMORIZATION_COLUMNS)
    assert set(copied["generator"]) == {"dcgan"}
    assert copied.groupby("feature_space")["patient"].nunique().eq(6).all()  # train patients
