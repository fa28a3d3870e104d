"""How good and how new are synthetic patches: one candidate set's rows of image_quality.tsv.

Every set is compared with the generators' training set, real train, per class:
- each generator's synthetic patches;
- ``holdout``: train patches of the same patients held out at pack time (never seen by a
  generator or a classifier): what a perfect generator of the train distribution would match,
  the floor of every metric;
- ``real_val``: the val patients' patches: the cross-patient shift, a ceiling a useful generator
  should beat.

Within a feature space and class every row is computed at one ``n`` (the smallest set, capped by
``max_patches``; seeded subsamples, the same train subsample in every row), because FID's bias
depends strongly on n. ``fid_inf`` is FID extrapolated to infinitely many patches (Chong &
Forsyth 2020: FID on several subset sizes, a straight line in 1/N, its intercept).

Feature spaces (idc_synth.quality.features):
- ``classifier``: the penultimate embedding of the baseline IDC classifier, always available;
- ``inception``: clean-fid's Inception-V3 (its ``clean`` resize to 299 px), only when its
  weights are on disk, never downloaded;
- one space per encoder of ``quality.encoders`` (idc_synth.quality.encoders), named as there: a
  pretrained timm or transformers model read from a local folder, every metric in it (FID & co.
  capped at ``max_patches`` like Inception, near copies among all patches); skipped, its rows
  say so, while the folder is absent;
- ``pixels``: L2 on 10x10 block means of the RGB patch in [0, 1], for near copies; its rows
  also carry the spectral fidelity of the set (idc_synth.spectrum), from every patch of the set
  against every train patch of the class: ``spectral_distance`` (RMS log10 difference of the
  azimuthally averaged power spectra) and ``spike_ratio`` (the periodic grid spike), whose
  reading needs no matched n (a mean spectrum has no small-n bias worth the name).

The metrics are idc_synth.quality.metrics' unit-weight calls; their interval columns come from
the same functions under a patient-level bootstrap over every set at once
(idc_synth.quality.intervals), added when the rows are gathered; each job writes the features
its rows used for it. Near copies (classifier, pixel and encoder spaces, all patches) are
calibrated on the held-out train patches (idc_synth.quality.copies).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from idc_synth.pack import load_packed
from idc_synth.quality import keys
from idc_synth.quality.copies import NearCopies, closest_pairs, copy_threshold, near_copies
from idc_synth.quality.metrics import (
    fid,
    fid_infinity,
    kid,
    kid_spread,
    kid_subset,
    manifold_metrics,
)
from idc_synth.quality.neighbours import nearest_neighbours
from idc_synth.quality.subsets import MIN_PATCHES, subsample
from idc_synth.quality.table import (
    HOLDOUT,
    TRAIN,
    QualitySettings,
    copy_spaces,
    distribution_spaces,
    empty_row,
)
from idc_synth.spectrum import SpectralFeatures, spectral_distance, spectral_features, spike_ratio

log = logging.getLogger(__name__)

FeatureFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (images, rows) -> features


# ---------------------------------------------------------------------------------------------
# The real-train reference every job shares (one cached rule output)


@dataclass
class LabelledImages:
    images: np.ndarray  # uint8 (N, 50, 50, 3), may be a memory map
    labels: np.ndarray
    patients: np.ndarray | None = None  # real sets: each patch's patient (bootstrap units)

    def rows(self, label: int) -> np.ndarray:
        return np.flatnonzero(np.asarray(self.labels) == label)

    def patient_names(self, rows: np.ndarray) -> np.ndarray | None:
        """The patients of ``rows`` (the bootstrap units of a real set); None for a generator's
        patches, whose unit is the patch."""
        return None if self.patients is None else np.asarray(self.patients)[rows].astype(str)

    @classmethod
    def packed(cls, images: Path, table: Path) -> LabelledImages:
        """A packed split (idc_synth.pack): its pixels, labels and patients."""
        pixels, rows = load_packed(Path(images), Path(table))
        return cls(pixels, rows["label"].to_numpy(), rows["patient"].to_numpy())


def spectral_arrays(data: LabelledImages, rows: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    """Spectral sums of ``rows`` for an .npz: per patient for a real set (``prefix_groups``
    names them), per patch for a generator's."""
    spectra = spectral_features(data.images, rows)
    patients = data.patient_names(rows)
    if patients is None:
        return spectra.arrays(prefix)
    names, grouped = spectra.grouped(patients)
    return {**grouped.arrays(prefix), keys.spectral_groups(prefix): names}


def available_copy_spaces(
    feature_fns: Mapping[str, FeatureFn | None], settings: QualitySettings
) -> tuple[str, ...]:
    """The near-copy spaces whose extractor is at hand (an absent encoder's rows say skipped)."""
    return tuple(s for s in copy_spaces(settings.encoders) if feature_fns.get(s) is not None)


def reference_features(
    train: LabelledImages,
    holdout: LabelledImages,
    sizes: Mapping[str, Mapping[int, int]],
    feature_fns: Mapping[str, FeatureFn | None],
    settings: QualitySettings,
) -> dict[str, np.ndarray]:
    """Per class: train features of every patch (copy spaces) and of the matched-n train
    subsample (distribution spaces) with its patients, each train patch's patient, the held-out
    patches' nearest-train distances that calibrate the near-copy thresholds (and which train
    patch is nearest), and train's spectral sums per patient. Flat ``{key: array}`` for an .npz."""
    out: dict[str, np.ndarray] = {}
    for label in (0, 1):
        train_rows = train.rows(label)
        out[keys.train_rows(label)] = train_rows
        if train.patients is not None:
            out[keys.train_patients(label)] = train.patient_names(train_rows)
        out.update(spectral_arrays(train, train_rows, keys.spectral_prefix(label, train=True)))
        for space in available_copy_spaces(feature_fns, settings):
            feats = feature_fns[space](train.images, train_rows)
            out[keys.key(space, keys.TRAIN, label)] = feats
            held = feature_fns[space](holdout.images, holdout.rows(label))
            distances, nearest = nearest_neighbours(held, feats)
            out[keys.key(space, keys.CALIBRATION, label)] = distances
            out[keys.key(space, keys.CALIBRATION_NEAREST, label)] = nearest  # the floor per patient
        for space in distribution_spaces(settings.encoders):
            n = sizes[space][label]
            sub = subsample(train_rows, n, settings.sample_seed, TRAIN, label)
            out[keys.key(space, keys.N, label)] = np.asarray(n)
            out[keys.key(space, keys.SUBSET, label)] = np.searchsorted(train_rows, sub)
            if train.patients is not None:
                out[keys.key(space, keys.REFERENCE_GROUPS, label)] = train.patient_names(sub)
            fn = feature_fns.get(space)
            if fn is not None and n:
                if keys.key(space, keys.TRAIN, label) in out:  # a copy space: every patch
                    out[keys.key(space, keys.REFERENCE, label)] = out[
                        keys.key(space, keys.TRAIN, label)
                    ][out[keys.key(space, keys.SUBSET, label)]]
                else:
                    out[keys.key(space, keys.REFERENCE, label)] = fn(train.images, sub)
    return out


# ---------------------------------------------------------------------------------------------
# One candidate set (a generator's patches, held-out train or val) against the reference


def distribution_row(
    space: str,
    generator: str,
    label: int,
    fake: np.ndarray,
    real: np.ndarray,
    settings: QualitySettings,
) -> dict:
    """FID, FID_inf, KID and the k-NN ball metrics of ``fake`` against ``real`` (both n
    patches)."""
    n = len(fake)
    row = empty_row(space, generator, label, "ok")
    seed = settings.sample_seed * 2 + int(label)
    row["kid"] = kid(fake, real)
    row["kid_std"], row["kid_subset"] = kid_spread(
        fake, real, kid_subset(n, settings.kid_subset_size), settings.kid_subsets, seed
    )
    row["fid"] = fid(fake, real)
    row["fid_inf"] = fid_infinity(fake, real, seed)
    row.update(manifold_metrics(real, fake, settings.pr_k))
    note = "fid_inf: FID extrapolated to n = infinity (Chong & Forsyth 2020)"
    return {**row, "n": n, "note": note}


def _copy_columns(found: NearCopies, level: float) -> dict:
    low, high = found.interval(level)
    return {
        "n_copy_checked": len(found.flagged),
        "near_copy_share": found.share,
        "near_copy_low": low,
        "near_copy_high": high,
        "near_copy_expected": found.threshold.expected,
    }


def assess(
    generator: str,
    candidates: LabelledImages,
    train: LabelledImages,
    reference: Mapping[str, np.ndarray],
    feature_fns: Mapping[str, FeatureFn | None],
    statuses: Mapping[str, str],
    settings: QualitySettings,
) -> tuple[list[dict], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per class, one row per feature space; per copy space its closest candidate-train pairs
    (``{space}_{key}`` arrays, with the train patch's patient); what the patient bootstrap
    needs, the features each distribution row used (``{space}_{label}``, with
    ``{space}_groups_{label}`` patients for a real set) and the spectral sums
    (``spectral_{label}_*``); and every candidate's nearest-train distance and train patch
    (``{space}_copy_{label}``, ``{space}_copy_nearest_{label}``)."""
    rows: list[dict] = []
    features: dict[str, np.ndarray] = {}
    checked = available_copy_spaces(feature_fns, settings)
    pair_parts: dict[str, list] = {space: [] for space in checked}
    for label in (0, 1):
        cand_rows = candidates.rows(label)
        train_rows = reference[keys.train_rows(label)]
        log.info("%s class %d: %d candidates", generator, label, len(cand_rows))
        # every candidate's copy-space features, once: near copies check all of them, the
        # distribution rows use the matched-n subsample
        copy_feats = {
            space: feature_fns[space](candidates.images, cand_rows)
            for space in checked
            if len(cand_rows)
        }
        for space in distribution_spaces(settings.encoders):
            n = int(reference[keys.key(space, keys.N, label)])
            fn = feature_fns.get(space)
            if fn is None:
                rows.append(empty_row(space, generator, label, statuses[space]))
            elif len(cand_rows) < max(n, MIN_PATCHES) or n == 0:
                status = f"skipped: {len(cand_rows)} patches of class {label} (matched n {n})"
                rows.append(empty_row(space, generator, label, status))
            else:
                sub = subsample(cand_rows, n, settings.sample_seed, generator, label)
                fake = (
                    copy_feats[space][np.searchsorted(cand_rows, sub)]
                    if space in copy_feats
                    else fn(candidates.images, sub)
                )
                real = reference[keys.key(space, keys.REFERENCE, label)]
                rows.append(distribution_row(space, generator, label, fake, real, settings))
                features[keys.key(space, keys.FEATURES, label)] = fake
                if candidates.patients is not None:
                    features[keys.key(space, keys.GROUPS, label)] = candidates.patient_names(sub)
            log.info("%s", rows[-1])
        for space in checked:
            threshold = copy_threshold(
                reference[keys.key(space, keys.CALIBRATION, label)], settings.near_copy_percentile
            )
            note = (
                f"near copy: train-NN distance <= {threshold.distance:.4g}, the {threshold.k}-th "
                f"smallest of {threshold.m} held-out train patches (a fresh sample is flagged "
                f"with probability {threshold.expected:.3g})"
            )
            if space == "pixels":
                note = f"L2 on 10x10 block means in [0, 1]; {note}"
            if generator == HOLDOUT:
                copy_row = {"status": "ok", "note": "the near-copy calibration set itself"}
            elif not len(cand_rows) or not threshold.m:
                copy_row = {"status": "skipped: no patches to check", "note": note}
            else:
                found = near_copies(
                    copy_feats[space], reference[keys.key(space, keys.TRAIN, label)], threshold
                )
                pair_parts[space].append(
                    (found.distances, cand_rows, train_rows[found.train_index])
                )
                # what memorization per train patient needs (idc_synth.memorization)
                features[keys.key(space, keys.COPY, label)] = found.distances
                features[keys.key(space, keys.COPY_NEAREST, label)] = found.train_index
                copy_row = {**_copy_columns(found, settings.confidence_level), "note": note}
                log.info(
                    "class %d, %s space: %.2f%% near copies (expected %.2f%%)",
                    label,
                    space,
                    100 * found.share,
                    100 * threshold.expected,
                )
            if space == "pixels":
                spectral = _spectral_columns(candidates, cand_rows, reference, label, features)
                rows.append({**empty_row(space, generator, label, "ok"), **copy_row, **spectral})
            else:  # its distribution row carries both its distribution and its copy numbers
                target = next(
                    r for r in rows if r["feature_space"] == space and r["label"] == label
                )
                status, first_note = target["status"], target["note"]
                target.update(copy_row)
                target.update(
                    status=status, note="; ".join(filter(None, [first_note, target["note"]]))
                )
    pairs = {}
    for space, parts in pair_parts.items():
        distances, cand_rows, train_rows = (
            (np.concatenate(p) for p in zip(*parts, strict=True))
            if parts
            else (np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64))
        )
        found = closest_pairs(
            candidates.images,
            train.images,
            distances,
            cand_rows,
            train_rows,
            settings.closest_pairs,
        )
        if train.patients is not None:
            found["patient"] = train.patient_names(found["train_row"])
        pairs.update({keys.pair_key(space, field): value for field, value in found.items()})
    return rows, pairs, features


def _spectral_columns(
    candidates: LabelledImages,
    rows: np.ndarray,
    reference: Mapping[str, np.ndarray],
    label: int,
    features: dict[str, np.ndarray],
) -> dict:
    """The pixel row's spectral fidelity against every train patch of the class (its spectral
    sums also go into ``features``); NaN without patches."""
    if not len(rows) or not reference[f"{keys.spectral_prefix(label, train=True)}_counts"].sum():
        return {"n": 0, "spectral_distance": math.nan, "spike_ratio": math.nan}
    arrays = spectral_arrays(candidates, rows, keys.spectral_prefix(label))
    features.update(arrays)
    ours = SpectralFeatures.from_arrays(arrays, keys.spectral_prefix(label))
    train = SpectralFeatures.from_arrays(reference, keys.spectral_prefix(label, train=True))
    return {
        "n": len(rows),
        "spectral_distance": spectral_distance(ours, train),
        "spike_ratio": spike_ratio(ours),
    }
