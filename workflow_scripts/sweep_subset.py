"""Rule sweep_subset: the train patches of one real fraction's patients, packed apart, and the
split table its generators sample by (see idc_synth.sweep)."""

from pathlib import Path

import pandas as pd

from idc_synth.runtime import rule_logging
from idc_synth.sweep import fraction_patients, write_fraction


def main(
    *,
    train_images: Path,
    train_table: Path,
    split: Path,
    fraction: float,
    seed: int,
    images: Path,
    table: Path,
    fraction_split: Path,
    patients: Path,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        split_table = pd.read_parquet(split)
        kept = fraction_patients(split_table, fraction, seed)
        n_patches = write_fraction(
            train_images, train_table, split_table, kept, images, table, fraction_split
        )
        patients.write_text("".join(f"{patient}\n" for patient in kept))
        logger.info(
            "real fraction %g (order seed %d): %d train patients %s, %d patches -> %s",
            fraction,
            seed,
            len(kept),
            kept,
            n_patches,
            images,
        )


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        train_images=Path(sm.input.train_images),
        train_table=Path(sm.input.train_table),
        split=Path(sm.input.split),
        fraction=float(sm.params.fraction),
        seed=int(sm.params.seed),
        images=Path(sm.output.train_images),
        table=Path(sm.output.train_table),
        fraction_split=Path(sm.output.split),
        patients=Path(sm.output.patients),
        log=Path(sm.log[0]),
    )
