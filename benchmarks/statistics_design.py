"""False-positive rate and power of the decisions at the designs users run: the table behind
the documentation's design/power table.

    python benchmarks/statistics_design.py                       # ~30 min on 2 cores
    python benchmarks/statistics_design.py --null-studies 500 --power-studies 100   # ~8 min

Simulates whole studies (idc_synth.simulation) at 6, 9 (the demo), 20, 49 (the published
benchmark's test set) and 84 test patients, 3 and 5 classifier seeds, two generators vs the
baseline, under the three variance scenarios, and analyses each as the workflow does. Prints the
family-wise false-positive rate of every decision (primary, spread, difference of differences)
with no planted difference, the primary decision's power at planted differences in balanced
accuracy, and the smallest planted difference detected with 80% power.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from benchlib import REPO  # noqa: F401  (says how to install idc_synth where it is missing)

from idc_synth.simulation import design_grid, null_tolerance, simulated_mdd

PATIENTS = (6, 9, 20, 49, 84)
SEEDS = (3, 5)
DIFFERENCES = (0.025, 0.05, 0.075)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--null-studies", type=int, default=2000)
    parser.add_argument("--power-studies", type=int, default=400)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--patients", type=int, nargs="+", default=PATIENTS)
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    parser.add_argument("--out", type=Path, help="write both tables as TSV with this prefix")
    args = parser.parse_args()

    null = design_grid(
        args.patients,
        args.seeds,
        (0.0,),
        args.null_studies,
        args.alpha,
        reads=("primary", "spread", "contrast"),
        seed=args.seed,
    )
    limit = args.alpha + null_tolerance(args.alpha, args.null_studies)
    keys = ["scenario", "n_patients", "n_seeds"]
    false_positives = null.pivot_table(index=keys, columns="read", values="rejection_rate")
    print(
        f"Family-wise false-positive rate, {args.null_studies} null studies per design "
        f"(alpha {args.alpha:g}, alpha + 2 Monte Carlo SE = {limit:.4f}; "
        f"largest observed {false_positives.to_numpy().max():.4f}):\n"
    )
    print(false_positives.round(3).to_string())

    power = design_grid(
        args.patients, args.seeds, DIFFERENCES, args.power_studies, args.alpha, seed=args.seed
    )
    table = power.pivot_table(index=keys, columns="true_difference", values="rejection_rate")
    table.columns = [f"power at +{value:g}" for value in table.columns]
    primary = pd.concat([null[null["read"] == "primary"], power], ignore_index=True)
    table["MDD (80% power)"] = simulated_mdd(primary).droplevel("read")
    print(
        f"\nPower of the primary decision, {args.power_studies} studies per cell; MDD: the "
        "smallest planted difference in balanced accuracy detected with 80% power "
        f"(NaN: above {max(DIFFERENCES):g}):\n"
    )
    print(table.round(3).to_string())
    if args.out:
        null.to_csv(f"{args.out}_null.tsv", sep="\t", index=False)
        power.to_csv(f"{args.out}_power.tsv", sep="\t", index=False)


if __name__ == "__main__":
    main()
