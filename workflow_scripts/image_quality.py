"""Rule image_quality: one set against real train (idc_synth.quality.assess): a generator's
synthetic patches, ``holdout`` (held-out train: the floor) or ``real_val`` (the cross-patient
shift); writes its rows, its closest candidate-train pairs and the features its rows used (for
the gather job's bootstrap and memorization)."""

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.quality.assess import LabelledImages, assess
from idc_synth.quality.extractors import feature_functions
from idc_synth.quality.table import PACKED_SET, ROW_COLUMNS, QualitySettings
from idc_synth.runtime import limit_torch_threads, rule_logging
from idc_synth.synthetic import REFERENCE_DRAW, load_synthetic


def main(
    *,
    generator: str,
    reference_path: Path,
    train: tuple[Path, Path],
    candidates: tuple[Path, Path] | None,
    synthetic_manifest: Path | None,
    classifier_weights: Path,
    classifier_info: Path,
    table: Path,
    pairs: Path,
    features: Path,
    settings: QualitySettings,
    device: str,
    threads: int,
    log: Path | None,
) -> None:
    """One set against real train: ``candidates`` (a packed split) or a synthetic manifest."""
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        logger.info("%s with %s", generator, asdict(settings))
        train_set = LabelledImages.packed(*train)
        if synthetic_manifest is not None:
            candidate_set = LabelledImages(
                *load_synthetic(Path(synthetic_manifest), REFERENCE_DRAW)
            )
        else:
            candidate_set = LabelledImages.packed(*candidates)
        logger.info("read %d candidate patches", len(candidate_set.labels))
        fns, statuses = feature_functions(
            classifier_weights, classifier_info, settings, device, logger
        )
        with np.load(reference_path, allow_pickle=False) as stored:
            reference = dict(stored)
        rows, closest, used = assess(
            generator, candidate_set, train_set, reference, fns, statuses, settings
        )
        table.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(rows, columns=list(ROW_COLUMNS))
        frame.to_csv(table, sep="\t", index=False)
        logger.info("wrote %s:\n%s", table, frame.drop(columns="note").to_string())
        np.savez_compressed(pairs, **closest)
        np.savez(features, **used)
        logger.info("wrote %s, %s", pairs, features)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    name = sm.wildcards.candidate
    packed = PACKED_SET.get(name)
    main(
        generator=name,
        reference_path=Path(sm.input.reference),
        train=(Path(sm.input.train_images), Path(sm.input.train_table)),
        candidates=(
            (Path(sm.input[f"{packed}_images"]), Path(sm.input[f"{packed}_table"]))
            if packed
            else None
        ),
        synthetic_manifest=None if packed else Path(sm.input.synthetic),
        classifier_weights=Path(sm.input.weights),
        classifier_info=Path(sm.input.info),
        table=Path(sm.output.table),
        pairs=Path(sm.output.pairs),
        features=Path(sm.output.features),
        settings=QualitySettings(**sm.params.settings),
        device=sm.params.device,
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
