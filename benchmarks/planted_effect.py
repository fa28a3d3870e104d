"""The primary test through the workflow's own rules: plant a difference in a finished study's
test predictions, rerun the summary, read the verdicts.

    python benchmarks/planted_effect.py --study /path/to/finished/study --studies 10 \
        --null-studies 20 --difference 0.05

The finished study (its workflow files and results/) is copied to a temporary folder first, so
it is never changed. Per simulated study, every arm's test predictions are replaced by draws
from one model fit to the baseline's predictions: per test patch, the seed-averaged logit of the
true class, plus a shift per arm and seed (a trained model) and noise per arm, seed and patch,
with a planted logit shift on the first generator whose expected effect on the seed-averaged
balanced accuracy is --difference (0 in the null studies). Then
`snakemake results/summary.md` reruns what reads the predictions, and the primary table's
verdicts and the conclusion's verdict line are read back. Prints one row per study and the share
of studies deciding 'difference' for the planted generator (power) and for any generator under
the null (family-wise false positives).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats

MODEL_SD, PATCH_SD = 0.1, 0.5  # logit-scale spread of a trained model and of one prediction
WORKFLOW = ("Snakefile", "config.yaml", "rules", "workflow_scripts", "schemas", "report", "envs")


def load_predictions(study: Path) -> dict[tuple[str, int], pd.DataFrame]:
    paths = sorted((study / "results/predictions").glob("*/seed*.parquet"))
    return {
        (path.parent.name, int(path.stem.removeprefix("seed"))): pd.read_parquet(path)
        for path in paths
        if not path.parent.name.endswith("_only")
    }


def true_class_logit(predictions: dict[tuple[str, int], pd.DataFrame]) -> np.ndarray:
    """Per test patch, the baseline's seed-averaged logit of the true class (clipped)."""
    frames = [frame for (arm, _), frame in predictions.items() if arm == "baseline"]
    labels = frames[0]["label"].to_numpy().astype(bool)
    probability = np.mean([frame["probability"].to_numpy() for frame in frames], axis=0)
    true = np.clip(np.where(labels, probability, 1 - probability), 1e-3, 1 - 1e-3)
    return np.log(true / (1 - true))


def expected_balanced_accuracy(margin: np.ndarray, labels: np.ndarray, shift: float) -> float:
    """E[balanced accuracy] of a model whose true-class logit is margin + shift + noise."""
    correct = stats.norm.cdf((margin + shift) / np.hypot(MODEL_SD, PATCH_SD))
    return 0.5 * (correct[labels].mean() + correct[~labels].mean())


def planted_shift(margin: np.ndarray, labels: np.ndarray, difference: float) -> float:
    if difference == 0:
        return 0.0
    base = expected_balanced_accuracy(margin, labels, 0.0)

    def excess(shift: float) -> float:
        return expected_balanced_accuracy(margin, labels, shift) - base - difference

    return float(optimize.brentq(excess, 0.0, 20.0))


def rewrite(
    study: Path,
    predictions: dict[tuple[str, int], pd.DataFrame],
    margin: np.ndarray,
    planted_arm: str,
    shift: float,
    rng: np.random.Generator,
) -> None:
    for (arm, seed), frame in predictions.items():
        labels = frame["label"].to_numpy().astype(bool)
        logit = margin + rng.normal(0, MODEL_SD) + rng.normal(0, PATCH_SD, len(frame))
        logit += shift if arm == planted_arm else 0.0
        true = 1 / (1 + np.exp(-logit))
        rewritten = frame.assign(probability=np.where(labels, true, 1 - true), threshold=0.5)
        if "predicted" in rewritten:
            rewritten["predicted"] = (rewritten["probability"] >= 0.5).astype(int)
        rewritten.to_parquet(study / f"results/predictions/{arm}/seed{seed}.parquet", index=False)


def run_study(copy: Path, cores: int) -> tuple[pd.DataFrame, str]:
    run = subprocess.run(
        # mtime: the study is finished, only the rewritten predictions are new
        ["snakemake", "--cores", str(cores), "results/summary.md", "--rerun-triggers", "mtime"],
        cwd=copy,
        capture_output=True,
        text=True,
    )
    if run.returncode:
        sys.exit(f"snakemake failed in {copy}:\n{run.stderr[-3000:]}")
    primary = pd.read_csv(copy / "results/metrics/primary.tsv", sep="\t")
    summary = (copy / "results/summary.md").read_text()
    opening = summary.split("## Conclusion", 1)[1].strip().split("\n\n")[1]
    return primary, opening


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, required=True, help="a finished study's folder")
    parser.add_argument("--studies", type=int, default=10, help="studies with the difference")
    parser.add_argument("--null-studies", type=int, default=20, help="studies without")
    parser.add_argument("--difference", type=float, default=0.05, help="balanced accuracy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the per-study table as TSV here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="planted-") as folder:
        copy = Path(folder)
        for part in (*WORKFLOW, "results"):
            source = args.study / part
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, copy / part)
        predictions = load_predictions(copy)
        arms = sorted({arm for arm, _ in predictions} - {"baseline"})
        labels = next(iter(predictions.values()))["label"].to_numpy().astype(bool)
        margin = true_class_logit(predictions)
        shift = planted_shift(margin, labels, args.difference)
        rng = np.random.default_rng(args.seed)
        rows = []
        target = f"{arms[0]} vs baseline"  # the planted arm's primary comparison
        plan = [args.difference] * args.studies + [0.0] * args.null_studies
        for index, difference in enumerate(plan):
            rewrite(copy, predictions, margin, arms[0], shift if difference else 0.0, rng)
            primary, opening = run_study(copy, args.cores)
            verdicts = primary.set_index("comparison")
            rows.append(
                {
                    "study": index,
                    "planted": difference,
                    "planted_arm": arms[0],
                    "difference": float(verdicts.loc[target, "difference"]),
                    **{f"verdict {name}": row.verdict for name, row in verdicts.iterrows()},
                    "opening": opening.splitlines()[0][:120],
                }
            )
            print(pd.DataFrame(rows[-1:]).to_string(index=False, header=index == 0), flush=True)
    table = pd.DataFrame(rows)
    planted = table[table["planted"] > 0]
    null = table[table["planted"] == 0]
    decided = [column for column in table if column.startswith("verdict ")]
    detected = int((planted[f"verdict {target}"] == "difference").sum())
    print(
        f"\nplanted +{args.difference:g} on {arms[0]}: {detected} of {len(planted)} studies "
        f"decided 'difference' for {target} (mean observed difference "
        f"{planted['difference'].mean():+.3f}); null: "
        f"{(null[decided] == 'difference').any(axis=1).sum()} of {len(null)} studies decided "
        f"'difference' in any of the {len(decided)} primary comparisons"
    )
    if args.out:
        table.to_csv(args.out, sep="\t", index=False)


if __name__ == "__main__":
    main()
