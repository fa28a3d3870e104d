"""The lean classifier data path: rows by index across memory maps, prefetched on a thread."""

from __future__ import annotations

import gc
import itertools
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from idc_synth.batches import (
    IndexedImages,
    Part,
    prefetch,
    release_mapped_pages,
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


def test_parts_must_be_uint8_patches_with_one_label_each_and_agree_on_shape():
    with pytest.raises(ValueError, match="uint8"):
        Part(np.zeros((2, 8, 8, 3), np.float32), np.zeros(2))
    with pytest.raises(ValueError, match="labels"):
        Part(_images(4, 0), np.zeros(3), np.array([0, 1]))
    with pytest.raises(ValueError, match="shape"):
        IndexedImages([Part(_images(2, 0), np.zeros(2)), Part(_images(2, 0)[:, :4], np.zeros(2))])
    with pytest.raises(ValueError, match="empty"):
        IndexedImages([Part(_images(0, 0), np.zeros(0))])
    np.testing.assert_array_equal(
        IndexedImages(_parts()).part_arrays()[1], _images(15, 1)[[14, 3, 7, 0, 9, 11]]
    )


def test_prefetch_keeps_order_and_stays_at_most_depth_ahead():
    produced = []

    def items():
        for i in range(20):
            produced.append(i)
            yield i

    consumed = []
    for item in prefetch(items(), depth=2):
        time.sleep(0.002)  # let the producer run ahead as far as it may
        # taken + the queue's depth + the one the producer holds while blocked
        assert len(produced) <= len(consumed) + 1 + 2 + 1
        consumed.append(item)
    assert consumed == list(range(20))
    with pytest.raises(ValueError, match="depth"):
        next(prefetch(items(), depth=0))


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

    data = IndexedImages([Part(_images(10, 4).view(Broken), np.zeros(10, np.int64))])
    with pytest.raises(RuntimeError, match="unreadable shard"):
        list(prefetch(data.gather(np.arange(k, k + 3)) for k in range(0, 9, 3)))
    assert threading.active_count() == before


def test_leaving_the_loop_early_stops_the_thread():
    before = threading.active_count()
    for step, _ in enumerate(prefetch(itertools.count(), depth=1)):
        if step == 1:
            break
    gc.collect()
    assert threading.active_count() == before


def _rss_mib() -> float:
    """Resident memory, private plus mapped file pages: what a scheduler's RSS limit sees."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status VmRSS on this system")


def test_a_big_memory_map_is_not_copied_into_ram(tmp_path):
    """A pass over a 256 MiB memory map grows the RSS by a few batches' temporaries (~15 MiB
    at batch 64), not by the file: neither copied nor left mapped."""
    n = 256 * 1024 * 1024 // (50 * 50 * 3)
    images = np.lib.format.open_memmap(
        tmp_path / "train.npy", mode="w+", dtype=np.uint8, shape=(n, 50, 50, 3)
    )
    images[::97] = 7  # touch some pages so the file is real
    images.flush()
    del images
    mapped = np.load(tmp_path / "train.npy", mmap_mode="r")
    data = IndexedImages([Part(mapped, np.arange(n) % 2)])
    order = np.random.default_rng(0).permutation(n)
    gc.collect()
    before = _rss_mib()
    peak = before
    for step, start in enumerate(range(0, n, 64)):
        data.gather(np.sort(order[start : start + 64]))
        if step % 8 == 0:
            peak = max(peak, _rss_mib())
    assert peak - before < 40, f"RSS grew {peak - before:.0f} MiB over a 256 MiB map"
    assert release_mapped_pages(mapped) and not release_mapped_pages(_images(2, 0))


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
