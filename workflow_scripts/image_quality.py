"""Rules quality_reference, image_quality and gather_image_quality.

``quality_reference`` extracts real train's features once (every patch for near copies, the
matched-n subsample for FID & co.), fixes the matched n per feature space and class from every
set's class counts, and calibrates the near-copy thresholds on the held-out train patches.
``image_quality`` measures one set against it: a generator's synthetic patches, ``holdout``
(held-out train: the floor) or ``real_val`` (the cross-patient shift), and keeps the features
its rows used. The gather rule stacks every set's table into one and adds the patient-level
bootstrap intervals, which need every set at once (idc_synth.quality_intervals), and writes
memorization per train patient (idc_synth.memorization).
"""

import functools
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.classifier import load_classifier
from idc_synth.memorization import memorization_table
from idc_synth.pack import load_packed
from idc_synth.quality import (
    DISTRIBUTION_SPACES,
    HOLDOUT,
    REAL_VAL,
    ROW_COLUMNS,
    TRAIN,
    FeatureFn,
    LabelledImages,
    QualitySettings,
    assess,
    class_sizes,
    classifier_features,
    inception_features,
    inception_weights_file,
    label_counts,
    load_inception,
    pixel_features,
    reference_features,
    synthetic_label_counts,
)
from idc_synth.quality_intervals import INTERVAL_COLUMNS, study_groups, study_intervals
from idc_synth.runtime import limit_torch_threads, resolve_device, rule_logging
from idc_synth.synthetic import REFERENCE_DRAW, load_synthetic


def feature_functions(
    classifier_weights: Path,
    classifier_info: Path,
    settings: QualitySettings,
    device: str,
    logger,
) -> tuple[dict[str, FeatureFn | None], str]:
    """Each feature space's extractor (Inception None when its weights are absent) and the
    status an absent Inception's rows carry."""
    torch_device = resolve_device(device)
    model, info = load_classifier(classifier_weights, classifier_info, torch_device)
    logger.info("classifier %s (%s, seed %s)", classifier_weights, info["arch"], info["seed"])
    weights = inception_weights_file(settings.inception_weights)
    extractor = load_inception(weights, torch_device)
    status = f"skipped: no Inception weights at {weights}"
    if extractor is None:
        logger.warning("%s: Inception rows are skipped (nothing is downloaded)", status)
    else:
        logger.info("Inception weights %s", weights)
    fns = {
        "classifier": functools.partial(classifier_features, model, device=torch_device),
        "inception": (
            None
            if extractor is None
            else functools.partial(inception_features, extractor, device=torch_device)
        ),
        "pixels": pixel_features,
    }
    return fns, status


def _packed(images: Path, table: Path) -> LabelledImages:
    pixels, rows = load_packed(Path(images), Path(table))
    return LabelledImages(pixels, rows["label"].to_numpy(), rows["patient"].to_numpy())


def reference(
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
        train_set, holdout_set = _packed(*train), _packed(*holdout)
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
        train_set = _packed(*train)
        if synthetic_manifest is not None:
            candidate_set = LabelledImages(
                *load_synthetic(Path(synthetic_manifest), REFERENCE_DRAW)
            )
        else:
            candidate_set = _packed(*candidates)
        logger.info("read %d candidate patches", len(candidate_set.labels))
        fns, status = feature_functions(
            classifier_weights, classifier_info, settings, device, logger
        )
        with np.load(reference_path, allow_pickle=False) as stored:
            ref = dict(stored)
        rows, closest, used = assess(
            generator, candidate_set, train_set, ref, fns, status, settings
        )
        table.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(rows, columns=list(ROW_COLUMNS))
        frame.to_csv(table, sep="\t", index=False)
        logger.info("wrote %s:\n%s", table, frame.drop(columns="note").to_string())
        np.savez_compressed(pairs, **closest)
        np.savez(features, **used)
        logger.info("wrote %s, %s", pairs, features)


def gather(
    *,
    tables: list[Path],
    features: Mapping[str, Path],
    reference_path: Path,
    output: Path,
    memorization: Path,
    settings: QualitySettings,
    log: Path | None,
) -> None:
    """Every set's rows in one table (per feature space, the generators, then the held-out
    floor and the val shift), with the patient-level bootstrap interval columns; and each
    generator's near copies per train patient against the held-out floor."""
    with rule_logging(log) as logger:
        frame = pd.concat(
            [pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""]) for path in tables],
            ignore_index=True,
        )[list(ROW_COLUMNS)]
        with np.load(reference_path, allow_pickle=False) as stored:
            reference = dict(stored)
        sets = {}
        for name, path in features.items():
            with np.load(path, allow_pickle=False) as stored:
                sets[name] = dict(stored)
        groups, pools = study_groups(
            reference,
            sets,
            DISTRIBUTION_SPACES,
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
        generators = {name: sets[name] for name in sets if name not in (HOLDOUT, REAL_VAL)}
        copied = memorization_table(
            reference, generators, settings.near_copy_percentile, settings.confidence_level
        )
        copied.to_csv(memorization, sep="\t", index=False)
        logger.info("wrote %s (%d rows)", memorization, len(copied))


def with_intervals(frame: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """The rows with their interval columns (before status and note); an undefined interval's
    reason joins the row's note."""
    keys = ["feature_space", "generator", "label"]
    merged = frame.merge(intervals, on=keys, how="left", validate="one_to_one")
    reason = merged["interval_note"].fillna("")
    merged["note"] = [
        "; ".join(part for part in (str(note) if pd.notna(note) else "", why) if part)
        for note, why in zip(merged["note"], reason, strict=True)
    ]
    columns = [c for c in ROW_COLUMNS if c not in ("status", "note")]
    return merged[[*columns, *INTERVAL_COLUMNS, "status", "note"]]


def _pair(inputs, name: str) -> tuple[Path, Path]:
    return Path(inputs[f"{name}_images"]), Path(inputs[f"{name}_table"])


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    if sm.rule == "gather_image_quality":
        gather(
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
    elif sm.rule == "quality_reference":
        reference(
            train=_pair(sm.input, "train"),
            holdout=_pair(sm.input, "holdout"),
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
    else:
        name = sm.wildcards.candidate
        packed_name = {HOLDOUT: "holdout", REAL_VAL: "val"}.get(name)
        main(
            generator=name,
            reference_path=Path(sm.input.reference),
            train=_pair(sm.input, "train"),
            candidates=_pair(sm.input, packed_name) if packed_name else None,
            synthetic_manifest=None if packed_name else Path(sm.input.synthetic),
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
