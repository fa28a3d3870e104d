"""Train, save, load and apply an IDC patch classifier on packed uint8 splits.

Train fits the weights, val picks the epoch (and early-stops), test is only ever predicted.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from idc_synth.augment import augment_batch
from idc_synth.metrics import classification_metrics, tune_threshold
from idc_synth.models import ARCHITECTURES, build_classifier, to_model_input

log = logging.getLogger(__name__)

# The decision threshold: "val" picks, per epoch, the one with the best val balanced accuracy
# (a classifier trained on synthetic patches may score real ones off-centre); a number fixes
# it. The kept epoch's threshold goes into the info file, which prediction reads.
TUNED_THRESHOLD = "val"
PROGRESS_MININTERVAL_S = 30.0  # tqdm redraws at most this often: rule logs stay short
HISTORY_COLUMNS = (
    "epoch",
    "train_loss",
    "val_loss",
    "val_threshold",
    "val_balanced_accuracy",
    "val_roc_auc",
    "seconds",
    "is_best",
)
PREDICTION_COLUMNS = (
    "arm",
    "seed",
    "row",
    "patient",
    "x",
    "y",
    "label",
    "probability",
    "threshold",
    "predicted",
)


@dataclass(frozen=True)
class TrainSettings:
    arch: str
    max_epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    patience: int
    seed: int
    threshold: float | str = TUNED_THRESHOLD

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ValueError(
                f"unknown classifier arch {self.arch!r}; valid: {', '.join(ARCHITECTURES)}"
            )
        fixed = isinstance(self.threshold, int | float) and 0 < self.threshold < 1
        if self.threshold != TUNED_THRESHOLD and not fixed:
            raise ValueError(
                f"threshold must be {TUNED_THRESHOLD!r} or between 0 and 1, got {self.threshold!r}"
            )
        for name in ("max_epochs", "batch_size", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainSettings.{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class TrainedClassifier:
    model: nn.Module
    history: pd.DataFrame
    info: dict


def _class_counts(labels: np.ndarray, split: str) -> dict[str, int]:
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{split} labels must be 0 or 1, got {np.unique(labels).tolist()}")
    counts = {str(c): int((labels == c).sum()) for c in (0, 1)}
    missing = [c for c, count in counts.items() if count == 0]
    if missing:
        raise ValueError(
            f"{split} split has no patches of class {', '.join(missing)} (counts {counts}); "
            "a classifier needs both IDC (1) and non-IDC (0) patches: check the patient split"
        )
    return counts


def _gather_patches(
    images: np.ndarray, index: np.ndarray | slice, device: torch.device
) -> torch.Tensor:
    """A uint8 (B, H, W, C) batch on ``device``; from a memory map only these rows are read."""
    return torch.from_numpy(np.ascontiguousarray(images[index])).to(device)


@torch.no_grad()
def _predict_logits(
    model: nn.Module, images: np.ndarray, batch_size: int, device: torch.device
) -> torch.Tensor:
    model.eval()
    logits = [
        model(to_model_input(_gather_patches(images, slice(start, start + batch_size), device)))
        for start in range(0, len(images), batch_size)
    ]
    return torch.cat(logits).float().cpu() if logits else torch.empty(0)


def predict_probabilities(
    model: nn.Module, images: np.ndarray, batch_size: int, device: torch.device | str
) -> np.ndarray:
    """P(IDC) per image, shape (N,), float32."""
    logits = _predict_logits(model, images, batch_size, torch.device(device))
    return torch.sigmoid(logits).numpy()


def _train_one_epoch(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    settings: TrainSettings,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    shuffle_rng: np.random.Generator,
    augment_rng: torch.Generator,
    device: torch.device,
    epoch: int,
) -> float:
    model.train()
    order = shuffle_rng.permutation(len(images))
    starts = range(0, len(order), settings.batch_size)
    total_loss = 0.0
    progress = tqdm(
        starts,
        desc=f"epoch {epoch}",
        unit="batch",
        file=sys.stderr,
        mininterval=PROGRESS_MININTERVAL_S,
    )
    for start in progress:
        # Sorted rows read a memory map sequentially; order within a batch does not matter.
        index = np.sort(order[start : start + settings.batch_size])
        patches = augment_batch(_gather_patches(images, index, device), augment_rng)
        inputs = to_model_input(patches)
        targets = torch.from_numpy(labels[index]).float().to(device)
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(index)
    return total_loss / len(order)


def train_classifier(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    settings: TrainSettings,
    device: torch.device | str,
) -> TrainedClassifier:
    """Fit on train, keep the epoch with the best val balanced accuracy (ties: lower val loss),
    stop after ``settings.patience`` epochs without improvement. Same seed, same weights on CPU."""
    device = torch.device(device)
    train_labels = np.asarray(train_labels).astype(np.int64)
    val_labels = np.asarray(val_labels).astype(np.int64)
    for split, images, labels in (
        ("train", train_images, train_labels),
        ("val", val_images, val_labels),
    ):
        if len(images) != len(labels):
            raise ValueError(f"{split}: {len(images)} images but {len(labels)} labels")
    n_train, n_val = _class_counts(train_labels, "train"), _class_counts(val_labels, "val")
    pos_weight = n_train["0"] / n_train["1"]

    torch.manual_seed(settings.seed)  # weight init and dropout
    shuffle_rng = np.random.default_rng(settings.seed)
    augment_rng = torch.Generator().manual_seed(settings.seed)
    model = build_classifier(settings.arch).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight, device=device))
    val_loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))  # on CPU logits
    val_targets = torch.from_numpy(val_labels).float()
    log.info(
        "training %s on %s: train %s, val %s, pos_weight %.3f, settings %s",
        settings.arch,
        device,
        n_train,
        n_val,
        pos_weight,
        asdict(settings),
    )

    history: list[dict] = []
    best_key, best_epoch, best_threshold, best_state = None, 0, None, None
    for epoch in range(1, settings.max_epochs + 1):
        started = time.perf_counter()
        train_loss = _train_one_epoch(
            model,
            train_images,
            train_labels,
            settings,
            optimizer,
            loss_fn,
            shuffle_rng,
            augment_rng,
            device,
            epoch,
        )
        val_logits = _predict_logits(model, val_images, settings.batch_size, device)
        val_loss = val_loss_fn(val_logits, val_targets).item()
        val_probabilities = torch.sigmoid(val_logits).numpy()
        threshold = (
            tune_threshold(val_labels, val_probabilities)
            if settings.threshold == TUNED_THRESHOLD
            else float(settings.threshold)
        )
        val = classification_metrics(val_labels, val_probabilities, threshold)
        # Higher balanced accuracy wins; on a tie, the lower val loss.
        key = (val["balanced_accuracy"], -val_loss)
        improved = best_key is None or key > best_key
        if improved:
            best_key, best_epoch, best_threshold = key, epoch, threshold
            best_state = copy.deepcopy(model.state_dict())
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_threshold": threshold,
                "val_balanced_accuracy": val["balanced_accuracy"],
                "val_roc_auc": val["roc_auc"],
                "seconds": time.perf_counter() - started,
            }
        )
        log.info(
            "epoch %d/%d: train loss %.4f, val loss %.4f, val balanced acc %.4f, "
            "val ROC AUC %.4f, threshold %.3f, %.1f s%s",
            epoch,
            settings.max_epochs,
            train_loss,
            val_loss,
            val["balanced_accuracy"],
            val["roc_auc"],
            threshold,
            history[-1]["seconds"],
            " (best)" if improved else "",
        )
        if epoch - best_epoch >= settings.patience:
            log.info("early stop: no improvement for %d epochs", settings.patience)
            break

    model.load_state_dict(best_state)
    model.eval()
    history_table = pd.DataFrame(history)
    history_table["is_best"] = history_table["epoch"] == best_epoch
    history_table = history_table[list(HISTORY_COLUMNS)]
    info = {
        "arch": settings.arch,
        "seed": settings.seed,
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "threshold": best_threshold,
        "threshold_rule": "tuned on val" if settings.threshold == TUNED_THRESHOLD else "fixed",
        "n_train": n_train,
        "n_val": n_val,
        "pos_weight": pos_weight,
        "device": str(device),
        "torch_version": torch.__version__,
        "settings": asdict(settings),
    }
    log.info("kept epoch %d of %d, threshold %.3f", best_epoch, len(history), best_threshold)
    return TrainedClassifier(model=model, history=history_table, info=info)


def save_classifier(trained: TrainedClassifier, weights_path: Path, info_path: Path) -> None:
    """Weights as safetensors (no pickle: loading a results folder never runs code) + JSON info."""
    weights_path, info_path = Path(weights_path), Path(info_path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    info_path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        name: tensor.detach().cpu().contiguous()
        for name, tensor in trained.model.state_dict().items()
    }
    save_file(state, str(weights_path))
    info_path.write_text(json.dumps(trained.info, indent=2) + "\n")


def load_classifier(
    weights_path: Path, info_path: Path, device: torch.device | str
) -> tuple[nn.Module, dict]:
    """The model in eval mode on ``device``, and its info dict."""
    info = json.loads(Path(info_path).read_text())
    model = build_classifier(info["arch"])
    model.load_state_dict(load_file(str(weights_path)))
    return model.to(device).eval(), info


def prediction_table(
    table: pd.DataFrame, probabilities: np.ndarray, threshold: float, arm: str, seed: int
) -> pd.DataFrame:
    """One row per test patch: its identity and label, P(IDC), and the thresholded call."""
    predictions = table[["row", "patient", "x", "y", "label"]].reset_index(drop=True)
    predictions.insert(0, "seed", seed)
    predictions.insert(0, "arm", arm)
    predictions["probability"] = probabilities
    predictions["threshold"] = threshold
    predictions["predicted"] = (probabilities >= threshold).astype(np.int64)
    return predictions[list(PREDICTION_COLUMNS)]
