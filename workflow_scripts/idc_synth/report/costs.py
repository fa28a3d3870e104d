"""The study's cost: wall and CPU seconds and peak memory per rule family from Snakemake's
benchmark files, and the optimizer steps each classifier took (equal budgets across arms are
what makes the arms comparable)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

COST_COLUMNS = ["rule", "jobs", "wall_s", "cpu_s", "peak_rss_mb"]
STEP_COLUMNS = ["arm", "seed", "optimizer_steps"]


POOL_SUFFIX = "_pool"  # the family of a selection pool's further draws: sample_dcgan_pool


def benchmark_costs(paths: Sequence[Path], pool_paths: Sequence[Path] = ()) -> pd.DataFrame:
    """Wall and CPU seconds summed, peak RSS maxed, per rule family (the first path part under
    the last `benchmarks` folder), plus a total row. Repeated runs in one file are averaged.
    ``pool_paths``: the sampling jobs of selection pools' further draws, the extra cost of the
    selected arms, each counted in its rule's family + POOL_SUFFIX."""
    pool = {Path(path) for path in pool_paths}
    rows = []
    for path in [*map(Path, paths), *sorted(pool)]:
        parts = path.parts
        last = len(parts) - 1 - parts[::-1].index("benchmarks") if "benchmarks" in parts else -1
        under = parts[last + 1 :]
        rule = under[0] if last >= 0 and len(under) > 1 else path.stem
        rule += POOL_SUFFIX if path in pool else ""
        try:
            table = pd.read_csv(path, sep="\t")
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            continue
        numbers = {
            column: pd.to_numeric(table.get(column), errors="coerce")
            for column in ("s", "cpu_time", "max_rss")
        }
        rows.append(
            {
                "rule": rule,
                "wall_s": numbers["s"].mean(),
                "cpu_s": numbers["cpu_time"].mean(),
                "peak_rss_mb": numbers["max_rss"].max(),
            }
        )
    if not rows:
        return pd.DataFrame(columns=COST_COLUMNS)
    jobs = pd.DataFrame(rows)
    costs = (
        jobs.groupby("rule", sort=False)
        .agg(
            jobs=("rule", "size"),
            wall_s=("wall_s", "sum"),
            cpu_s=("cpu_s", "sum"),
            peak_rss_mb=("peak_rss_mb", "max"),
        )
        .reset_index()
        .sort_values("wall_s", ascending=False, ignore_index=True)
    )
    total = {
        "rule": "total",
        "jobs": int(costs["jobs"].sum()),
        "wall_s": float(costs["wall_s"].sum()),
        "cpu_s": float(costs["cpu_s"].sum()),
        "peak_rss_mb": float(costs["peak_rss_mb"].max()),
    }
    costs = pd.concat([costs, pd.DataFrame([total])], ignore_index=True)
    costs["wall_s"] = costs["wall_s"].astype(float).round(1)
    costs["cpu_s"] = costs["cpu_s"].astype(float).round(1)
    costs["peak_rss_mb"] = costs["peak_rss_mb"].astype(float).round(0)
    return costs[COST_COLUMNS]


def classifier_steps(infos: Sequence[Path]) -> pd.DataFrame:
    """Optimizer steps each classifier took (its info.json, results/classifiers/{arm}/seed{seed}):
    equal budgets across arms are what makes the arms comparable."""
    rows = []
    for path in map(Path, infos):
        info = json.loads(path.read_text())
        rows.append(
            {
                "arm": path.parent.parent.name,
                "seed": int(info["seed"]),
                "optimizer_steps": info.get("optimizer_steps"),
            }
        )
    return pd.DataFrame(rows, columns=STEP_COLUMNS)
