"""Write an IDC-layout data root with the real dataset's shape, for benchmarks.

    python benchmarks/make_full_scale_tree.py /scratch/idc-full --full-scale   # 277,524 PNGs
    python benchmarks/make_full_scale_tree.py /tmp/idc-small                   # 4,000 PNGs
    python benchmarks/make_full_scale_tree.py /tmp/idc-kaggle --nested-copy    # + the copy

The shape is the Kaggle "Breast Histopathology Images" set's: 277,524 patches from 279
patients (uneven per-patient counts; the 162 ids of the published split among them), 78,786
(28.4 %) IDC with a per-patient IDC share that varies, ~1.5 % edge patches cut smaller than
50x50 at the slide border, patches on a 50 px grid.
Pixels come from a few hundred template PNGs (tissue-like blobs, or real patches given with
--templates), each encoded once and written as bytes: decode cost per patch is realistic, and
the full tree takes about a minute and ~1.5 GB of disk. --nested-copy adds the Kaggle
archive's duplicate of every patient folder under IDC_regular_ps50_idx5/ (twice the files),
whose byte-for-byte check the ingest then pays.
"""

from __future__ import annotations

import argparse
import io
import shutil
from pathlib import Path

import numpy as np
from benchlib import REPO  # noqa: F401  (says how to install idc_synth where it is missing)
from PIL import Image
from scipy import ndimage

from idc_synth.layout import PATCH_SIZE, PatchName
from idc_synth.presets import preset_lists, read_patient_list

FULL_SCALE = {"patches": 277_524, "patients": 279, "idc": 78_786}
PUBLISHED = "janowczyk2016"  # the split whose patient ids the tree uses
NESTED_COPY = "IDC_regular_ps50_idx5"  # the Kaggle archive's second copy of every patient
EDGE_FRACTION = 0.015
N_TEMPLATES = 256


def tissue_like(rng: np.random.Generator, size: tuple[int, int], label: int) -> np.ndarray:
    """H&E-coloured smooth blobs plus grain: compresses (and decodes) like a real patch."""
    height, width = size
    field = ndimage.gaussian_filter(rng.normal(0, 1, (height, width)), 3)
    field = (field - field.min()) / (np.ptp(field) + 1e-9)
    pink, purple = np.array([230, 170, 210]), np.array([120, 60, 150] if label else [170, 110, 180])
    pixels = pink + field[..., None] * (purple - pink) + rng.normal(0, 8, (height, width, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def templates(rng: np.random.Generator, source: Path | None) -> dict[str, list[bytes]]:
    """PNG bytes by kind: 'full' (50x50) per class, and 'edge' (smaller)."""
    if source is not None:
        files = sorted(source.rglob("*.png"))[:N_TEMPLATES]
        if not files:
            raise SystemExit(f"no PNGs under {source}")
        real = [np.asarray(Image.open(f).convert("RGB")) for f in files]
        full = [_png(p) for p in real if p.shape[:2] == (PATCH_SIZE, PATCH_SIZE)]
        by_class = {0: full, 1: full}
    else:
        by_class = {
            label: [
                _png(tissue_like(rng, (PATCH_SIZE, PATCH_SIZE), label))
                for _ in range(N_TEMPLATES // 2)
            ]
            for label in (0, 1)
        }
    edge = [_png(tissue_like(rng, tuple(rng.integers(10, PATCH_SIZE, 2)), 0)) for _ in range(32)]
    return {"0": by_class[0], "1": by_class[1], "edge": edge}


def plan(patches: int, patients: int, idc: int, seed: int) -> list[tuple[str, int, int]]:
    """(patient id, n patches, n IDC) per patient: lognormal sizes, beta-distributed IDC shares,
    both rescaled to hit the totals exactly."""
    rng = np.random.default_rng(seed)
    sizes = rng.lognormal(0, 0.6, patients)
    counts = np.maximum(1, np.floor(sizes / sizes.sum() * patches)).astype(int)
    counts[np.argmax(counts)] += patches - counts.sum()
    shares = rng.beta(1.2, 3.0, patients)
    positives = np.minimum(counts, np.round(shares * counts * idc / (shares * counts).sum()))
    positives = positives.astype(int)
    while positives.sum() != idc:  # fix rounding one patch at a time
        step = 1 if positives.sum() < idc else -1
        room = positives < counts if step > 0 else positives > 0
        positives[rng.choice(np.flatnonzero(room))] += step
    pairs = zip(patient_ids(patients), counts, positives, strict=True)
    return [(patient, int(n), int(k)) for patient, n, k in pairs]


def patient_ids(n: int) -> list[str]:
    """The real set's ids where they are known: the 162 of the published split first (so a
    full-scale tree plans the split.preset janowczyk2016 study), then unused ids from 8863 on."""
    lists = preset_lists(PUBLISHED).values()
    published = sorted({patient for path in lists for patient in read_patient_list(path)}, key=int)
    fillers = (str(i) for i in range(8863, 8863 + 2 * n) if str(i) not in published)
    return [*published, *fillers][:n]


def write_tree(
    root: Path, patches: int, patients: int, idc: int, seed: int = 0, source: Path | None = None
) -> int:
    rng = np.random.default_rng(seed)
    pngs = templates(rng, source)
    written = 0
    for patient, count, positives in plan(patches, patients, idc, seed):
        side = int(np.ceil(np.sqrt(count)))
        labels = np.zeros(count, int)
        labels[rng.choice(count, positives, replace=False)] = 1
        edges = rng.random(count) < EDGE_FRACTION
        for label in (0, 1):
            (root / patient / str(label)).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            label = int(labels[index])
            name = PatchName(patient, 1 + 50 * (index % side), 1 + 50 * (index // side), label)
            kind = "edge" if edges[index] else str(label)
            (root / name.relative_path).write_bytes(pngs[kind][index % len(pngs[kind])])
            written += 1
    return written


def add_nested_copy(root: Path) -> int:
    """Copy every patient folder of root under root/IDC_regular_ps50_idx5/, as the Kaggle
    archive holds them; the number of files copied."""
    nested = root / NESTED_COPY
    for folder in sorted(path for path in root.iterdir() if path.is_dir() and path != nested):
        shutil.copytree(folder, nested / folder.name)
    return sum(1 for path in nested.rglob("*.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder to write (created; must be empty)")
    parser.add_argument("--full-scale", action="store_true", help="277,524 patches, 279 patients")
    parser.add_argument("--patches", type=int, default=4000)
    parser.add_argument("--patients", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--templates", type=Path, help="real IDC PNGs to reuse as pixels")
    parser.add_argument(
        "--nested-copy", action="store_true", help=f"also a copy of it all under {NESTED_COPY}/"
    )
    args = parser.parse_args()
    if args.root.exists() and any(args.root.iterdir()):
        raise SystemExit(f"{args.root} is not empty")
    if args.full_scale:
        shape = FULL_SCALE
    else:
        shape = {
            "patches": args.patches,
            "patients": args.patients,
            "idc": round(args.patches * FULL_SCALE["idc"] / FULL_SCALE["patches"]),
        }
    count = write_tree(args.root, **shape, seed=args.seed, source=args.templates)
    print(f"wrote {count} patches of {shape['patients']} patients under {args.root}")
    if args.nested_copy:
        print(f"and {add_nested_copy(args.root)} copies under {args.root / NESTED_COPY}")


if __name__ == "__main__":
    main()
