"""Resumable training state: atomic save, safe load, and every RNG a run depends on.

A checkpoint is a dict of tensors, numbers, strings and nested dicts/lists (model, EMA and
optimizer state dicts, step, RNG states). It is written with torch.save to a temp file and
renamed, so a job killed mid-write leaves the previous checkpoint intact, and read with
``weights_only=True`` so a results folder can never run pickled code.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

log = logging.getLogger(__name__)


CODE_VERSION_PREFIX = "code-"  # the workflow keeps a job's state in code-<digest>/ folders


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)
    prune_other_code_versions(path)


def prune_other_code_versions(path: Path) -> list[Path]:
    """Delete the sibling code-<digest> state folders of a checkpoint in a code-<digest> folder:
    they belong to other versions of the training code, which a job never resumes from (its
    state path names its own version), so they only fill the disk. Returns what was removed."""
    folder = path.parent
    if not folder.name.startswith(CODE_VERSION_PREFIX):
        return []
    stale = [
        other
        for other in folder.parent.iterdir()
        if other.is_dir() and other.name.startswith(CODE_VERSION_PREFIX) and other != folder
    ]
    for other in stale:
        shutil.rmtree(other)
        log.info("removed %s: training state of another code version", other)
    return stale


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is none yet (a fresh start)."""
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


class Resumable(Protocol):
    """A training run a checkpoint can continue: what the checkpoint must match (settings,
    data, ...), and how to take the saved state back."""

    def identity(self) -> dict[str, Any]: ...

    def restore(self, state: dict[str, Any]) -> None: ...


def resume(run: Resumable, path: Path | None) -> bool:
    """Continue ``run`` from the checkpoint at ``path`` (None: no checkpointing) when it is one
    of the same run: each entry of ``run.identity()`` saved alike. A checkpoint of another run
    (other settings, data, ...) is ignored with a warning naming what differs. True when the
    run was restored; False for a fresh start."""
    state = None if path is None else load_checkpoint(path)
    if state is None:
        return False
    differs = [key for key, value in run.identity().items() if state.get(key) != value]
    if differs:
        log.warning("checkpoint %s was made with other %s; ignoring it", path, ", ".join(differs))
        return False
    run.restore(state)
    return True


def data_digest(*arrays: np.ndarray) -> str:
    """A fingerprint of a run's training data (memory maps are read, not copied): a checkpoint
    is resumed only on the data it was trained on."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array.reshape(-1)).cast("B"))
    return digest.hexdigest()


def capture_rng(generator: np.random.Generator | None = None) -> dict[str, Any]:
    """RNG states of torch (CPU and CUDA) and of the run's NumPy Generator.

    The project draws all NumPy randomness from explicit Generators, so NumPy's and Python's
    global states do not influence a run and are not saved.
    """
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if generator is not None:
        state["numpy_generator"] = generator.bit_generator.state
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generator: np.random.Generator | None = None) -> None:
    torch.set_rng_state(state["torch"])
    if generator is not None:
        generator.bit_generator.state = state["numpy_generator"]
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
