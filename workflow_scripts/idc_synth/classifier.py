"""Train, save, load and apply an IDC patch classifier on packed uint8 splits.

Train fits the weights, val picks the evaluation period (and early-stops), test is only ever
predicted. Training is resumable from a checkpoint per period.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from idc_synth.augment import augment_batch, mixup, stain_jitter
from idc_synth.batches import IndexedImages, prefetch
from idc_synth.checkpoint import (
    capture_rng,
    data_digest,
    restore_rng,
    resume,
    save_checkpoint,
)
from idc_synth.defaults import schema_defaults
from idc_synth.metrics import classification_metrics, tune_threshold
from idc_synth.models import ARCHITECTURES, build_classifier, to_model_input
from idc_synth.runtime import log_progress

log = logging.getLogger(__name__)

# The decision threshold: "val" picks, per evaluation period, the one with the best val balanced
# accuracy (a classifier trained on synthetic patches may score real ones off-centre); a number
# fixes it. The kept period's threshold goes into the info file, which prediction reads.
TUNED_THRESHOLD = "val"
# classifier.budget: "steps" gives every arm the optimizer steps of max_epochs epochs of the real
# train split, so arms differ only in their data; "epochs" gives each max_epochs epochs of its
# own training set (an arm with more patches gets more steps).
STEP_BUDGET = "steps"
BUDGETS = (STEP_BUDGET, "epochs")
PREFETCH_BATCHES = 2  # batches gathered and augmented ahead of the model, on a thread
HISTORY_COLUMNS = (
    "epoch",  # the evaluation period: an epoch, or with the step budget an epoch-equivalent
    "optimizer_steps",  # taken by the end of the period
    "budget_steps",
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
    "synthetic_draw",
    "generator_realization",
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
    threshold: float | str = schema_defaults("classifier")["threshold"]
    budget: str = schema_defaults("classifier")["budget"]
    # With the steps budget: steps per evaluation period, fixed; None: one epoch of the real
    # train split (a fixed period bounds a run's cost whatever the size of the data root).
    period_steps: int | None = schema_defaults("classifier")["period_steps"]
    # Classic augmentation of a comparison arm (0 / False: off; the baseline's dihedral flips
    # always apply): HED stain jitter strength, mixup's Beta alpha, class-balanced sampling.
    stain_strength: float = 0.0
    mixup_alpha: float = 0.0
    balance_classes: bool = False

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
        if self.budget not in BUDGETS:
            raise ValueError(f"budget must be one of {BUDGETS}, got {self.budget!r}")
        if self.period_steps is not None and self.budget != STEP_BUDGET:
            raise ValueError(
                f"period_steps ({self.period_steps}) needs budget {STEP_BUDGET!r}, got "
                f"{self.budget!r}; set period_steps to null or budget to {STEP_BUDGET!r}"
            )
        for name in ("max_epochs", "batch_size", "patience", "period_steps"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"TrainSettings.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("stain_strength", "mixup_alpha"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainSettings.{name} must be >= 0, got {getattr(self, name)}")


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


@dataclass(frozen=True)
class StepPlan:
    """How many optimizer steps a run may take and when it is evaluated on val."""

    steps_per_pass: int  # batches in one pass over this run's training set (last one ragged)
    period_steps: int  # steps between two val evaluations: one epoch of the reference set
    budget_steps: int  # the most steps: max_epochs periods

    @classmethod
    def of(cls, n_train: int, reference_size: int, settings: TrainSettings) -> StepPlan:
        """``budget`` steps: periods are epochs of ``reference_size`` patches (the real train
        split), or ``period_steps`` if set, so every arm gets the same steps whatever synthetic
        patches it adds; ``epochs``: periods are epochs of this run's own training set."""
        steps_per_pass = math.ceil(n_train / settings.batch_size)
        reference = reference_size if settings.budget == STEP_BUDGET else n_train
        period_steps = settings.period_steps or math.ceil(reference / settings.batch_size)
        return cls(steps_per_pass, period_steps, settings.max_epochs * period_steps)


def _pass_order(labels: np.ndarray, seed: int, data_pass: int, balance: bool) -> np.ndarray:
    """Each pass's order derives from (seed, pass) alone, so a resumed run needs no saved
    permutation to continue the same order mid-pass: a shuffle, or with ``balance`` as many
    rows drawn with replacement, each class with probability 1/2 (class-balanced sampling)."""
    rng = np.random.default_rng([seed, data_pass])
    if not balance:
        return rng.permutation(len(labels))
    weights = 1 / np.bincount(labels, minlength=2)[labels]
    return rng.choice(len(labels), size=len(labels), p=weights / weights.sum())


def _batch_rows(
    labels: np.ndarray, settings: TrainSettings, plan: StepPlan, first: int, last: int
) -> Iterator[np.ndarray]:
    """Sorted rows of optimizer steps first+1 .. last (1-based); passes follow each other, each
    ending with its ragged batch, so with periods of one pass this is plain epoch training."""
    order, order_pass = None, None
    for step in range(first, last):
        data_pass, batch = divmod(step, plan.steps_per_pass)
        if data_pass != order_pass:
            order = _pass_order(labels, settings.seed, data_pass, settings.balance_classes)
            order_pass = data_pass
        # Sorted rows read a memory map sequentially; order within a batch does not matter.
        yield np.sort(order[batch * settings.batch_size : (batch + 1) * settings.batch_size])


class _Run:
    """Everything a training run carries from period to period, and its checkpoint round trip."""

    def __init__(
        self, settings: TrainSettings, plan: StepPlan, data: str, device: torch.device
    ) -> None:
        self.settings, self.plan, self.data, self.device = settings, plan, data, device
        torch.manual_seed(settings.seed)  # weight init and dropout
        self.augment_rng = torch.Generator().manual_seed(settings.seed)
        # Own streams for the classic augmentations: the stain stream is drawn on the prefetch
        # thread, the mixup stream on the training thread.
        self.stain_rng = np.random.default_rng([settings.seed, 1])
        self.mixup_rng = np.random.default_rng([settings.seed, 2])
        self.model = build_classifier(settings.arch).to(device)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
        )
        self.step = 0
        self.history: list[dict] = []
        # The best period so far: (val balanced accuracy, -val loss) key, period, step,
        # threshold and a copy of the weights.
        self.best: dict | None = None

    @property
    def period(self) -> int:
        return len(self.history)

    def finished(self) -> bool:
        """Budget spent, or ``patience`` periods without a better val score."""
        stalled = self.best is not None and (
            self.period - self.best["period"] >= self.settings.patience
        )
        return stalled or self.step >= self.plan.budget_steps

    def identity(self) -> dict:
        """What a checkpoint must match to be resumed: same settings, budget and data."""
        return {
            "settings": asdict(self.settings),
            "plan": asdict(self.plan),
            "data": self.data,
        }

    def state(self) -> dict:
        return {
            **self.identity(),
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": capture_rng(),
            "augment_rng": self.augment_rng.get_state(),
            "classic_rng": [rng.bit_generator.state for rng in (self.stain_rng, self.mixup_rng)],
            "history": self.history,
            "best": self.best,
        }

    def record(self, row: dict, threshold: float) -> bool:
        """Append a period's history row; it becomes the best period (its weights copied) when
        its val balanced accuracy is higher, or equal with a lower val loss. True if it did."""
        key = [row["val_balanced_accuracy"], -row["val_loss"]]
        improved = self.best is None or key > self.best["key"]
        if improved:
            self.best = {
                "key": key,
                "period": self.period + 1,
                "step": self.step,
                "threshold": threshold,
                "state": copy.deepcopy(self.model.state_dict()),
            }
        self.history.append(row)
        return improved

    def kept_model(self) -> nn.Module:
        """The model with the best period's weights, in eval mode."""
        self.model.load_state_dict(self.best["state"])
        return self.model.eval()

    def history_table(self) -> pd.DataFrame:
        table = pd.DataFrame(self.history)
        table["is_best"] = table["epoch"] == self.best["period"]
        return table[list(HISTORY_COLUMNS)]

    def restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        restore_rng(state["rng"])
        self.augment_rng.set_state(state["augment_rng"])
        for rng, saved in zip((self.stain_rng, self.mixup_rng), state["classic_rng"], strict=True):
            rng.bit_generator.state = saved
        self.step = int(state["step"])
        self.history = state["history"]
        self.best = state["best"]


def _period_batches(
    run: _Run, images: np.ndarray | IndexedImages, labels: np.ndarray, last: int, device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Augmented batches of steps run.step+1 .. last, in step order: the augmentation stream is
    consumed exactly as without prefetching, so a prefetched run is bit-identical."""
    strength = run.settings.stain_strength
    for index in _batch_rows(labels, run.settings, run.plan, run.step, last):
        batch = np.ascontiguousarray(images[index])
        if strength:
            batch = stain_jitter(batch, strength, run.stain_rng)
        patches = augment_batch(torch.from_numpy(batch).to(device), run.augment_rng)
        yield patches, torch.from_numpy(labels[index]).float().to(device)


def _train_period(
    run: _Run,
    images: np.ndarray | IndexedImages,
    labels: np.ndarray,
    loss_fn: nn.Module,
    device: torch.device,
) -> tuple[float, float]:
    """One evaluation period of optimizer steps; returns the mean training loss per patch and
    the seconds the model waited for batches. Gathering and augmentation run on a thread,
    PREFETCH_BATCHES ahead of the model."""
    run.model.train()
    last = min(run.step + run.plan.period_steps, run.plan.budget_steps)
    total_loss, seen, waited = 0.0, 0, 0.0
    progress = log_progress(
        prefetch(_period_batches(run, images, labels, last, device), PREFETCH_BATCHES),
        total=last - run.step,
        desc=f"period {run.period + 1}",
        unit="batch",
    )
    batches = iter(progress)
    while True:
        started = time.perf_counter()
        batch = next(batches, None)
        waited += time.perf_counter() - started
        if batch is None:
            break
        patches, targets = batch
        inputs = to_model_input(patches)
        if run.settings.mixup_alpha:
            inputs, targets = mixup(inputs, targets, run.settings.mixup_alpha, run.mixup_rng)
        loss = loss_fn(run.model(inputs), targets)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        total_loss += loss.item() * len(targets)
        seen += len(targets)
    run.step = last
    return total_loss / seen, waited


def _checked_labels(images, labels, split: str) -> tuple[np.ndarray, dict[str, int]]:
    """A split's labels as int64 with their class counts; one label per image."""
    labels = np.asarray(labels).astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{split}: {len(images)} images but {len(labels)} labels")
    return labels, _class_counts(labels, split)


def _positive_weight(settings: TrainSettings, n_train: dict[str, int]) -> float:
    """The loss weight of IDC patches: the class ratio, so both classes weigh alike; 1 with
    class-balanced sampling, which already weighs them alike (the loss must not again)."""
    return 1.0 if settings.balance_classes else n_train["0"] / n_train["1"]


def _budget_reference(reference_size: int | None, n_train: int) -> int:
    """The patch count the step budget derives from: given, or this training set's."""
    reference_size = n_train if reference_size is None else reference_size
    if reference_size < 1:
        raise ValueError(f"the step budget needs a reference size >= 1, got {reference_size}")
    return reference_size


def _data_identity(
    train_images: np.ndarray | IndexedImages,
    train_labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
) -> str:
    """The digest of the data a checkpoint must match (each train part as given, labels, val)."""
    train_arrays = (
        train_images.part_arrays() if isinstance(train_images, IndexedImages) else [train_images]
    )
    return data_digest(*train_arrays, train_labels, val_images, val_labels)


def _start(run: _Run, state_path: Path | None) -> None:
    """Continue a matching checkpoint at ``state_path``, if there is one."""
    if resume(run, state_path):
        log.info(
            "resuming from step %d of %d (period %d, checkpoint %s)",
            run.step,
            run.plan.budget_steps,
            run.period,
            state_path,
        )
    else:
        log.info("starting from step 0 of %d", run.plan.budget_steps)


@dataclass(frozen=True)
class _Evaluation:
    loss: float
    threshold: float
    balanced_accuracy: float
    roc_auc: float


class _Validation:
    """The val split as each period's evaluation sees it: loss (weighted as in training, on
    CPU logits), threshold (tuned on val or fixed) and the scores at that threshold."""

    def __init__(
        self, images: np.ndarray, labels: np.ndarray, pos_weight: float, settings: TrainSettings
    ) -> None:
        self.images, self.labels, self.settings = images, labels, settings
        self.targets = torch.from_numpy(labels).float()
        self.loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))

    def evaluate(self, model: nn.Module, device: torch.device) -> _Evaluation:
        logits = _predict_logits(model, self.images, self.settings.batch_size, device)
        probabilities = torch.sigmoid(logits).numpy()
        threshold = (
            tune_threshold(self.labels, probabilities)
            if self.settings.threshold == TUNED_THRESHOLD
            else float(self.settings.threshold)
        )
        scores = classification_metrics(self.labels, probabilities, threshold)
        return _Evaluation(
            loss=self.loss_fn(logits, self.targets).item(),
            threshold=threshold,
            balanced_accuracy=float(scores["balanced_accuracy"]),
            roc_auc=float(scores["roc_auc"]),
        )


def _run_period(
    run: _Run,
    images: np.ndarray | IndexedImages,
    labels: np.ndarray,
    loss_fn: nn.Module,
    validation: _Validation,
) -> None:
    """One evaluation period: train, evaluate on val, record it (and whether it is the best
    so far) in the run's history, and log it."""
    started = time.perf_counter()
    train_loss, waited = _train_period(run, images, labels, loss_fn, run.device)
    train_seconds = time.perf_counter() - started
    val = validation.evaluate(run.model, run.device)
    row = {
        "epoch": run.period + 1,
        "optimizer_steps": run.step,
        "budget_steps": run.plan.budget_steps,
        "train_loss": train_loss,
        "val_loss": val.loss,
        "val_threshold": val.threshold,
        "val_balanced_accuracy": val.balanced_accuracy,
        "val_roc_auc": val.roc_auc,
    }
    improved = run.record(row | {"seconds": time.perf_counter() - started}, val.threshold)
    log.info(
        "period %d/%d (step %d/%d): train loss %.4f, val loss %.4f, val balanced acc %.4f, "
        "val ROC AUC %.4f, threshold %.3f, %.1f s (data wait %.1f%% of training)%s",
        run.period,
        run.settings.max_epochs,
        run.step,
        run.plan.budget_steps,
        train_loss,
        val.loss,
        val.balanced_accuracy,
        val.roc_auc,
        val.threshold,
        run.history[-1]["seconds"],
        100 * waited / train_seconds,
        " (best)" if improved else "",
    )


def _info(run: _Run, reference_size: int, n_train: dict, n_val: dict, pos_weight: float) -> dict:
    """The info file of a finished run: the kept period, the budget, the data, the settings."""
    settings, plan, best = run.settings, run.plan, run.best
    return {
        "arch": settings.arch,
        "seed": settings.seed,
        "best_epoch": best["period"],
        "best_step": best["step"],
        "epochs_run": run.period,
        "budget": settings.budget,
        "budget_steps": plan.budget_steps,
        "budget_reference_size": reference_size,
        "steps_per_period": plan.period_steps,
        "optimizer_steps": run.step,
        "data_passes": run.step / plan.steps_per_pass,
        "threshold": best["threshold"],
        "val_scores": {
            "balanced_accuracy": best["key"][0],
            "roc_auc": run.history[best["period"] - 1]["val_roc_auc"],
        },
        "threshold_rule": "tuned on val" if settings.threshold == TUNED_THRESHOLD else "fixed",
        "n_train": n_train,
        "n_val": n_val,
        "pos_weight": pos_weight,
        "device": str(run.device),
        "torch_version": torch.__version__,
        "settings": asdict(settings),
    }


def train_classifier(
    train_images: np.ndarray | IndexedImages,
    train_labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    settings: TrainSettings,
    device: torch.device | str,
    *,
    reference_size: int | None = None,
    state_path: Path | None = None,
) -> TrainedClassifier:
    """Fit on train in evaluation periods (see StepPlan; ``reference_size``: the patch count
    the step budget derives from, default this training set's), keep the period with the best
    val balanced accuracy (ties: lower val loss), stop after ``settings.patience`` periods
    without improvement or when the budget is spent. Same seed, same weights on CPU.

    With ``state_path`` the run state is checkpointed atomically after every period, and a
    checkpoint there from the same settings, budget and data is continued: model, optimizer,
    RNG streams, history, best period and step are restored and each pass's batch order
    derives from (seed, pass), so a resumed run ends bit-identical to an uninterrupted one
    (on the CPU with the same thread count); a stale one is ignored with a warning.
    """
    device = torch.device(device)
    train_labels, n_train = _checked_labels(train_images, train_labels, "train")
    val_labels, n_val = _checked_labels(val_images, val_labels, "val")
    pos_weight = _positive_weight(settings, n_train)
    reference_size = _budget_reference(reference_size, len(train_labels))
    plan = StepPlan.of(len(train_labels), reference_size, settings)
    data = _data_identity(train_images, train_labels, val_images, val_labels)
    run = _Run(settings, plan, data, device)
    _start(run, state_path)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight, device=device))
    validation = _Validation(val_images, val_labels, pos_weight, settings)
    log.info(
        "training %s on %s: train %s, val %s, pos_weight %.3f, %s budget of %d steps in "
        "periods of %d (%d steps per pass over the training set), settings %s",
        settings.arch,
        device,
        n_train,
        n_val,
        pos_weight,
        settings.budget,
        plan.budget_steps,
        plan.period_steps,
        plan.steps_per_pass,
        asdict(settings),
    )
    while not run.finished():
        _run_period(run, train_images, train_labels, loss_fn, validation)
        if state_path is not None:
            save_checkpoint(state_path, run.state())
        if run.finished() and run.step < plan.budget_steps:
            log.info("early stop: no improvement for %d periods", settings.patience)

    model = run.kept_model()
    info = _info(run, reference_size, n_train, n_val, pos_weight)
    log.info(
        "kept period %d of %d (step %d), %d of %d budgeted steps taken, threshold %.3f",
        run.best["period"],
        run.period,
        run.best["step"],
        run.step,
        plan.budget_steps,
        run.best["threshold"],
    )
    return TrainedClassifier(model=model, history=run.history_table(), info=info)


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


@dataclass(frozen=True)
class Predictor:
    """A trained classifier loaded for prediction, with the arm and seed that name its rows."""

    arm: str
    seed: int
    model: nn.Module
    info: dict
    device: torch.device

    @classmethod
    def load(
        cls, arm: str, seed: int, weights: Path, info: Path, device: torch.device | str
    ) -> Predictor:
        model, model_info = load_classifier(weights, info, device)
        return cls(arm, seed, model, model_info, torch.device(device))

    def predict(self, images: np.ndarray, table: pd.DataFrame, batch_size: int) -> pd.DataFrame:
        """The prediction table of ``images`` (the rows of ``table``) at the classifier's own
        (val-chosen) threshold."""
        probabilities = predict_probabilities(self.model, images, batch_size, self.device)
        return prediction_table(
            table,
            probabilities,
            self.info["threshold"],
            self.arm,
            self.seed,
            self.info["synthetic_draw"],
            self.info["generator_realization"],
        )


def prediction_table(
    table: pd.DataFrame,
    probabilities: np.ndarray,
    threshold: float,
    arm: str,
    seed: int,
    synthetic_draw: int,
    generator_realization: int,
) -> pd.DataFrame:
    """One row per test patch: its identity and label, P(IDC), and the thresholded call; the
    classifier's arm, seed, synthetic draw and the generator realization that sampled it (-1:
    none) name it."""
    predictions = table[["row", "patient", "x", "y", "label"]].reset_index(drop=True)
    predictions.insert(0, "generator_realization", np.int64(generator_realization))
    predictions.insert(0, "synthetic_draw", np.int64(synthetic_draw))
    predictions.insert(0, "seed", seed)
    predictions.insert(0, "arm", arm)
    predictions["probability"] = probabilities
    predictions["threshold"] = threshold
    predictions["predicted"] = (probabilities >= threshold).astype(np.int64)
    return predictions[list(PREDICTION_COLUMNS)]
