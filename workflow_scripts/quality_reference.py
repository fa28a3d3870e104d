"""Rule quality_reference: real train's features, extracted once for every image_quality job
(every patch for near copies, the matched-n subsample for FID & co.), the matched n per feature
space and class from every set's class counts, and the near-copy thresholds calibrated on the
held-out train patches (idc_synth.quality.assess.reference_features)."""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.quality.assess import LabelledImages, reference_features
from idc_synth.quality.extractors import feature_functions
from idc_synth.quality.sampling import class_sizes, label_counts, synthetic_label_counts
from idc_synth.quality.table import HOLDOUT, REAL_VAL, TRAIN, QualitySettings
from idc_synth.runtime import limit_torch_threads, rule_logging
from idc_synth.synthetic import REFERENCE_DRAW


def main(
    *,
    train: tuple[Path, Path],
    holdout: tuple[Path, Path],
    val_table: Path,
    synthetic_manifests: Mapping[str, Path],
    classifier_weights: Path,
    classifier_info: Path,
    output: Path,
    settings: QualitySettings,
    device: str,
    threads: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        train_set, holdout_set = LabelledImages.packed(*train), LabelledImages.packed(*holdout)
        counts = {
            TRAIN: label_counts(train_set.labels),
            HOLDOUT: label_counts(holdout_set.labels),
            REAL_VAL: label_counts(pd.read_parquet(val_table, columns=["label"])["label"]),
            **{
                name: synthetic_label_counts(path, REFERENCE_DRAW)
                for name, path in synthetic_manifests.items()
            },
        }
        sizes = class_sizes(counts, settings)
        logger.info("patches per set and class %s -> matched n %s", counts, sizes)
        fns, _ = feature_functions(classifier_weights, classifier_info, settings, device, logger)
        arrays = reference_features(train_set, holdout_set, sizes, fns, settings)
        output.parent.mkdir(parents=True, exist_ok=True)
        np.savez(output, **arrays)
        logger.info("wrote %s (%s)", output, ", ".join(sorted(arrays)))


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        train=(Path(sm.input.train_images), Path(sm.input.train_table)),
        holdout=(Path(sm.input.holdout_images), Path(sm.input.holdout_table)),
        val_table=Path(sm.input.val_table),
        synthetic_manifests={
            name: Path(sm.input[f"synthetic_{name}"]) for name in sm.params.generators
        },
        classifier_weights=Path(sm.input.weights),
        classifier_info=Path(sm.input.info),
        output=Path(sm.output.reference),
        settings=QualitySettings(**sm.params.settings),
        device=sm.params.device,
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
