"""Pretrained encoders from a local folder as feature spaces (idc_synth.quality.encoders): tiny
randomly initialised timm and transformers models saved by the tests, read without network."""

from __future__ import annotations

import logging
import socket

import numpy as np
import pandas as pd
import pytest
import torch
from tiny_encoders import (
    TIMM_MEAN,
    TIMM_STD,
    TRANSFORMERS_MEAN,
    TRANSFORMERS_STD,
    save_tiny_timm,
    save_tiny_transformers,
)

from idc_synth.classifier import TrainedClassifier, save_classifier
from idc_synth.models import build_classifier
from idc_synth.quality.encoders import EncoderFolderError, load_encoder
from idc_synth.quality.extractors import feature_functions
from idc_synth.quality.features import encoder_features
from idc_synth.quality.table import QualitySettings

PATCHES = np.random.default_rng(0).integers(0, 256, (5, 50, 50, 3), dtype=np.uint8)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Loading reads the folder only: any connection attempt fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("an encoder tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def manual_input(side: int, mean, std, mode: str) -> torch.Tensor:
    """The patches as the folder's preprocessing says: resized, in [0, 1], normalized."""
    pixels = torch.from_numpy(PATCHES).permute(0, 3, 1, 2).float() / 255
    pixels = torch.nn.functional.interpolate(pixels, size=(side, side), mode=mode).clamp(0, 1)
    return (pixels - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def test_a_timm_folder_gives_its_pooled_embedding_after_its_own_preprocessing(tmp_path):
    import timm

    folder = save_tiny_timm(tmp_path / "uni-like", side=32, width=16)
    encoder = load_encoder(folder, "cpu")
    assert (encoder.kind, encoder.size, encoder.interpolation) == ("timm", (32, 32), "bilinear")
    assert encoder.mean == pytest.approx(TIMM_MEAN) and encoder.std == pytest.approx(TIMM_STD)
    feats = encoder_features(encoder, PATCHES, np.array([0, 2, 4]), batch_size=2)
    model = timm.create_model(f"local-dir:{folder}", pretrained=True, num_classes=0).eval()
    with torch.no_grad():
        expected = model(manual_input(32, TIMM_MEAN, TIMM_STD, "bilinear"))[[0, 2, 4]]
    assert feats.shape == (3, 16) and feats.dtype == np.float64
    np.testing.assert_allclose(feats, expected.double().numpy(), rtol=1e-4, atol=1e-5)


def test_a_transformers_folder_gives_its_pooled_output_after_its_own_preprocessing(tmp_path):
    from transformers import ViTModel

    folder = save_tiny_transformers(tmp_path / "dinov2-like", side=24, width=12)
    encoder = load_encoder(folder, "cpu")
    assert (encoder.kind, encoder.size) == ("transformers", (24, 24))
    assert encoder.mean == pytest.approx(TRANSFORMERS_MEAN)
    assert encoder.std == pytest.approx(TRANSFORMERS_STD)
    feats = encoder_features(encoder, PATCHES)
    model = ViTModel.from_pretrained(folder, local_files_only=True).eval()
    pixels = manual_input(24, TRANSFORMERS_MEAN, TRANSFORMERS_STD, encoder.interpolation)
    with torch.no_grad():
        expected = model(pixel_values=pixels).pooler_output
    np.testing.assert_allclose(feats, expected.double().numpy(), rtol=1e-4, atol=1e-5)


def test_a_folder_without_a_model_is_refused_naming_it(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EncoderFolderError, match=f"{empty}: no config.json"):
        load_encoder(empty, "cpu")
    (empty / "config.json").write_text('{"hidden_size": 8}')
    with pytest.raises(EncoderFolderError, match="download the model's whole folder"):
        load_encoder(empty, "cpu")


def test_an_absent_encoder_folder_is_skipped_and_a_present_one_extracts(tmp_path):
    weights, info = tmp_path / "model.safetensors", tmp_path / "info.json"
    model = build_classifier("small_cnn")
    save_classifier(TrainedClassifier(model, pd.DataFrame(), {"arch": "small_cnn", "seed": 0}),
                    weights, info)  # fmt: skip
    encoders = {"tiny": str(save_tiny_timm(tmp_path / "tiny")), "gone": str(tmp_path / "nope")}
    settings = QualitySettings(inception_weights=str(tmp_path), encoders=encoders)
    fns, statuses = feature_functions(weights, info, settings, "cpu", logging.getLogger("test"))
    assert (
        fns["gone"] is None
        and statuses["gone"] == f"skipped: no encoder folder at {tmp_path / 'nope'}"
    )
    assert fns["inception"] is None and "inception" in statuses
    assert fns["tiny"](PATCHES, np.arange(5)).shape == (5, 16)
