"""Coverage of the realism rows' FID intervals (image_quality.tsv ``fid_low``/``fid_high`` and
``fid_vs_floor_*``), by seeded simulation: the table behind docs/image-quality.md.

    python benchmarks/realism_coverage.py                # ~20 min on a busy shared 2-core machine
    python benchmarks/realism_coverage.py --draws 10     # ~5 min

Gaussian features with a known Frechet distance, their variance falling off over the dimensions
as an embedding's does (SD 1/i in dimension i): train patients' patches are a patient mean
N(0, tau^2 S) plus N(0, S) noise, with unequal patches per patient (as real patients have), so
the population of train patches is N(0, (1 + tau^2) S). The held-out floor row is more patches
of the same patients; a generator's patches are N(delta u, (1 + tau^2) S), so the true FID is
delta^2 and the generator's true distance from the floor's is delta^2 - 0.
Every set has the matched n of a study; the patient bootstrap is the workflow's
(idc_synth.quality.intervals: one draw of train patients shared by the reference and the floor,
the generator's patches one by one). Each case prints the share of draws whose interval holds
the true FID, and whose lower bound is above 0, for the workflow's interval (bias-corrected
percentile) beside the basic bootstrap interval it replaced.
"""

from __future__ import annotations

import argparse
import math
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # many small matrices: threads only contend
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from dataclasses import dataclass

import numpy as np
import pandas as pd
from benchlib import REPO  # noqa: F401  (puts workflow_scripts on the path)

from idc_synth.quality.intervals import (
    PATCH_UNITS,
    TRAIN_UNITS,
    Draws,
    FeatureSet,
    bootstrap_interval,
    replicate,
)
from idc_synth.quality.metrics import fid


@dataclass(frozen=True)
class Design:
    name: str
    n: int  # the matched n of every row
    patients: int  # train patients (the bootstrap units of the reference and the floor)
    dim: int  # feature dimension (the small_cnn embedding: 128)
    tau: float = 1.5  # between-patient SD relative to the within-patient SD
    unequal: float = 1.5  # SD of the log patient shares: how unequal the patients' patch counts


DESIGNS = (
    Design("demo (n 128, 18 train patients)", 128, 18, 128),
    Design("real CPU study (n 1000, 80 train patients)", 1000, 80, 128),
    Design("real, very unequal patients (tau 3, share SD 2.5)", 1000, 80, 128, 3.0, 2.5),
)
TRUE_FID = (0.0, "floor", "28x floor")  # 0, about the floor's reading, 28 times it


def patient_rows(design: Design, rng: np.random.Generator) -> np.ndarray:
    """Which patient each of the n rows belongs to: unequal patients (lognormal shares)."""
    n, patients = design.n, design.patients
    shares = rng.lognormal(0.0, design.unequal, patients)
    return np.sort(rng.choice(patients, n, p=shares / shares.sum()))


def simulated_sets(design: Design, true_fid: float, seed: int) -> dict[str, FeatureSet]:
    """The reference (train), floor (held-out train) and generator sets of one study."""
    rng = np.random.default_rng(seed)
    sd = 1.0 / np.arange(1, design.dim + 1)
    means = design.tau * sd * rng.normal(size=(design.patients, design.dim))

    def real() -> FeatureSet:
        units = patient_rows(design, rng)
        feats = means[units] + sd * rng.normal(size=(design.n, design.dim))
        return FeatureSet(units, TRAIN_UNITS, feats=feats)

    direction = np.zeros(design.dim)
    direction[0] = math.sqrt(true_fid)
    scale = math.sqrt(design.tau**2 + 1.0) * sd
    fake = direction + scale * rng.normal(size=(design.n, design.dim))
    return {
        "reference": real(),
        "floor": real(),
        "generator": FeatureSet(np.arange(design.n), PATCH_UNITS, feats=fake),
    }


def fid_statistic(reference: FeatureSet, candidate: FeatureSet):
    def values(w_ref: np.ndarray, w_cand: np.ndarray) -> dict[str, np.ndarray]:
        pairs = zip(w_ref, w_cand, strict=True)
        return {"fid": np.array([fid(candidate.feats, reference.feats, c, r) for r, c in pairs])}

    return values


def basic_interval(point: float, draws: np.ndarray, level: float) -> tuple[float, float]:
    """The interval the workflow used before: [2 t - q_high, 2 t - q_low], clipped at 0."""
    q_low, q_high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return max(0.0, 2 * point - q_high), max(0.0, 2 * point - q_low)


def one_study(design: Design, true_fid: float, seed: int, samples: int, level: float) -> dict:
    """Points and intervals of the generator's FID and of its difference from the floor."""
    sets = simulated_sets(design, true_fid, seed)
    draws = Draws({TRAIN_UNITS: design.patients}, samples, seed)
    w_ref = draws.weights(sets["reference"])
    rows = {
        name: replicate(
            fid_statistic(sets["reference"], sets[name]),
            sets["reference"],
            sets[name],
            draws,
            w_ref,
        )
        for name in ("generator", "floor")
    }
    ours, floor = rows["generator"], rows["floor"]
    t, d = ours.point["fid"], ours.draws["fid"]
    diff_t, diff_d = t - floor.point["fid"], d - floor.draws["fid"]
    return {
        "fid": t,
        "floor": floor.point["fid"],
        "new": bootstrap_interval(t, d, level, (0.0, math.inf)),
        "basic": basic_interval(t, d, level),
        "new_vs_floor": bootstrap_interval(diff_t, diff_d, level),
        "basic_vs_floor": (
            2 * diff_t - np.quantile(diff_d, (1 + level) / 2),
            2 * diff_t - np.quantile(diff_d, (1 - level) / 2),
        ),  # fmt: skip
    }


def coverage(
    design: Design, true_fid: float, draws: int, samples: int, level: float, seed: int
) -> dict:
    """Over ``draws`` seeded studies: the share of intervals holding the truth and the share
    with a lower bound above 0, per method; the median FID and floor."""
    studies = [one_study(design, true_fid, seed + i, samples, level) for i in range(draws)]
    out = {
        "median fid": np.median([s["fid"] for s in studies]),
        "median floor": np.median([s["floor"] for s in studies]),
    }
    for method in ("new", "basic"):
        for which, key in (("fid", method), ("vs floor", f"{method}_vs_floor")):
            held = [low <= true_fid <= high for low, high in (s[key] for s in studies)]
            out[f"{method} {which} coverage"] = float(np.mean(held))
        out[f"{method} fid low > 0"] = float(np.mean([s[method][0] > 0 for s in studies]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=40, help="simulated studies per case")
    parser.add_argument("--samples", type=int, default=200, help="bootstrap replicates")
    parser.add_argument("--level", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for design in DESIGNS:
        floor = np.median([one_study(design, 0.0, 10_000 + i, 2, args.level)["floor"]
                           for i in range(10)])  # fmt: skip
        for case in TRUE_FID:
            true_fid = {"floor": floor, "28x floor": 28 * floor}.get(case, case)
            found = coverage(design, true_fid, args.draws, args.samples, args.level, args.seed)
            rows.append({"design": design.name, "true fid": true_fid, **found})
    table = pd.DataFrame(rows).set_index(["design", "true fid"])
    print(
        f"FID interval coverage at level {args.level:g}: {args.draws} seeded studies per case, "
        f"{args.samples} patient-bootstrap replicates; new = bias-corrected percentile (the "
        "workflow's), basic = [2t - q_high, 2t - q_low] clipped at 0 (before)\n"
    )
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).T.to_string())


if __name__ == "__main__":
    main()
