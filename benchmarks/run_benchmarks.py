"""IDC-Synth benchmarks: one table of ratios, each against an anchor measured in the same run.

    python benchmarks/run_benchmarks.py                      # small tree, every quick section
    python benchmarks/run_benchmarks.py --only ingest classifier
    python benchmarks/run_benchmarks.py --full-scale --root /scratch/idc-full --with-demo

Prints the table and writes it as TSV (--out, default results/benchmarks/benchmarks.tsv).
Anchors and measurements alternate round by round and each cell is a median over --repeats,
so a busy machine shifts both sides alike. A section that fails puts its error in a row.

Sections: ingest (manifest + pack rate vs a raw all-cores PIL decode: the manifest decodes each
patch once into a pixel array, pack gathers rows; and PNG opens per patch per ingest); classifier
(the classifier job's own training loop, idc_synth.classifier._train_period over an
IndexedImages of the packed memory map, vs a naive PNG Dataset + DataLoader loop: same model,
batch, threads, augmentation; and their data-wait shares); memory (a classifier job's peak RSS
running that loop on an augmented arm's arrays, IndexedImages vs np.concatenate); generators
(DCGAN and scratch diffusion step times and sampling rates, against the classifier's step and
prediction rate as a machine yardstick; README full-scale settings with --full-scale); quality
(FID + KID seconds per 1,000 patches per feature space vs the feature extraction alone);
startup (time until each entry script could log its first line vs a bare interpreter); workflow
(no-op dry run and a figure-only rebuild of a finished tiny study); demo (the default demo end
to end, --with-demo).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from benchlib import (
    DCGAN_DEMO,
    DCGAN_FULL,
    DIFFUSION_DEMO,
    DIFFUSION_FULL,
    REPO,
    Row,
    classifier_trainer,
    dcgan_workload,
    diffusion_workload,
    failed,
    interleaved,
    print_table,
    seconds,
    section_guard,
    workflow_trainer,
    write_tsv,
)
from make_full_scale_tree import write_tree
from PIL import Image
from workflow_copy import copy_workflow, default_config, tiny_config

SECTIONS = (
    "ingest",
    "classifier",
    "memory",
    "generators",
    "quality",
    "startup",
    "workflow",
    "demo",
)
# Entry scripts by rule family; each one's start-up is timed as the job would pay it.
ENTRY_SCRIPTS = {
    "data": ("manifest", "split", "pack"),
    "classifier": ("train_classifier", "predict"),
    "dcgan": ("train_dcgan", "sample_dcgan"),
    "diffusion": ("train_diffusion", "sample_diffusion"),
    "evaluate": ("collect_metrics", "compare_arms", "image_quality"),
    "report": ("write_summary", "plot_figure"),
}


def patch_files(root: Path) -> tuple[list[Path], np.ndarray]:
    paths = sorted(root.rglob("*.png"))
    labels = np.array([int(path.parent.name) for path in paths])
    return paths, labels


def _decode_count(paths: list[Path]) -> int:
    for path in paths:
        with Image.open(path) as image:
            np.asarray(image.convert("RGB"))
    return len(paths)


def raw_decode_rate(paths: list[Path], workers: int) -> float:
    """PIL decodes per second on every core, nothing sent back: the ceiling for ingest."""
    chunks = [paths[start : start + 512] for start in range(0, len(paths), 512)]
    started = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        count = sum(pool.map(_decode_count, chunks))
    return count / (time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------


def decodes_per_patch(scratch: Path) -> float:
    """PNG opens per patch in one ingest (manifest, then every patch packed), counted in-process
    with a serial worker on a small generated tree: a property of the code, not of the data."""
    from idc_synth.manifest import build_manifest
    from idc_synth.pack import pack_split
    from idc_synth.split import patient_table

    tree, out = scratch / "count-tree", scratch / "count"
    write_tree(tree, 300, 3, 85, seed=1)
    opened = 0
    real_open = Image.open

    def counting_open(*args, **kwargs):
        nonlocal opened
        opened += 1
        return real_open(*args, **kwargs)

    Image.open = counting_open
    try:
        manifest = build_manifest(tree, "pad", 0.05, out / "pixels.npy", 1).manifest
        split = patient_table(manifest).assign(split="all")
        pixels = np.load(out / "pixels.npy", mmap_mode="r")
        pack_split(manifest, pixels, split, "all", out / "all.npy", out / "all.pq")
    finally:
        Image.open = real_open
    return opened / len(patch_files(tree)[0])


def bench_ingest(args, tree: Path, scratch: Path) -> list[Row]:
    from idc_synth.manifest import build_manifest
    from idc_synth.pack import pack_split
    from idc_synth.split import patient_table

    paths, _ = patch_files(tree)
    workers = args.workers
    out = scratch / "ingest"
    state: dict = {}

    # Each round starts without the old outputs, as Snakemake removes them before a job runs
    # (replacing a file that has just been written makes ext4 write it out first).
    def manifest_rate() -> float:
        (out / "pixels.npy").unlink(missing_ok=True)
        started = time.perf_counter()
        state["manifest"] = build_manifest(tree, "pad", 0.05, out / "pixels.npy", workers).manifest
        return len(state["manifest"]) / (time.perf_counter() - started)

    def pack_rate() -> float:
        if "manifest" not in state:
            manifest_rate()
        manifest = state["manifest"]
        split = patient_table(manifest).assign(split="all")  # every patch in one pack
        (out / "all.npy").unlink(missing_ok=True)
        started = time.perf_counter()
        pixels = np.load(out / "pixels.npy", mmap_mode="r")
        pack_split(manifest, pixels, split, "all", out / "all.npy", out / "all.pq")
        return len(manifest) / (time.perf_counter() - started)

    medians = interleaved(
        {
            "raw": lambda: raw_decode_rate(paths, workers),
            "manifest": manifest_rate,
            "pack": pack_rate,
        },
        args.repeats,
    )
    anchor = f"raw PIL decode, {workers} processes"
    both = 1 / (1 / medians["manifest"] + 1 / medians["pack"])
    note = f"{len(paths)} patches"
    return [
        Row("ingest", "manifest + pack rate", both, "img/s", anchor, medians["raw"],
            "1 = one all-cores decode per patch"),
        Row("ingest", "manifest rule rate (the one decode + QC + pixels)", medians["manifest"],
            "img/s", anchor, medians["raw"], note),
        Row("ingest", "pack rule rate (gathers rows, no decode)", medians["pack"], "img/s",
            anchor, medians["raw"], note),
        Row("ingest", "full decodes per ingest", decodes_per_patch(scratch), "per patch",
            note="PNG opens per patch, manifest + pack, serial, 300-patch tree"),
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------


def bench_classifier(args, tree: Path, scratch: Path) -> list[Row]:
    import torch
    from torch.utils.data import DataLoader, Dataset

    from idc_synth.augment import augment_batch
    from idc_synth.batches import IndexedImages, Part
    from idc_synth.manifest import read_patch  # pads edge patches to 50x50, as ingest does

    torch.set_num_threads(args.threads)
    paths, labels = patch_files(tree)
    packed = np.lib.format.open_memmap(
        scratch / "train.npy", mode="w+", dtype=np.uint8, shape=(len(paths), 50, 50, 3)
    )
    for row, path in enumerate(paths):
        packed[row] = read_patch(path)[0]
    packed.flush()
    images = np.load(scratch / "train.npy", mmap_mode="r")
    batch, steps, warmup = args.batch_size, args.classifier_steps, 2

    class PngPatches(Dataset):
        """The naive baseline: decode each PNG on access, as an ImageFolder would."""

        def __len__(self) -> int:
            return len(paths)

        def __getitem__(self, i: int):
            return torch.from_numpy(read_patch(paths[i])[0].copy()), float(labels[i])

    def timed(batches, step, wait_of) -> tuple[float, float]:
        for _ in range(warmup):
            patches, targets = next(batches)
            step(patches, targets)
        waited_before, started = wait_of(), time.perf_counter()
        for _ in range(steps):
            patches, targets = next(batches)
            step(patches, targets)
        elapsed = time.perf_counter() - started
        return batch * steps / elapsed, (wait_of() - waited_before) / elapsed

    waits: dict[str, list[float]] = {"naive": [], "workflow": []}
    _, step = classifier_trainer(args.arch, torch.device("cpu"))
    # As train_classifier.py feeds it: the real train split's memory map inside IndexedImages.
    workflow_period = workflow_trainer(
        args.arch, IndexedImages([Part(images, labels)]), labels, batch, torch.device("cpu")
    )
    workflow_period(warmup)

    def naive() -> float:
        augment_rng = torch.Generator().manual_seed(0)
        loader = DataLoader(
            PngPatches(),
            batch_size=batch,
            shuffle=True,
            num_workers=args.loader_workers,
            drop_last=True,
            generator=torch.Generator().manual_seed(0),
        )
        waited = [0.0]

        def batches(iterator):
            while True:
                started = time.perf_counter()
                patches, targets = next(iterator)
                waited[0] += time.perf_counter() - started
                yield augment_batch(patches, augment_rng), targets.float()

        rate, wait = timed(batches(iter(loader)), step, lambda: waited[0])
        waits["naive"].append(wait)
        return rate

    def workflow() -> float:
        rate, wait = workflow_period(steps)
        waits["workflow"].append(wait)
        return rate

    def ceiling() -> float:
        """The model step alone on one fixed batch: what no data path can beat."""
        patches = torch.from_numpy(np.ascontiguousarray(images[:batch]))
        targets = torch.from_numpy(labels[:batch]).float()
        return timed(iter(lambda: (patches, targets), None), step, lambda: 0.0)[0]

    needed = (warmup + steps) * batch
    if len(paths) < needed:
        raise ValueError(f"{len(paths)} patches; the classifier section needs {needed}")
    medians = interleaved(
        {
            "naive": naive,
            "workflow": workflow,
            "ceiling": ceiling,
        },
        args.repeats,
    )
    share = {name: 100 * float(np.median(values)) for name, values in waits.items()}
    anchor = f"naive PNG Dataset + DataLoader({args.loader_workers} workers)"
    note = f"{args.arch}, batch {batch}, {args.threads} threads, {steps} steps"
    return [
        Row("classifier", "workflow training loop img/s", medians["workflow"], "img/s",
            anchor, medians["naive"], f"{note}; classifier._train_period"),
        Row("classifier", "model step alone (the ceiling) img/s", medians["ceiling"], "img/s",
            anchor, medians["naive"], note),
        Row("classifier", "workflow loop data-wait share", share["workflow"], "% of step",
            "naive loop's data-wait share", share["naive"], "counted by _train_period"),
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------

# A training job's memory: the train memory map plus synthetic shards (an augmented arm), fed
# to the classifier's own training loop for some steps, either as IndexedImages (as
# train_classifier.py does) or after np.concatenate (what it did before). Run in a fresh
# process so its peak RSS is its own.
MEMORY_PROBE = """
import numpy as np, torch
from pathlib import Path
from benchlib import workflow_trainer
from idc_synth.batches import IndexedImages, Part
torch.set_num_threads({threads})
folder, lean, steps = Path({folder!r}), {lean}, {steps}
parts = [np.load(folder / name, mmap_mode="r") for name in ("train.npy", "synthetic.npy")]
labels = [np.arange(len(p)) % 2 for p in parts]
if lean:
    images = IndexedImages([Part(p, y) for p, y in zip(parts, labels)])
else:
    images = np.concatenate(parts)
workflow_trainer("{arch}", images, np.concatenate(labels), {batch}, torch.device("cpu"))(steps)
status = Path("/proc/self/status").read_text().splitlines()
print([int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM")][0])
"""


def bench_memory(args, scratch: Path) -> list[Row]:
    """Peak RSS of a classifier job on an augmented arm's arrays, at the full set's shape with
    --full-scale (70 % of 277,524 patches in train, synthetic at half of that)."""
    train = 194_267 if args.full_scale else 20_000
    for name, count in (("train.npy", train), ("synthetic.npy", train // 2)):
        array = np.lib.format.open_memmap(
            scratch / name, mode="w+", dtype=np.uint8, shape=(count, 50, 50, 3)
        )
        array[:: max(1, count // 997)] = 200  # a sparse file elsewhere: reads cost no disk
        del array

    def peak_mib(lean: bool) -> float:
        code = MEMORY_PROBE.format(
            threads=args.threads, folder=str(scratch), lean=lean, steps=args.memory_steps,
            batch=args.batch_size, arch=args.arch,
        )  # fmt: skip
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO / "benchmarks", capture_output=True, text=True
        )
        if run.returncode:
            raise RuntimeError(run.stderr[-600:])
        return float(run.stdout.split()[-1])

    medians = interleaved(
        {"lean": lambda: peak_mib(True), "concat": lambda: peak_mib(False)}, args.repeats
    )
    gib = (train + train // 2) * 7500 / 2**30
    return [Row("memory", "classifier job peak RSS, IndexedImages", medians["lean"], "MiB",
                "same job after np.concatenate", medians["concat"],
                f"{train} train + {train // 2} synthetic patches ({gib:.1f} GiB), "
                f"{args.memory_steps} steps")]  # fmt: skip


# ---------------------------------------------------------------------------------------------


def bench_generators(args, scratch: Path) -> list[Row]:
    import torch

    from idc_synth.models import build_classifier, to_model_input

    torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    _, classifier_step = classifier_trainer(args.arch, cpu)
    patches = torch.randint(0, 256, (args.batch_size, 50, 50, 3), dtype=torch.uint8)
    targets = torch.randint(0, 2, (args.batch_size,)).float()
    predictor = build_classifier(args.arch).eval()

    @torch.no_grad()
    def predict_rate() -> float:
        return args.batch_size / seconds(lambda: predictor(to_model_input(patches)))

    step_anchor = f"{args.arch} train step, batch {args.batch_size}"
    rate_anchor = f"{args.arch} prediction rate"
    scales = [("demo", DCGAN_DEMO, DIFFUSION_DEMO)]
    if args.full_scale:
        scales.append(("full-scale", DCGAN_FULL, DIFFUSION_FULL))
    rows = []
    for scale, dcgan_kw, diffusion_kw in scales:
        for model in ("dcgan", "diffusion"):
            what = f"{model} {scale}"
            try:
                if model == "dcgan":
                    train, sample = dcgan_workload(dcgan_kw, cpu)
                    steps = {"train step": train}
                    n_sample = 256
                else:
                    folder = scratch / f"diffusion-{scale}"
                    unet, vae, sample = diffusion_workload(diffusion_kw, "cpu", folder)
                    steps = {"UNet step": unet, "VAE step": vae}
                    n_sample = 16 if scale == "full-scale" else 32
                for name, step in steps.items():
                    step()  # warm-up
                    medians = interleaved(
                        {
                            "anchor": lambda: seconds(lambda: classifier_step(patches, targets)),
                            "step": lambda step=step: seconds(step),
                        },
                        args.repeats,
                    )
                    rows.append(Row("generators", f"{what} {name}", medians["step"], "s",
                                    step_anchor, medians["anchor"]))  # fmt: skip
                sample(4)  # warm-up
                medians = interleaved(
                    {
                        "anchor": predict_rate,
                        "sample": lambda n=n_sample, draw=sample: n / seconds(lambda: draw(n)),
                    },
                    args.repeats,
                )
                rows.append(Row("generators", f"{what} sampling", medians["sample"],
                                "patches/s", rate_anchor, medians["anchor"],
                                f"{n_sample} patches per draw"))  # fmt: skip
            except Exception as error:  # noqa: BLE001
                rows.append(failed("generators", what, error))
    return rows


# ---------------------------------------------------------------------------------------------


def bench_quality(args) -> list[Row]:
    import torch

    from idc_synth.models import build_classifier
    from idc_synth.quality import features as quality
    from idc_synth.quality.metrics import fid, kid, kid_spread

    torch.set_num_threads(args.threads)
    n = args.quality_patches
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (n, 50, 50, 3), dtype=np.uint8)
    fake = rng.integers(0, 256, (n, 50, 50, 3), dtype=np.uint8)
    rows = []

    def spaces():
        model = build_classifier(args.arch).eval()
        yield "classifier embedding", lambda x: quality.classifier_features(model, x), n
        weights = quality.inception_weights_file(None)
        extractor = quality.load_inception(weights, "cpu")
        if extractor is None:
            rows.append(Row("quality", "FID + KID, Inception", math.nan, "s/1000 patches",
                            note=f"skipped: no Inception weights at {weights}"))  # fmt: skip
            return
        # Inception runs at a few patches/s on a CPU: time a slice and scale it up.
        small = min(n, args.inception_patches)
        yield "Inception", lambda x: quality.inception_features(extractor, x[:small]), small

    for space, features, measured in spaces():
        try:
            scale = 1000 / measured

            def extract(features=features):
                return features(real), features(fake)

            def full(extract=extract):
                a, b = extract()
                fid(a, b)
                kid(a, b)
                kid_spread(a, b, subset_size=1000, n_subsets=100, seed=0)

            medians = interleaved(
                {"features": lambda: seconds(extract), "full": lambda: seconds(full)},
                args.repeats,
            )
            note = f"{measured} real + {measured} synthetic patches, KID + its std over 100 subsets"
            rows.append(Row("quality", f"FID + KID, {space}", medians["full"] * scale,
                            "s/1000 patches", "feature extraction alone",
                            medians["features"] * scale, note))  # fmt: skip
        except Exception as error:  # noqa: BLE001
            rows.append(failed("quality", space, error))
    return rows


# ---------------------------------------------------------------------------------------------


def time_to_ready(code: str) -> float:
    """Seconds from spawning a Python that runs ``code`` to its first line on stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", code + "\nprint('ready', flush=True)"],
        cwd=REPO / "workflow_scripts",
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    process.wait()
    if line.strip() != "ready":
        raise RuntimeError(f"{code!r} failed (exit {process.returncode})")
    return elapsed


def bench_startup(args) -> list[Row]:
    """What a job pays before its first log line: the interpreter, Snakemake's script
    preamble (it imports snakemake to unpickle the job's `snakemake` object) and the script's
    imports. The anchor is a bare interpreter."""
    preamble = "from snakemake import script"
    measures = {"bare": lambda: time_to_ready("pass"),
                "preamble": lambda: time_to_ready(preamble)}  # fmt: skip
    for family, scripts in ENTRY_SCRIPTS.items():
        for script in scripts:
            measures[f"{family}/{script}"] = lambda s=script: time_to_ready(
                f"{preamble}\nimport {s}\nfrom idc_synth.runtime import rule_logging"
            )
    medians = interleaved(measures, args.repeats)
    rows = [Row("startup", "Snakemake script preamble", medians["preamble"], "s",
                "bare python", medians["bare"])]  # fmt: skip
    for name, value in medians.items():
        if "/" in name:
            family, script = name.split("/")
            rows.append(Row("startup", f"{family}: {script}", value, "s",
                            "bare python", medians["bare"], "to first log line"))  # fmt: skip
    return rows


# ---------------------------------------------------------------------------------------------


def snakemake(workdir: Path, *extra: str, cores: int) -> float:
    command = [sys.executable, "-m", "snakemake", "--cores", str(cores), *extra]
    started = time.perf_counter()
    run = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"{' '.join(command[2:])} failed: {run.stderr[-600:]}")
    return time.perf_counter() - started


def bench_workflow(args, scratch: Path, timings: dict) -> list[Row]:
    import yaml

    workdir = copy_workflow(scratch / "tiny-study", tiny_config())
    timings["tiny"] = snakemake(workdir, cores=args.workers)
    rows = [Row("workflow", "tiny study end to end (tests/config/tiny.yaml)", timings["tiny"], "s",
                note="one run")]  # fmt: skip
    config_path = workdir / "config.yaml"
    config = yaml.safe_load(config_path.read_text())

    def figure_rebuild() -> float:
        config["figures"]["font_size"] += 1  # a style change: only plot rules may rerun
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        return snakemake(workdir, cores=args.workers)

    medians = interleaved(
        {
            "version": lambda: snakemake(workdir, "--version", cores=1),
            "dry": lambda: snakemake(workdir, "-n", cores=1),
            "figures": figure_rebuild,
        },
        args.repeats,
    )
    rows += [
        Row("workflow", "no-op dry run (snakemake -n)", medians["dry"], "s",
            "snakemake --version", medians["version"], "finished tiny study"),
        Row("workflow", "figure-only rebuild (figures.font_size changed)", medians["figures"],
            "s", "no-op dry run", medians["dry"], "only plot rules rerun"),
    ]  # fmt: skip
    return rows


def bench_demo(args, scratch: Path, timings: dict) -> list[Row]:
    workdir = copy_workflow(scratch / "demo", default_config())
    demo = snakemake(workdir, cores=args.workers)
    note = f"snakemake --cores {args.workers}, one run"
    tiny = timings.get("tiny", math.nan)
    return [Row("demo", "default demo end to end", demo, "s", "tiny study end to end", tiny, note)]


# ---------------------------------------------------------------------------------------------


def machine() -> str:
    import torch

    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = names[0] if names else platform.processor() or platform.machine()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, torch "
        f"{torch.__version__}, load average {load:.1f} at start"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run these sections")
    parser.add_argument("--with-demo", action="store_true", help="also the demo end to end")
    parser.add_argument(
        "--full-scale", action="store_true", help="full-scale tree and generator settings"
    )
    parser.add_argument("--root", type=Path, help="an existing IDC-layout tree to ingest")
    parser.add_argument("--patches", type=int, default=4000, help="small tree size")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--loader-workers", type=int, default=2)
    parser.add_argument("--arch", default="small_cnn")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--classifier-steps", type=int, default=12)
    parser.add_argument("--memory-steps", type=int, default=20)
    parser.add_argument("--quality-patches", type=int, default=1000)
    parser.add_argument("--inception-patches", type=int, default=32)
    parser.add_argument("--out", type=Path, default=REPO / "results/benchmarks/benchmarks.tsv")
    args = parser.parse_args()
    sections = args.only or [s for s in SECTIONS if s != "demo" or args.with_demo]

    rows: list[Row] = []
    timings: dict = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="idc-bench-") as folder:
        scratch = Path(folder)
        tree = args.root
        if tree is None and {"ingest", "classifier"} & set(sections):
            tree = scratch / "tree"
            if args.full_scale:
                write_tree(tree, 277_524, 279, 78_786)
            else:
                write_tree(tree, args.patches, 24, round(args.patches * 0.284))
        for section in sections:
            print(f"[{time.perf_counter() - started:6.0f} s] {section} ...", flush=True)
            before = len(rows)
            with section_guard(rows, section):
                if section == "ingest":
                    rows += bench_ingest(args, tree, scratch)
                elif section == "classifier":
                    rows += bench_classifier(args, tree, scratch)
                elif section == "memory":
                    rows += bench_memory(args, scratch)
                elif section == "generators":
                    rows += bench_generators(args, scratch)
                elif section == "quality":
                    rows += bench_quality(args)
                elif section == "startup":
                    rows += bench_startup(args)
                elif section == "workflow":
                    rows += bench_workflow(args, scratch, timings)
                elif section == "demo":
                    rows += bench_demo(args, scratch, timings)
            for row in rows[before:]:
                row.section = row.section or section
    title = f"IDC-Synth benchmarks on {machine()}; medians of {args.repeats} interleaved rounds"
    print()
    print_table(rows, title)
    write_tsv(rows, args.out)
    print(f"\nwrote {args.out} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
