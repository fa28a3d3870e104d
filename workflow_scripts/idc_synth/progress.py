"""Generator quality over training: each snapshot scored against held-out train patches.

A training job (DCGAN, latent diffusion) calls ``ProgressScorer.score`` at its snapshots with a
function drawing n samples of a class. The samples are compared with the class's held-out train
patches (packed apart, never trained on), in two cheap spaces:
- ``fid_pixels``: FID between Gaussians fitted to 10 x 10 px block means of RGB in [0, 1]
  (75 values per patch): colour and coarse layout;
- ``spectral_distance`` and ``spike_ratio`` (idc_synth.spectrum): texture and grid artifacts.

Next to each snapshot, the same numbers for a subsample of real train patches of the same n (the
``_floor`` columns): what a generator that reproduced its training set would score, so a user
sees how far a curve is from where more steps could take it. Scoring draws from its own seeded
streams and never touches the model being trained.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from idc_synth.checkpoint import data_digest
from idc_synth.quality.metrics import fid
from idc_synth.quality.pixels import pixel_features
from idc_synth.quality.subsets import MIN_PATCHES, subsample
from idc_synth.spectrum import SpectralFeatures, spectral_distance, spectral_features, spike_ratio

log = logging.getLogger(__name__)

BLOCK = 10  # px: 5 x 5 blocks x RGB = 75 values, fewer than the patches a snapshot draws
SCORES = ("fid_pixels", "spectral_distance", "spike_ratio")
COLUMNS = ["step", "label", "n", *SCORES, *(f"{score}_floor" for score in SCORES)]

Sampler = Callable[[int, int], np.ndarray]  # (label, n) -> uint8 (n, 50, 50, 3)


@dataclass
class _Reference:
    """One class: its held-out patches in both spaces, and the train floor's scores."""

    n: int
    pixels: np.ndarray
    spectra: SpectralFeatures
    floor: dict[str, float]


class ProgressScorer:
    """Scores snapshots of the classes ``labels`` at n = min(``patches``, the class's held-out
    and train patches); a class with fewer than MIN_PATCHES is left out (logged)."""

    def __init__(
        self,
        holdout: tuple[np.ndarray, np.ndarray],
        train: tuple[np.ndarray, np.ndarray],
        labels: Sequence[int],
        patches: int,
        seed: int,
    ) -> None:
        self.patches, self.seed = patches, seed
        self.references: dict[int, _Reference] = {}
        held_images, held_labels = holdout
        train_images, train_labels = train
        for label in labels:
            held = np.flatnonzero(np.asarray(held_labels) == label)
            real = np.flatnonzero(np.asarray(train_labels) == label)
            n = min(patches, len(held), len(real))
            if n < MIN_PATCHES:
                log.info("class %d: %d held-out patches, not scored during training", label, n)
                continue
            rows = subsample(held, n, seed, "progress holdout", label)
            pixels = pixel_features(held_images, rows, BLOCK)
            reference = _Reference(n, pixels, spectral_features(held_images, rows), {})
            floor = np.asarray(train_images[subsample(real, n, seed, "progress train", label)])
            reference.floor = self._scores(floor, reference)
            self.references[label] = reference
        scored = np.isin(np.asarray(held_labels), list(self.references))
        self.digest = data_digest(np.asarray(held_images[np.flatnonzero(scored)]))

    def identity(self) -> dict:
        """What snapshot rows saved in a checkpoint were scored with: resumed only alike."""
        return {"patches": self.patches, "seed": self.seed, "holdout": self.digest}

    @staticmethod
    def _scores(samples: np.ndarray, reference: _Reference) -> dict[str, float]:
        spectra = spectral_features(samples)
        return {
            "fid_pixels": fid(pixel_features(samples, block=BLOCK), reference.pixels),
            "spectral_distance": spectral_distance(spectra, reference.spectra),
            "spike_ratio": spike_ratio(spectra),
        }

    def score(self, step: int, sample: Sampler) -> list[list[float]]:
        """One row (COLUMNS) per scored class for the snapshot at ``step``."""
        rows = []
        for label, reference in self.references.items():
            scores = self._scores(sample(label, reference.n), reference)
            rows.append(
                [step, label, reference.n]
                + [scores[name] for name in SCORES]
                + [reference.floor[name] for name in SCORES]
            )
            log.info(
                "step %d, class %d: %s (train floor %s)",
                step,
                label,
                _brief(scores),
                _brief(reference.floor),
            )
        return rows


def _brief(scores: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.3g}" for name, value in scores.items())


def progress_table(rows: list[list[float]]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.astype({"step": "int64", "label": "int64", "n": "int64"})
