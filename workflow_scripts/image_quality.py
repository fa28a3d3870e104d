"""Rules image_quality, image_quality_reference and gather_image_quality.

A generator's synthetic patches (or, for generator ``real_val``, the real val patches as the
reference a good generator nears) against real train, per class: FID, KID, precision/recall in
the baseline classifier's feature space and, when its weights are on disk, in Inception's;
near copies of train patches; the closest synthetic-train pairs for a figure. The gather rule
stacks every generator's table into one.
"""

import functools
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.classifier import load_classifier
from idc_synth.pack import load_packed
from idc_synth.quality import (
    ROW_COLUMNS,
    LabelledImages,
    QualitySettings,
    assess,
    classifier_features,
    inception_features,
    inception_weights_file,
    load_inception,
)
from idc_synth.runtime import limit_torch_threads, resolve_device, rule_logging
from idc_synth.synthetic import load_synthetic

REFERENCE = "real_val"


def main(
    *,
    generator: str,
    train_images: Path,
    train_table: Path,
    val_images: Path,
    val_table: Path,
    synthetic_manifest: Path | None,
    classifier_weights: Path,
    classifier_info: Path,
    table: Path,
    pairs: Path | None,
    settings: QualitySettings,
    device: str,
    threads: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        torch_device = resolve_device(device)
        logger.info("%s on %s with %s", generator, torch_device, asdict(settings))
        train = LabelledImages(*_packed(train_images, train_table))
        val = LabelledImages(*_packed(val_images, val_table))
        if synthetic_manifest is None:
            candidates = val
        else:
            candidates = LabelledImages(*load_synthetic(Path(synthetic_manifest)))
        logger.info(
            "read %d train, %d val, %d candidate patches",
            *map(len, (train.labels, val.labels, candidates.labels)),
        )

        model, info = load_classifier(classifier_weights, classifier_info, torch_device)
        logger.info("classifier %s (%s, seed %s)", classifier_weights, info["arch"], info["seed"])
        classifier_fn = functools.partial(classifier_features, model, device=torch_device)

        weights = inception_weights_file(settings.inception_weights)
        extractor = load_inception(weights, torch_device)
        status = f"skipped: no Inception weights at {weights}"
        if extractor is None:
            logger.warning("%s: Inception rows are skipped (nothing is downloaded)", status)
            inception_fn = None
        else:
            logger.info("Inception weights %s", weights)
            inception_fn = functools.partial(inception_features, extractor, device=torch_device)

        rows, closest = assess(
            generator, candidates, train, val, classifier_fn, inception_fn, status, settings
        )
        table.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(rows, columns=list(ROW_COLUMNS))
        frame.to_csv(table, sep="\t", index=False)
        logger.info("wrote %s:\n%s", table, frame.drop(columns="note").to_string())
        if pairs is not None:
            np.savez_compressed(pairs, **closest)
            logger.info("wrote %s (%d pairs)", pairs, len(closest["distances"]))


def _packed(images: Path, table: Path) -> tuple[np.ndarray, np.ndarray]:
    pixels, rows = load_packed(Path(images), Path(table))
    return pixels, rows["label"].to_numpy()


def gather(*, tables: list[Path], output: Path, log: Path | None) -> None:
    """Every generator's rows and the real_val reference rows in one table."""
    with rule_logging(log) as logger:
        frame = pd.concat(
            [pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""]) for path in tables],
            ignore_index=True,
        )[list(ROW_COLUMNS)]
        # inputs come generators first, real_val last: keep that order within a feature space
        frame = frame.sort_values("feature_space", kind="stable", ignore_index=True)
        output.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(output, sep="\t", index=False)
        logger.info("wrote %s (%d rows) from %d tables", output, len(frame), len(tables))


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    if getattr(sm.input, "tables", None):
        gather(
            tables=[Path(p) for p in sm.input.tables],
            output=Path(sm.output.table),
            log=Path(sm.log[0]),
        )
    else:
        main(
            generator=sm.params.generator,
            train_images=Path(sm.input.train_images),
            train_table=Path(sm.input.train_table),
            val_images=Path(sm.input.val_images),
            val_table=Path(sm.input.val_table),
            synthetic_manifest=(
                Path(sm.input.synthetic) if getattr(sm.input, "synthetic", None) else None
            ),
            classifier_weights=Path(sm.input.weights),
            classifier_info=Path(sm.input.info),
            table=Path(sm.output.table),
            pairs=Path(sm.output.pairs) if getattr(sm.output, "pairs", None) else None,
            settings=QualitySettings(**sm.params.settings),
            device=sm.params.device,
            threads=sm.threads,
            log=Path(sm.log[0]),
        )
