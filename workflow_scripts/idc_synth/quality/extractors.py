"""The feature extractors of one quality job: the baseline classifier's embedding, Inception
when its weights are on disk, each encoder of quality.encoders whose folder is on disk (an absent
one's rows are skipped, saying why), block-mean pixels."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from idc_synth.classifier import load_classifier
from idc_synth.quality.assess import FeatureFn
from idc_synth.quality.encoders import load_encoder
from idc_synth.quality.features import (
    classifier_features,
    encoder_features,
    inception_features,
    inception_weights_file,
    load_inception,
)
from idc_synth.quality.pixels import pixel_features
from idc_synth.quality.table import QualitySettings
from idc_synth.runtime import resolve_device


def feature_functions(
    classifier_weights: Path,
    classifier_info: Path,
    settings: QualitySettings,
    device: str,
    logger: logging.Logger,
) -> tuple[dict[str, FeatureFn | None], dict[str, str]]:
    """Each feature space's extractor (None for an absent Inception or encoder of
    ``settings``) and, for each absent one, the status its rows carry."""
    torch_device = resolve_device(device)
    model, info = load_classifier(classifier_weights, classifier_info, torch_device)
    logger.info("classifier %s (%s, seed %s)", classifier_weights, info["arch"], info["seed"])
    fns: dict[str, FeatureFn | None] = {
        "classifier": functools.partial(classifier_features, model, device=torch_device),
        "pixels": pixel_features,
    }
    statuses = {}
    weights = inception_weights_file(settings.inception_weights)
    extractor = load_inception(weights, torch_device)
    if extractor is None:
        statuses["inception"] = f"skipped: no Inception weights at {weights}"
        fns["inception"] = None
    else:
        logger.info("Inception weights %s", weights)
        fns["inception"] = functools.partial(inception_features, extractor, device=torch_device)
    for name, folder in settings.encoders.items():
        if not Path(folder).is_dir():
            statuses[name] = f"skipped: no encoder folder at {folder}"
            fns[name] = None
            continue
        encoder = load_encoder(Path(folder), torch_device)
        logger.info("encoder %s: %s (%s, input %s)", name, folder, encoder.kind, encoder.size)
        fns[name] = functools.partial(encoder_features, encoder, device=torch_device)
    for space, status in statuses.items():
        logger.warning("%s: %s rows are skipped (nothing is downloaded)", status, space)
    return fns, statuses
