"""Pack throughput (images/s) and peak memory by worker count, on a generated IDC-layout folder.

    python benchmarks/pack_throughput.py --patches 20000 --workers 1 2

Prints a table; the folder is generated once in a temp dir (or reused with --root).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow_scripts"))

from idc_synth.layout import PatchName  # noqa: E402
from idc_synth.manifest import build_manifest  # noqa: E402
from idc_synth.pack import pack_split  # noqa: E402
from idc_synth.split import patient_table  # noqa: E402


def make_folder(root: Path, patches: int, patients: int = 20) -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (64, 50, 50, 3), dtype=np.uint8)  # PNG-incompressible pixels
    for index in range(patches):
        patient = str(10000 + index % patients)
        label = int(rng.random() < 0.28)
        name = PatchName(patient, 50 * (index // patients), 0, label)
        path = root / name.relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(noise[index % 64]).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=20000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--root", type=Path, help="an existing IDC-layout folder to use instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.root or Path(scratch) / "idc"
        if args.root is None:
            make_folder(root, args.patches)
        rows = []
        for workers in args.workers:
            start = time.perf_counter()
            manifest = build_manifest(root, "pad", 0.05, workers).manifest
            scan = len(manifest) / (time.perf_counter() - start)
            split = patient_table(manifest).assign(split="all")  # every patch in one pack
            out = Path(scratch) / f"packed{workers}"
            out.mkdir()
            pack = pack_split(
                root, manifest, split, "all", out / "all.npy", out / "all.pq", workers
            )
            rows.append((workers, len(manifest), scan, pack))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'workers':>7} {'patches':>8} {'manifest img/s':>15} {'pack img/s':>11}")
    for workers, count, scan, pack in rows:
        print(f"{workers:>7} {count:>8} {scan:>15.0f} {pack:>11.0f}")
    print(f"peak RSS of the main process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
