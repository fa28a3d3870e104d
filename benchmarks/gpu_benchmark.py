"""GPU benchmark: the training and sampling paths at full-scale settings, with and without
mixed precision and channels_last; the same table as run_benchmarks.py.

    python benchmarks/gpu_benchmark.py                 # on a CUDA machine, a few minutes
    python benchmarks/gpu_benchmark.py --smoke         # tiny sizes on the CPU (tests run this)

Rows (each against an anchor measured interleaved in the same run): classifier training
images/s of the classifier job's own loop (idc_synth.classifier._train_period, fp32) with its
data-wait share, and of the model step alone with channels_last and AMP, each against the fp32
NCHW model step alone on a batch already on the device; DCGAN and scratch-diffusion step times
and sampling rates with mixed precision vs fp32, at the README's full-scale settings. The title
records the GPU, CUDA, cuDNN and its settings, so the numbers can be reproduced.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from benchlib import (
    DCGAN_DEMO,
    DCGAN_FULL,
    DIFFUSION_FULL,
    DIFFUSION_SMOKE,
    REPO,
    Row,
    classifier_trainer,
    dcgan_workload,
    diffusion_workload,
    failed,
    interleaved,
    print_table,
    seconds,
    sync,
    workflow_trainer,
    write_tsv,
)

from idc_synth.batches import IndexedImages, Part


def classifier_rows(args, device: torch.device, amp: torch.dtype) -> list[Row]:
    patches = np.random.default_rng(0).integers(
        0, 256, (args.batch_size * (args.steps + 2), 50, 50, 3), dtype=np.uint8
    )
    labels = np.arange(len(patches)) % 2
    waits: list[float] = []
    # The classifier job's own loop (fp32, NCHW, batches moved and augmented on its prefetch
    # thread), as train_classifier.py feeds it.
    workflow_period = workflow_trainer(
        args.arch, IndexedImages([Part(patches, labels)]), labels, args.batch_size, device
    )
    workflow_period(2)  # warm-up: cuDNN autotuning, allocator

    def workflow() -> float:
        rate, wait = workflow_period(args.steps)
        waits.append(wait)
        return rate

    def model_step(amp_dtype, channels_last: bool):
        """The model step alone on one batch already on the device: no data path at all."""
        _, step = classifier_trainer(args.arch, device, amp_dtype, channels_last)
        batch = torch.from_numpy(patches[: args.batch_size]).to(device)
        targets = torch.from_numpy(labels[: args.batch_size]).float().to(device)

        def measure() -> float:
            for _ in range(2):  # warm-up
                step(batch, targets)
            sync(device)
            started = time.perf_counter()
            for _ in range(args.steps):
                step(batch, targets)
            sync(device)
            return args.batch_size * args.steps / (time.perf_counter() - started)

        return measure

    anchor = "model step alone, fp32 NCHW"
    configs = {
        "workflow training loop": workflow,
        anchor: model_step(None, False),
        "model step alone, fp32 channels_last": model_step(None, True),
        f"model step alone, {amp_name(amp)} channels_last": model_step(amp, True),
    }
    medians = interleaved(configs, args.repeats)
    note = f"{args.arch}, batch {args.batch_size}, {args.steps} steps"
    share = 100 * float(np.median(waits))
    workflow_note = f"{note}; data wait {share:.1f} % of step"
    return [
        Row(
            "classifier",
            f"train img/s, {name}",
            value,
            "img/s",
            anchor,
            medians[anchor],
            workflow_note if name == "workflow training loop" else note,
        )
        for name, value in medians.items()
        if name != anchor
    ]


def amp_name(dtype: torch.dtype) -> str:
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def _measure(workload: tuple, part: int, n_sample: int):
    """A timer for one workload part: seconds per step, or patches/s for the sampler (last)."""
    if part == len(workload) - 1:
        return lambda: n_sample / seconds(lambda: workload[part](n_sample))
    return lambda: seconds(workload[part])


def _compare(rows, what: str, workloads: dict, kinds: tuple, amp: str, args, n: int) -> None:
    for part, kind in enumerate(kinds):
        measures = {name: _measure(w, part, n) for name, w in workloads.items()}
        for measure in measures.values():
            measure()  # warm-up: cuDNN autotuning, allocator
        medians = interleaved(measures, args.repeats)
        unit = "patches/s" if kind == "sampling" else "s"
        rows.append(Row("generators", f"{what} {kind}, {amp}", medians[amp], unit, "fp32",
                        medians["fp32"]))  # fmt: skip


def generator_rows(args, device: torch.device, amp: torch.dtype, scratch: Path) -> list[Row]:
    rows: list[Row] = []
    name = amp_name(amp)
    dcgan_kw = (DCGAN_DEMO | {"batch_size": 8}) if args.smoke else DCGAN_FULL
    diffusion_kw = DIFFUSION_SMOKE if args.smoke else DIFFUSION_FULL
    n_sample = 8 if args.smoke else args.sample_patches
    try:
        precisions = (("fp32", None), (name, amp))
        workloads = {p: dcgan_workload(dcgan_kw, device, dtype) for p, dtype in precisions}
        kinds = ("train step", "sampling")
        _compare(rows, "DCGAN full-scale", workloads, kinds, name, args, n_sample)
    except Exception as error:  # noqa: BLE001
        rows.append(failed("generators", "DCGAN", error))
    try:
        workloads = {
            precision: diffusion_workload(diffusion_kw, device.type, scratch / precision, dtype)
            for precision, dtype in (("fp32", None), (name, amp))
        }
        kinds = ("UNet step", "VAE step", "sampling")
        _compare(rows, "diffusion full-scale", workloads, kinds, name, args, n_sample)
    except Exception as error:  # noqa: BLE001
        rows.append(failed("generators", "diffusion", error))
    return rows


def describe(device: torch.device) -> str:
    cudnn = torch.backends.cudnn
    if device.type != "cuda":
        return f"CPU smoke run, torch {torch.__version__}"
    return (
        f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA "
        f"{torch.version.cuda}, cuDNN {cudnn.version()} (benchmark={cudnn.benchmark}, "
        f"deterministic={cudnn.deterministic}, allow_tf32={cudnn.allow_tf32}, "
        f"matmul tf32={torch.backends.cuda.matmul.allow_tf32})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU")
    parser.add_argument("--arch", default=None, help="default: resnet18 (smoke: small_cnn)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--sample-patches", type=int, default=1024)
    parser.add_argument("--out", type=Path, default=REPO / "results/benchmarks/gpu_benchmark.tsv")
    args = parser.parse_args()
    smoke = {"arch": "small_cnn", "batch_size": 8, "steps": 2, "repeats": 1}
    full = {"arch": "resnet18", "batch_size": 256, "steps": 30, "repeats": 3}
    for key, value in (smoke if args.smoke else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.smoke:
        device = torch.device("cpu")
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    else:
        raise SystemExit("no CUDA device: run with --smoke for the CPU smoke test")
    bf16 = device.type == "cpu" or torch.cuda.is_bf16_supported()
    amp = torch.bfloat16 if bf16 else torch.float16
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="idc-gpu-bench-") as folder:
        for section, build in (
            ("classifier", lambda: classifier_rows(args, device, amp)),
            ("generators", lambda: generator_rows(args, device, amp, Path(folder))),
        ):
            print(f"[{time.perf_counter() - started:5.0f} s] {section} ...", flush=True)
            try:
                rows += build()
            except Exception as error:  # noqa: BLE001
                rows.append(failed(section, "(section)", error))
    print()
    print_table(rows, f"IDC-Synth GPU benchmark on {describe(device)}")
    write_tsv(rows, args.out)
    print(f"\nwrote {args.out} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
