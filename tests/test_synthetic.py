import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from idc_synth.batches import IndexedImages, synthetic_parts
from idc_synth.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
from idc_synth.grids import save_grid, tile
from idc_synth.synthetic import (
    CountPolicy,
    class_targets,
    export_pngs,
    gather_shards,
    load_synthetic,
    plan_shard,
    plan_shards,
    shard_seed,
    shard_size,
    train_class_counts,
    write_shard,
)

COUNTS = {0: 700, 1: 300}


def test_count_policies():
    assert class_targets(CountPolicy("absolute", 50), COUNTS) == {0: 50, 1: 50}
    assert class_targets(CountPolicy("ratio", 0.5), COUNTS) == {0: 350, 1: 150}
    assert class_targets(CountPolicy("balance"), COUNTS) == {0: 0, 1: 400}
    with pytest.raises(ValueError, match="not one of"):
        CountPolicy("double")


def test_train_class_counts_read_only_the_train_split():
    split = pd.DataFrame(
        {
            "patient": ["a", "b", "c"],
            "split": ["train", "train", "test"],
            "n_patches": [10, 20, 99],
            "n_idc": [3, 4, 50],
        }
    )
    assert train_class_counts(split) == {0: 23, 1: 7}


def test_shards_cover_the_total():
    assert [shard_size(10, 3, shard) for shard in range(3)] == [4, 3, 3]
    assert sum(shard_size(1001, 7, shard) for shard in range(7)) == 1001


def test_shard_seeds_are_stable_and_distinct():
    seeds = {
        shard_seed(0, g, label, s, draw)
        for g in ("dcgan", "diffusion")
        for label in (0, 1)
        for s in range(4)
        for draw in range(3)
    }
    assert len(seeds) == 48
    assert shard_seed(0, "dcgan", 1, 2, 0) == shard_seed(0, "dcgan", 1, 2, 0)
    assert shard_seed(0, "dcgan", 1, 2, 0) != shard_seed(1, "dcgan", 1, 2, 0)


def test_shards_round_trip_through_the_manifest(tmp_path):
    rng = np.random.default_rng(0)
    tables = []
    for label in (0, 1):
        folder = tmp_path / "dcgan" / f"class{label}"
        folder.mkdir(parents=True)
        images = rng.integers(0, 256, (3 + label, 50, 50, 3), dtype=np.uint8)
        write_shard(
            images,
            label=label,
            generator="dcgan",
            seed=7,
            shard=0,
            draw=0,
            images_path=folder / "shard0.npy",
            table_path=folder / "shard0.parquet",
        )
        tables.append(folder / "shard0.parquet")
    manifest = gather_shards(tables, tmp_path / "dcgan" / "manifest.parquet")
    assert list(manifest["images"].unique()) == ["class0/shard0.npy", "class1/shard0.npy"]
    images, labels = load_synthetic(tmp_path / "dcgan" / "manifest.parquet")
    assert images.shape == (7, 50, 50, 3) and images.dtype == np.uint8
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert np.array_equal(images[3:], np.load(tmp_path / "dcgan/class1/shard0.npy"))


def write_draws(root, sizes):
    """Shards of draws 0 and 1 as the sampling rules lay them out; sizes[label] patches per
    shard (0: a class the count policy gives nothing). Returns the tables and the images."""
    tables, images = [], {}
    for draw in (0, 1):
        for label in (0, 1):
            plan = plan_shard(
                pd.DataFrame(
                    {"patient": ["a"], "split": ["train"], "n_patches": [10], "n_idc": [3]}
                ),
                CountPolicy("absolute", sizes[label]),
                generator="g",
                label=label,
                shard=0,
                draw=draw,
                n_shards=1,
                base_seed=0,
            )
            folder = root / f"draw{draw}" / f"class{label}"
            patches = np.random.default_rng(plan.seed).integers(
                0, 256, (plan.size, 50, 50, 3), dtype=np.uint8
            )
            plan.write(patches, folder / "shard0.npy", folder / "shard0.parquet")
            tables.append(folder / "shard0.parquet")
            images[draw, label] = patches
    return tables, images


def test_draws_are_distinct_and_one_manifest_lists_them(tmp_path):
    tables, images = write_draws(tmp_path / "g", {0: 2, 1: 3})
    manifest = gather_shards(tables, tmp_path / "g" / "manifest.parquet")
    assert manifest["draw"].tolist() == [0] * 5 + [1] * 5
    assert manifest.loc[0, "images"] == "draw0/class0/shard0.npy"
    assert manifest.groupby("draw")["seed"].nunique().tolist() == [2, 2]
    assert not set(manifest.loc[manifest["draw"] == 0, "seed"]) & set(
        manifest.loc[manifest["draw"] == 1, "seed"]
    )
    assert not np.array_equal(images[0, 1], images[1, 1])
    for draw in (0, 1):
        patches, labels = load_synthetic(tmp_path / "g" / "manifest.parquet", draw=draw)
        assert labels.tolist() == [0, 0, 1, 1, 1]
        assert np.array_equal(patches, np.concatenate([images[draw, 0], images[draw, 1]]))
        # a classifier reads its draw's shard tables directly: the same patches
        from_shards = IndexedImages(synthetic_parts([t for t in tables if f"draw{draw}" in str(t)]))
        assert np.array_equal(from_shards.gather(np.arange(len(from_shards))), patches)
        assert np.array_equal(from_shards.labels, labels)
    assert len(load_synthetic(tmp_path / "g" / "manifest.parquet")[1]) == 10
    with pytest.raises(ValueError, match="has no draw 2; it has \\[0, 1\\]"):
        load_synthetic(tmp_path / "g" / "manifest.parquet", draw=2)


def test_a_class_with_no_synthetic_patches_writes_and_loads(tmp_path):
    """balance mode gives the majority class nothing: empty shards, no crash, no rows."""
    tables, images = write_draws(tmp_path / "g", {0: 0, 1: 2})
    assert np.load(tables[0].with_suffix(".npy")).shape == (0, 50, 50, 3)
    assert len(pd.read_parquet(tables[0])) == 0
    manifest = gather_shards(tables, tmp_path / "g" / "manifest.parquet")
    assert manifest.groupby("draw")["label"].apply(list).tolist() == [[1, 1], [1, 1]]
    parts = synthetic_parts(tables[:2])
    assert [len(part) for part in parts] == [2]  # the empty shard has no rows to map
    shards = IndexedImages(parts)
    assert shards.labels.tolist() == [1, 1]
    assert np.array_equal(shards.gather(np.arange(2)), images[0, 1])
    assert export_pngs(tmp_path / "g" / "manifest.parquet", tmp_path / "png") == 4


def test_plan_shard_and_png_export(tmp_path):
    split = pd.DataFrame(
        {"patient": ["a", "b"], "split": ["train", "val"], "n_patches": [10, 5], "n_idc": [4, 1]}
    )
    plans = [
        plan_shard(
            split,
            CountPolicy("ratio", 1.0),
            generator="g",
            label=1,
            shard=shard,
            draw=1,
            n_shards=3,
            base_seed=7,
        )
        for shard in range(3)
    ]
    assert [plan.size for plan in plans] == [2, 1, 1] and plans[0].class_total == 4
    assert plans[2].seed == shard_seed(7, "g", 1, 2, 1)
    with pytest.raises(ValueError, match="plan says 1 patches, got 2"):
        plans[2].write(np.zeros((2, 50, 50, 3), np.uint8), tmp_path / "x.npy", tmp_path / "x.pq")
    with pytest.raises(ValueError, match="outside 0..2"):
        plan_shard(
            split,
            CountPolicy("balance"),
            generator="g",
            label=0,
            shard=3,
            draw=0,
            n_shards=3,
            base_seed=7,
        )
    folder = tmp_path / "g" / "class1"
    folder.mkdir(parents=True)
    images = np.random.default_rng(1).integers(0, 256, (2, 50, 50, 3), dtype=np.uint8)
    write_shard(
        images,
        label=1,
        generator="g",
        seed=plans[0].seed,
        shard=0,
        draw=1,
        images_path=folder / "shard0.npy",
        table_path=folder / "shard0.parquet",
    )
    gather_shards([folder / "shard0.parquet"], tmp_path / "g" / "manifest.parquet")
    assert export_pngs(tmp_path / "g" / "manifest.parquet", tmp_path / "png") == 2
    exported = sorted((tmp_path / "png").glob("*.png"))
    assert [path.name for path in exported] == [
        "g_draw1_class1_shard000_00000.png",
        "g_draw1_class1_shard000_00001.png",
    ]
    assert np.array_equal(np.asarray(Image.open(exported[1])), images[1])


def test_write_shard_rejects_wrong_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"uint8 \(N, 50, 50, 3\)"):
        write_shard(
            np.zeros((2, 64, 64, 3), np.uint8),
            label=0,
            generator="g",
            seed=0,
            shard=0,
            draw=0,
            images_path=tmp_path / "a.npy",
            table_path=tmp_path / "a.parquet",
        )


def test_checkpoint_round_trip_restores_every_rng(tmp_path):
    generator = np.random.default_rng(3)
    generator.random(5)
    state = {"step": 12, "model": {"w": torch.ones(2)}, "rng": capture_rng(generator)}
    expected = (torch.rand(3), generator.random(3))
    save_checkpoint(tmp_path / "state" / "checkpoint.pt", state)
    loaded = load_checkpoint(tmp_path / "state" / "checkpoint.pt")
    restore_rng(loaded["rng"], generator)
    assert loaded["step"] == 12 and torch.equal(loaded["model"]["w"], torch.ones(2))
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(generator.random(3), expected[1])
    assert load_checkpoint(tmp_path / "absent.pt") is None
    assert not list((tmp_path / "state").glob("*.partial"))


def test_grid_tiles_patches_in_order(tmp_path):
    images = np.stack([np.full((50, 50, 3), value, np.uint8) for value in (0, 100, 200)])
    canvas = tile(images, columns=2, gap=2)
    assert canvas.shape == (102, 102, 3)
    assert (canvas[:50, 52:] == 100).all() and (canvas[52:, :50] == 200).all()
    assert (canvas[52:, 52:] == 255).all()  # the empty cell stays white
    save_grid(images, tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_a_sampling_job_plans_each_of_its_classes_as_alone():
    split = pd.DataFrame(
        {"patient": ["a", "b"], "split": ["train", "val"], "n_patches": [10, 5], "n_idc": [4, 1]}
    )
    common = {"generator": "g", "shard": 0, "n_shards": 1, "base_seed": 7, "draw": 2}
    plans = plan_shards(split, CountPolicy("ratio", 0.5), labels=[1, 0], **common)
    assert [plan.label for plan in plans] == [1, 0] and [plan.size for plan in plans] == [2, 3]
    assert plans == [
        plan_shard(split, CountPolicy("ratio", 0.5), label=label, **common) for label in (1, 0)
    ]
