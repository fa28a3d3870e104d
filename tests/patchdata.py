"""Tiny data roots in the IDC layout, built by the tests themselves."""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from idc_synth.layout import PatchName

REPO = Path(__file__).resolve().parents[1]
REAL_SAMPLE = REPO.parent / "shared" / "data" / "idc-sample"
REAL_IDC = REPO.parent / "shared" / "data" / "idc-real"


def link_real_patients(folder: Path, patients: list[str]) -> Path:
    """A data root holding these real patients of REAL_IDC, linked (never copied); the calling
    test is skipped where the real patches are absent."""
    import pytest

    if not REAL_IDC.is_dir():
        pytest.skip(f"real IDC patches not found at {REAL_IDC}")
    folder.mkdir(parents=True)
    for patient in patients:
        (folder / patient).symlink_to(REAL_IDC / patient, target_is_directory=True)
    return folder


def write_patch(
    root: Path, patient: str, x: int, y: int, label: int, size: tuple[int, int] = (50, 50)
) -> Path:
    """One PNG patch whose pixels encode its label (IDC darker), for tests that need pixels."""
    name = PatchName(patient, x, y, label)
    path = root / name.relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(zlib.crc32(name.filename.encode()))
    base = 90 if label else 200
    pixels = np.clip(rng.normal(base, 20, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def make_tree(root: Path, patients: dict[str, tuple[int, int]]) -> Path:
    """patients: id -> (n non-IDC, n IDC) patches laid on a 50 px grid."""
    for patient, counts in patients.items():
        for label, count in enumerate(counts):
            for index in range(count):
                write_patch(
                    root,
                    patient,
                    50 * (index % 10) + 1,
                    50 * (index // 10) + 1 + 1000 * label,
                    label,
                )
    return root


def snapshot(root: Path) -> dict[str, tuple[int, float]]:
    """Sizes and mtimes of everything under root, to prove nothing wrote into it."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime) for p in root.rglob("*")
    }


# The folder the Kaggle archive repeats every patient under
NESTED = "IDC_regular_ps50_idx5"


def kaggle_root(destination: Path, patients: Path) -> Path:
    """The Kaggle archive's layout: every patient folder at the top and again, a byte-identical
    copy, under IDC_regular_ps50_idx5/ (copies, as unpacking the archive makes them)."""
    for folder in sorted(p for p in patients.iterdir() if p.is_dir()):
        shutil.copytree(folder, destination / folder.name)
        shutil.copytree(folder, destination / NESTED / folder.name)
    return destination
