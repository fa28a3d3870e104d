"""The lean classifier data path: batches by index across memory maps, prefetched on a thread."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from idc_synth.augment import augment_batch
from idc_synth.batches import (
    BatchSource,
    IndexedImages,
    Part,
    period_generators,
    prefetch,
    synthetic_parts,
)


def _images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)


def _parts() -> list[Part]:
    real = _images(23, 0)
    shard = _images(15, 1)
    rows = np.array([14, 3, 7, 0, 9, 11])  # a shard used in manifest order, not row order
    return [
        Part(real, np.arange(23) % 2),
        Part(shard, np.ones(len(rows), np.int64), rows),
        Part(_images(0, 2), np.empty(0, np.int64)),  # an empty part is skipped
    ]


def _concatenated(parts: list[Part]) -> tuple[np.ndarray, np.ndarray]:
    images = [p.images if p.rows is None else p.images[p.rows] for p in parts]
    return np.concatenate(images), np.concatenate([p.labels for p in parts])


def _run(source: BatchSource, period: int) -> list:
    return [(b.index, b.patches.numpy(), b.labels.numpy()) for b in source.period(period)]


def test_gather_equals_indexing_the_concatenation():
    parts = _parts()
    images, labels = _concatenated(parts)
    data = IndexedImages(parts)
    index = np.random.default_rng(3).permutation(len(images))[:17]
    assert len(data) == 29
    np.testing.assert_array_equal(data.gather(index), images[index])
    np.testing.assert_array_equal(data.labels, labels)
    with pytest.raises(IndexError):
        data.gather(np.array([29]))


def test_a_period_visits_every_row_once_with_its_own_label():
    source = BatchSource(_parts(), batch_size=4, seed=5, augment=False)
    images, labels = _concatenated(_parts())
    batches = _run(source, 0)
    assert len(batches) == len(source) == 8  # 29 rows: seven of 4 and a last one of 1
    seen = np.concatenate([index for index, _, _ in batches])
    assert sorted(seen.tolist()) == list(range(29))
    for index, patches, batch_labels in batches:
        np.testing.assert_array_equal(patches, images[index])
        np.testing.assert_array_equal(batch_labels, labels[index])


def test_deterministic_per_seed_and_period():
    def run(seed: int, period: int) -> list:
        return _run(BatchSource(_parts(), batch_size=5, seed=seed), period)

    first = run(7, 2)
    for (i1, p1, l1), (i2, p2, l2) in zip(first, run(7, 2), strict=True):
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_array_equal(p1, p2)
        np.testing.assert_array_equal(l1, l2)
    other_period = np.concatenate([index for index, _, _ in run(7, 3)])
    other_seed = np.concatenate([index for index, _, _ in run(8, 2)])
    order = np.concatenate([index for index, _, _ in first])
    assert not np.array_equal(order, other_period)
    assert not np.array_equal(order, other_seed)


def test_same_batches_as_over_the_concatenated_array():
    """Splitting the data into parts, or prefetching, changes nothing: same rows, same
    augmentation draws."""
    images, labels = _concatenated(_parts())
    split = _run(BatchSource(_parts(), batch_size=6, seed=11), 1)
    whole = _run(BatchSource([Part(images, labels)], batch_size=6, seed=11), 1)
    unthreaded = _run(BatchSource(_parts(), batch_size=6, seed=11, prefetch_depth=0), 1)
    for (i1, p1, l1), (i2, p2, l2), (i3, p3, _) in zip(split, whole, unthreaded, strict=True):
        np.testing.assert_array_equal(i1, i3)
        np.testing.assert_array_equal(p1, p3)
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_array_equal(p1, p2)
        np.testing.assert_array_equal(l1, l2)
    # ... and the augmentation is the project's, drawn from the period's generator.
    _, augment_rng = period_generators(11, 1)
    index = split[0][0]
    expected = augment_batch(torch.from_numpy(images[index]), augment_rng).numpy()
    np.testing.assert_array_equal(split[0][1], expected)


def test_producer_exceptions_reach_the_consumer_and_the_thread_ends():
    def failing():
        yield 1
        raise OSError("disk gone")

    before = threading.active_count()
    with pytest.raises(OSError, match="disk gone"):
        list(prefetch(failing()))
    assert threading.active_count() == before

    class Broken(np.ndarray):
        def __getitem__(self, key):
            raise RuntimeError("unreadable shard")

    broken = _images(10, 4).view(Broken)
    source = BatchSource([Part(broken, np.zeros(10, np.int64))], batch_size=3, seed=0)
    with pytest.raises(RuntimeError, match="unreadable shard"):
        _run(source, 0)


def test_leaving_a_period_early_stops_the_thread():
    before = threading.active_count()
    source = BatchSource(_parts(), batch_size=2, seed=0, prefetch_depth=1)
    for step, _ in enumerate(source.period(0)):
        if step == 1:
            break
    gc.collect()
    assert threading.active_count() == before
    assert source.wait_seconds > 0


def _rss_mib() -> float:
    """Resident memory, private plus mapped file pages: what a scheduler's RSS limit sees."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status VmRSS on this system")


def test_a_big_memory_map_is_not_copied_into_ram(tmp_path):
    """A period over a 256 MiB memory map grows the RSS by a few batches' temporaries (~15 MiB
    at batch 64), not by the file: neither copied nor left mapped."""
    n = 256 * 1024 * 1024 // (50 * 50 * 3)
    images = np.lib.format.open_memmap(
        tmp_path / "train.npy", mode="w+", dtype=np.uint8, shape=(n, 50, 50, 3)
    )
    images[::97] = 7  # touch some pages so the file is real
    images.flush()
    del images
    mapped = np.load(tmp_path / "train.npy", mmap_mode="r")
    source = BatchSource([Part(mapped, np.arange(n) % 2)], batch_size=64, seed=0)
    gc.collect()
    before = _rss_mib()
    peak = before
    for step, _ in enumerate(source.period(0)):
        if step % 8 == 0:
            peak = max(peak, _rss_mib())
    assert peak - before < 40, f"RSS grew {peak - before:.0f} MiB over a 256 MiB map"


def test_synthetic_parts_read_each_shard_as_a_memory_map(tmp_path):
    for shard in (0, 1):
        np.save(tmp_path / f"shard{shard}.npy", _images(5, shard))
    manifest = pd.DataFrame(
        {
            "images": ["shard0.npy"] * 3 + ["shard1.npy"] * 2,
            "index": [4, 0, 2, 1, 3],
            "label": [0, 0, 0, 1, 1],
        }
    )
    manifest.to_parquet(tmp_path / "manifest.parquet")
    parts = synthetic_parts([tmp_path / "manifest.parquet"])
    assert [type(p.images) for p in parts] == [np.memmap, np.memmap]
    data = IndexedImages(parts)
    np.testing.assert_array_equal(data.gather(np.arange(5))[:3], _images(5, 0)[[4, 0, 2]])
    np.testing.assert_array_equal(data.gather(np.arange(5))[3:], _images(5, 1)[[1, 3]])
    np.testing.assert_array_equal(data.labels, [0, 0, 0, 1, 1])
