"""The synthetic-patch contract shared by every generator and every consumer.

A generator's output lives under ``results/synthetic/<generator>/``: per draw, class and
shard a uint8 ``.npy`` shaped (N, 50, 50, 3) plus a Parquet table (draw, shard, index, label,
generator, seed, images), and one ``manifest.parquet`` gathering the shard tables of every
draw. A draw is one independent synthetic set (classifier seeds are trained on different draws,
so generator sampling variance is replicated). How many patches per class comes from one
policy, and each shard's seed derives from (base seed, generator, class, shard, draw) so any
shard can be regenerated alone.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from idc_synth.layout import CLASSES, PATCH_SIZE

COUNT_MODES = ("absolute", "ratio", "balance")
SHARD_COLUMNS = ["draw", "shard", "index", "label", "generator", "seed", "images"]
NO_DRAW = -1  # the synthetic draw of an arm that trains on no synthetic patches (baseline)


@dataclass(frozen=True)
class CountPolicy:
    """absolute: `value` patches per class; ratio: `value` x the real train count of each class;
    balance: enough of each class to bring every class up to the largest real class."""

    mode: str
    value: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in COUNT_MODES:
            raise ValueError(f"count mode {self.mode!r} is not one of {COUNT_MODES}")


def class_targets(policy: CountPolicy, train_counts: dict[int, int]) -> dict[int, int]:
    """Synthetic patches to make per class, given the real train split's class counts."""
    if policy.mode == "absolute":
        return {label: int(policy.value) for label in CLASSES}
    if policy.mode == "ratio":
        return {label: round(policy.value * train_counts[label]) for label in CLASSES}
    largest = max(train_counts[label] for label in CLASSES)
    return {label: largest - train_counts[label] for label in CLASSES}


def train_class_counts(split: pd.DataFrame) -> dict[int, int]:
    """Real train patches per class, from the split table's per-patient counts."""
    train = split[split["split"] == "train"]
    idc = int(train["n_idc"].sum())
    return {0: int(train["n_patches"].sum()) - idc, 1: idc}


def shard_size(total: int, n_shards: int, shard: int) -> int:
    """Shards differ by at most one patch; the first ones take the remainder."""
    return total // n_shards + (1 if shard < total % n_shards else 0)


def shard_seed(base_seed: int, generator: str, label: int, shard: int, draw: int = 0) -> int:
    """A stable 32-bit seed per (generator, class, shard, draw), independent of job order."""
    sequence = np.random.SeedSequence(
        [base_seed, zlib.crc32(generator.encode()), label, shard, draw]
    )
    return int(sequence.generate_state(1)[0])


@dataclass(frozen=True)
class ShardPlan:
    """What one sampling job makes: `size` patches of `label` from `seed`."""

    generator: str
    label: int
    shard: int
    draw: int
    n_shards: int
    size: int
    seed: int
    class_total: int
    train_counts: dict[int, int]

    def write(self, patches: np.ndarray, images_path: Path, table_path: Path) -> pd.DataFrame:
        """Save this shard's patches (see write_shard)."""
        if len(patches) != self.size:
            raise ValueError(f"shard plan says {self.size} patches, got {len(patches)}")
        images_path.parent.mkdir(parents=True, exist_ok=True)
        table_path.parent.mkdir(parents=True, exist_ok=True)
        return write_shard(
            patches,
            label=self.label,
            generator=self.generator,
            seed=self.seed,
            shard=self.shard,
            draw=self.draw,
            images_path=images_path,
            table_path=table_path,
        )

    def describe(self) -> str:
        return (
            f"{self.generator} draw {self.draw} class {self.label}: {self.class_total} patches "
            f"in {self.n_shards} shards (real train counts {self.train_counts}); shard "
            f"{self.shard} gets {self.size} from seed {self.seed}"
        )


def plan_shard(
    split: pd.DataFrame,
    policy: CountPolicy,
    *,
    generator: str,
    label: int,
    shard: int,
    n_shards: int,
    base_seed: int,
    draw: int = 0,
) -> ShardPlan:
    """Size and seed of one shard of one draw, from the count policy and the real train split;
    every draw has the same sizes, only the seeds differ."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is outside 0..{n_shards - 1}")
    if draw < 0:
        raise ValueError(f"draw must be >= 0, got {draw}")
    counts = train_class_counts(split)
    total = class_targets(policy, counts)[label]
    return ShardPlan(
        generator=generator,
        label=label,
        shard=shard,
        draw=draw,
        n_shards=n_shards,
        size=shard_size(total, n_shards, shard),
        seed=shard_seed(base_seed, generator, label, shard, draw),
        class_total=total,
        train_counts=counts,
    )


def plan_shards(
    split: pd.DataFrame,
    policy: CountPolicy,
    *,
    generator: str,
    labels: list[int],
    shard: int,
    n_shards: int,
    base_seed: int,
    draw: int = 0,
) -> list[ShardPlan]:
    """plan_shard for every class a sampling job makes, in the order of ``labels``."""
    return [
        plan_shard(
            split,
            policy,
            generator=generator,
            label=label,
            shard=shard,
            n_shards=n_shards,
            base_seed=base_seed,
            draw=draw,
        )
        for label in labels
    ]


def write_shard(
    images: np.ndarray,
    *,
    label: int,
    generator: str,
    seed: int | np.ndarray,
    shard: int,
    images_path: Path,
    table_path: Path,
    draw: int = 0,
) -> pd.DataFrame:
    """Save one shard (possibly empty: a class the count policy gives no patches); the table's
    `images` column names the .npy relative to the table. ``seed``: the sampling seed, one or
    per patch (a selected set's patches come from several shards)."""
    if images.dtype != np.uint8 or images.shape[1:] != (PATCH_SIZE, PATCH_SIZE, 3):
        raise ValueError(
            f"shard images must be uint8 (N, 50, 50, 3), got {images.dtype} {images.shape}"
        )
    np.save(images_path, images)
    table = pd.DataFrame(
        {
            "draw": draw,
            "shard": shard,
            "index": np.arange(len(images)),
            "label": label,
            "generator": generator,
            "seed": seed,
            "images": images_path.name,
        },
        columns=SHARD_COLUMNS,
    )
    table.to_parquet(table_path, index=False)
    return table


def gather_shards(table_paths: list[Path], manifest_path: Path) -> pd.DataFrame:
    """One manifest for a generator, every draw; `images` paths become relative to it."""
    tables = []
    for path in table_paths:
        table = pd.read_parquet(path)
        relative = path.parent.relative_to(manifest_path.parent)
        tables.append(table.assign(images=[str(relative / name) for name in table["images"]]))
    manifest = pd.concat(tables, ignore_index=True)[SHARD_COLUMNS]
    manifest.to_parquet(manifest_path, index=False)
    return manifest


def export_pngs(manifest_path: Path, folder: Path) -> int:
    """Every synthetic patch of a generator as a PNG, for looking at; returns the count."""
    manifest = pd.read_parquet(manifest_path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in manifest.groupby("images", sort=False):
        shard = np.load(manifest_path.parent / name, mmap_mode="r")
        for row in rows.itertuples():
            filename = (
                f"{row.generator}_draw{row.draw}_class{row.label}_shard{row.shard:03d}"
                f"_{row.index:05d}.png"
            )
            Image.fromarray(np.asarray(shard[row.index])).save(folder / filename)
    return len(manifest)


# The draw that stands for a generator where one synthetic set is judged (image quality,
# sample figures): the set classifier seed 0 trains on, at the size a classifier sees.
REFERENCE_DRAW = 0


def load_synthetic(manifest_path: Path, draw: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A generator's patches and labels in manifest order: one draw's, or (None) every draw's."""
    manifest = pd.read_parquet(manifest_path)
    if draw is not None:
        if draw not in set(manifest["draw"]):
            raise ValueError(
                f"{manifest_path} has no draw {draw}; it has {sorted(set(manifest['draw']))}"
            )
        manifest = manifest[manifest["draw"] == draw]
    return load_patches(manifest, Path(manifest_path).parent)


def _no_patches() -> tuple[np.ndarray, np.ndarray]:
    return np.empty((0, PATCH_SIZE, PATCH_SIZE, 3), np.uint8), np.empty(0, np.int64)


def load_patches(table: pd.DataFrame, root: Path) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a shard or manifest table as uint8 (N, 50, 50, 3) images and labels."""
    images, labels = [], []
    for name, rows in table.groupby("images", sort=False):
        shard = np.load(root / name, mmap_mode="r")
        images.append(np.asarray(shard[rows["index"].to_numpy()]))
        labels.append(rows["label"].to_numpy())
    if not images:
        return _no_patches()
    return np.concatenate(images), np.concatenate(labels).astype(np.int64)
