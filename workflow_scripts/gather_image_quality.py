"""Rule gather_image_quality: every set's rows in one table (per feature space, the generators,
then the held-out floor and the val shift) with the patient-level bootstrap interval columns,
which need every set at once (idc_synth.quality.intervals); and each generator's near copies per
train patient against the held-out floor (idc_synth.memorization)."""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.memorization import memorization_table
from idc_synth.quality.intervals import study_groups, study_intervals, with_intervals
from idc_synth.quality.table import (
    HOLDOUT,
    REAL_VAL,
    REFERENCE_SETS,
    ROW_COLUMNS,
    QualitySettings,
    copy_spaces,
    distribution_spaces,
)
from idc_synth.runtime import rule_logging


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as stored:
        return dict(stored)


def main(
    *,
    tables: list[Path],
    features: Mapping[str, Path],
    reference_path: Path,
    output: Path,
    memorization: Path,
    settings: QualitySettings,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        frame = pd.concat(
            [pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""]) for path in tables],
            ignore_index=True,
        )[list(ROW_COLUMNS)]
        reference = _arrays(reference_path)
        sets = {name: _arrays(path) for name, path in features.items()}
        groups, pools = study_groups(
            reference,
            sets,
            distribution_spaces(settings.encoders),
            HOLDOUT,
            REAL_VAL,
            settings.bootstrap_max_patches,
            settings.sample_seed,
            settings.pr_k,
        )
        logger.info(
            "patient bootstrap: %d replicates over %s, %d row groups",
            settings.bootstrap_samples,
            pools,
            len(groups),
        )
        intervals = study_intervals(
            groups,
            pools,
            HOLDOUT,
            REAL_VAL,
            settings.bootstrap_samples,
            settings.sample_seed,
            settings.confidence_level,
        )
        frame = with_intervals(frame, intervals)
        frame = frame.sort_values(["feature_space", "label"], kind="stable", ignore_index=True)
        output.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(output, sep="\t", index=False)
        logger.info("wrote %s (%d rows) from %d tables", output, len(frame), len(tables))
        generators = {name: arrays for name, arrays in sets.items() if name not in REFERENCE_SETS}
        copied = memorization_table(
            reference,
            generators,
            copy_spaces(settings.encoders),
            settings.near_copy_percentile,
            settings.confidence_level,
        )
        copied.to_csv(memorization, sep="\t", index=False)
        logger.info("wrote %s (%d rows)", memorization, len(copied))


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        tables=[Path(p) for p in sm.input.tables],
        features={
            name: Path(path)
            for name, path in zip(sm.params.candidates, sm.input.features, strict=True)
        },
        reference_path=Path(sm.input.reference),
        output=Path(sm.output.table),
        memorization=Path(sm.output.memorization),
        settings=QualitySettings(**sm.params.settings),
        log=Path(sm.log[0]),
    )
