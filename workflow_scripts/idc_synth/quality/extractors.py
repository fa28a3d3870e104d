"""The feature extractors of one quality job: the baseline classifier's embedding, Inception
when its weights are on disk (its rows skipped otherwise), block-mean pixels."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from idc_synth.classifier import load_classifier
from idc_synth.quality.assess import FeatureFn
from idc_synth.quality.features import (
    classifier_features,
    inception_features,
    inception_weights_file,
    load_inception,
    pixel_features,
)
from idc_synth.runtime import resolve_device


def feature_functions(
    classifier_weights: Path,
    classifier_info: Path,
    inception_weights: str | None,
    device: str,
    logger: logging.Logger,
) -> tuple[dict[str, FeatureFn | None], str]:
    """Each feature space's extractor (Inception None when its weights are absent) and the
    status an absent Inception's rows carry."""
    torch_device = resolve_device(device)
    model, info = load_classifier(classifier_weights, classifier_info, torch_device)
    logger.info("classifier %s (%s, seed %s)", classifier_weights, info["arch"], info["seed"])
    weights = inception_weights_file(inception_weights)
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
