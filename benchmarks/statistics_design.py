"""False-positive rate and power of the decisions at the designs users run: the table behind
the documentation's design/power table.

    nice -n 10 python benchmarks/statistics_design.py --jobs 3   # the documented table
    python benchmarks/statistics_design.py --null-studies 200 --power-studies 50   # minutes

Simulates whole studies (idc_synth.simulation) and analyses each as the workflow does:
- the three variance scenarios (demo, full_scale, seed_dominant), two generators vs the
  baseline, at 6, 9 (the demo), 20, 49 (the published benchmark's test set) and 84 test
  patients, 3 and 5 classifier seeds;
- the default config's seven arms and five-comparison family at the demo's variance
  (demo_7arm), and with dcgan's model and patient effects 1.5, 2 and 3 times the other arms'
  (noisy_dcgan_*, full-scale variance), at 9 x 3, 49 x 3 and 84 x 5;
- full_scale and seed_dominant at 10 seeds, for the seed count the full-scale profile needs.
Prints the family-wise false-positive rate of every decision (primary, spread, difference of
differences) with no planted difference, the first comparison's own rate (dcgan vs baseline:
`pair` at its decision level alpha / k, `pair_unadjusted` at alpha), the primary decision's
power at planted differences in balanced accuracy, and the smallest planted difference detected
with 80% power.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
from benchlib import REPO  # noqa: F401  (says how to install idc_synth where it is missing)

from idc_synth.simulation import PAIR_READS, design_grid, null_tolerance, simulated_mdd

PATIENTS = (6, 9, 20, 49, 84)
SEEDS = (3, 5)
DIFFERENCES = (0.025, 0.05, 0.075)
BASE = ("demo", "full_scale", "seed_dominant")
# (scenarios, designs as (patients, seeds)) beyond the base grid
EXTRA = [
    (
        ("demo_7arm", "noisy_dcgan_1.5x", "noisy_dcgan_2x", "noisy_dcgan_3x"),
        ((9, 3), (49, 3), (84, 5)),
    ),
    (("full_scale", "seed_dominant"), ((49, 10), (84, 10))),
]
READS = ("primary", "spread", "contrast")


def cell(task) -> pd.DataFrame:
    """One (scenario, patients, seeds) design's rates: seeded by the design alone, so the table
    is the same whichever process computes it."""
    name, n, m, differences, n_studies, alpha, reads, seed = task
    return design_grid(
        (n,), (m,), differences, n_studies, alpha, scenarios=(name,), reads=reads, seed=seed
    )


def grid(differences, n_studies: int, args, reads=("primary",)) -> pd.DataFrame:
    """Every cell of the base grid and the extra designs, over `args.jobs` processes."""
    designs = [(name, n, m) for name in BASE for n in args.patients for m in args.seeds]
    if not args.base_only:
        designs += [(name, *design) for names, sizes in EXTRA for name in names for design in sizes]
    tasks = [(*design, differences, n_studies, args.alpha, reads, args.seed) for design in designs]
    with ProcessPoolExecutor(args.jobs) as pool:
        return pd.concat(pool.map(cell, tasks), ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--null-studies", type=int, default=2000)
    parser.add_argument("--power-studies", type=int, default=400)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--patients", type=int, nargs="+", default=PATIENTS)
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    parser.add_argument("--base-only", action="store_true", help="skip the extra designs")
    parser.add_argument("--jobs", type=int, default=1, help="processes (designs in parallel)")
    parser.add_argument("--out", type=Path, help="write both tables as TSV with this prefix")
    args = parser.parse_args()

    null = grid((0.0,), args.null_studies, args, (*READS, *PAIR_READS))
    limit = args.alpha + null_tolerance(args.alpha, args.null_studies)
    keys = ["scenario", "n_patients", "n_seeds"]
    false_positives = null.pivot_table(index=keys, columns="read", values="rejection_rate")
    family_size = null.groupby(keys)["family_size"].first()
    pair_limit = (args.alpha / family_size).map(
        lambda level: level + null_tolerance(level, args.null_studies)
    )
    family_wise = false_positives[[*READS, "pair_unadjusted"]].to_numpy().max()
    over = false_positives["pair"] > pair_limit
    false_positives.insert(0, "k", family_size)
    print(
        f"False-positive rates, {args.null_studies} null studies per design (alpha "
        f"{args.alpha:g}; alpha + 2 Monte Carlo SE = {limit:.4f}; largest family-wise or "
        f"unadjusted pair rate {family_wise:.4f}; pair: dcgan vs baseline at alpha / k, "
        f"{int(over.sum())} cell(s) above alpha / k + 2 MC SE):\n"
    )
    print(false_positives.round(4).to_string())

    power = grid(DIFFERENCES, args.power_studies, args)
    table = power.pivot_table(index=keys, columns="true_difference", values="rejection_rate")
    table.columns = [f"power at +{value:g}" for value in table.columns]
    primary = pd.concat([null[null["read"] == "primary"], power], ignore_index=True)
    table["MDD (80% power)"] = simulated_mdd(primary).droplevel("read")
    table["mean SE"] = power.groupby(keys)["mean_se"].mean()
    print(
        f"\nPower of the primary decision (the planted arm vs the reference, at alpha / k), "
        f"{args.power_studies} studies per cell; MDD: the smallest planted difference in "
        f"balanced accuracy detected with 80% power (NaN: above {max(DIFFERENCES):g}):\n"
    )
    print(table.round(3).to_string())
    if args.out:
        null.to_csv(f"{args.out}_null.tsv", sep="\t", index=False)
        power.to_csv(f"{args.out}_power.tsv", sep="\t", index=False)


if __name__ == "__main__":
    main()
