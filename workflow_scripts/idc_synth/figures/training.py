"""The training figure: generator losses and snapshot quality, classifier validation curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from idc_synth.arms import GENERATORS
from idc_synth.figures.style import Style, _message, _save, _set_fonts


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < window:
        return values
    return pd.Series(values).rolling(window, min_periods=1).mean().to_numpy()


PROGRESS_PANELS = (
    ("fid_pixels", "pixel FID (10 px blocks)"),
    ("spectral_distance", "spectral distance (log10 power)"),
    ("spike_ratio", "periodic spike ratio (grid)"),
)


# A loss series' colour, by its place among its table's series (for a GAN: loss_d, loss_g).
LOSS_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")
LINE_STYLES = ("-", "--", ":", "-.")


def plot_training(
    histories: Sequence[pd.DataFrame],
    runs: Sequence[tuple[str, int]],
    path: Path,
    style: Style = Style(),
    losses: Mapping[str, pd.DataFrame] | None = None,
    quality: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Each generator's training losses (one panel per generator), classifier validation curves
    (one history table per run, `runs` naming each one's (arm, seed) in the same order), and
    each generator's snapshots scored against held-out train with the real-train floor dotted.
    `losses` and `quality` are keyed "<generator>" or "<generator>_<job>" (e.g. "dcgan_class0",
    one per training job)."""
    by_generator = _by_generator(losses or {})
    by_run = {
        (str(arm), int(seed)): table for (arm, seed), table in zip(runs, histories, strict=True)
    }
    _set_fonts(style)
    figure = plt.figure(figsize=(9.0, 9.0), layout="constrained")
    top, bottom = figure.subfigures(2, 1, height_ratios=[2, 1])
    generator_row, classifier_row = top.subfigures(2, 1)
    generator_axes = generator_row.subplots(1, max(1, len(by_generator)), squeeze=False)[0]
    loss_ax, score_ax = classifier_row.subplots(1, 2, squeeze=False)[0]
    progress_axes = bottom.subplots(1, len(PROGRESS_PANELS), squeeze=False)[0]
    _plot_progress(progress_axes, quality, style)
    for ax, (generator, tables) in zip(generator_axes, by_generator.items(), strict=False):
        _plot_losses(ax, generator, tables, style)
    if not by_generator:
        _message(generator_axes[0], "no generator in this study")
    seen: set[str] = set()
    for (arm, _seed), history in sorted(by_run.items()):
        label = arm if arm not in seen else None
        seen.add(arm)
        color = style.color(arm)
        loss_ax.plot(history["epoch"], history["val_loss"], color=color, label=label)
        loss_ax.plot(history["epoch"], history["train_loss"], color=color, alpha=0.4, ls="--")
        score_ax.plot(history["epoch"], history["val_balanced_accuracy"], color=color, label=label)
        best = history[history["is_best"].astype(str).str.lower() == "true"]
        score_ax.scatter(best["epoch"], best["val_balanced_accuracy"], color=color, s=14)
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Classifier loss (val solid, train dashed)")
    score_ax.set(
        xlabel="epoch", ylabel="balanced accuracy", title="Classifier validation (dot: best)"
    )
    for ax in (loss_ax, score_ax):
        if by_run:
            ax.legend(frameon=False)
        ax.grid(alpha=0.3)
    return _save(figure, path, style)


def _plot_progress(axes, tables: Mapping[str, pd.DataFrame] | None, style: Style) -> None:
    """Score per snapshot step, one line per generator (colour) and class (solid: 0, dashed:
    1); dotted: the same score of real train patches (the floor)."""
    tables = {key: table for key, table in (tables or {}).items() if len(table)}
    if not tables:
        _message(axes[0], "no generator snapshots scored\n(quality.progress_patches: 0)")
        for ax in axes[1:]:
            ax.axis("off")
        return
    for ax, (score, title) in zip(axes, PROGRESS_PANELS, strict=True):
        for key, table in tables.items():
            colour = style.color(key.split("_")[0])
            for label, rows in table.groupby("label", sort=True):
                dashes = "-" if int(label) == 0 else "--"
                name = key.replace("_", " ")
                name += f", class {label}" if table["label"].nunique() > 1 else ""
                ax.plot(rows["step"], rows[score], dashes, color=colour, marker=".", label=name)
                floor = rows[f"{score}_floor"].iloc[0]
                ax.axhline(floor, color=colour, linestyle=":", linewidth=0.8)
        ax.set(xlabel="step (a phased generator: its last phase's)", title=title)
        ax.grid(alpha=0.3)
    axes[2].set_yscale("log")
    axes[0].set_ylabel("vs held-out train (dotted: real train)")
    axes[0].legend(frameon=False, fontsize=style.font_size - 2)


def _by_generator(losses: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, pd.DataFrame]]:
    """generator -> job -> losses table, generators in GENERATORS order ("" for its one job)."""
    grouped: dict[str, dict[str, pd.DataFrame]] = {}
    for generator in GENERATORS:
        for key, table in losses.items():
            if key == generator or key.startswith(f"{generator}_"):
                job = key.removeprefix(generator).removeprefix("_")
                grouped.setdefault(generator, {})[job] = table
    unknown = set(losses) - {
        f"{generator}_{job}".rstrip("_") for generator, jobs in grouped.items() for job in jobs
    }
    if unknown:
        raise ValueError(f"losses of no generator in {GENERATORS}: {sorted(unknown)}")
    return grouped


def _plot_losses(ax, generator: str, tables: Mapping[str, pd.DataFrame], style: Style) -> None:
    """A generator's smoothed losses: per training job (line style) each `loss*` column, or
    for a table with a `phase` column (networks trained in turn, e.g. an autoencoder then a
    UNet) its `loss` per phase, on a log scale as the phases' losses differ by decades."""
    phased = False
    for index, (job, table) in enumerate(tables.items()):
        if "phase" in table:
            phased = True
            series = [
                (str(phase), rows, "loss") for phase, rows in table.groupby("phase", sort=False)
            ]
        else:
            columns = [column for column in table.columns if column.startswith("loss")]
            series = [(column, table, column) for column in columns]
        for number, (name, rows, column) in enumerate(series):
            ax.plot(
                rows["step"],
                _smooth(rows[column].to_numpy(dtype=float), max(1, len(rows) // 50)),
                color=LOSS_COLORS[number % len(LOSS_COLORS)],
                linestyle=LINE_STYLES[index % len(LINE_STYLES)],
                linewidth=1.0,
                label=f"{job} {name}".strip(),
            )
    ax.set(xlabel="step", ylabel="loss", title=f"{generator} losses (smoothed)")
    if phased:
        ax.set_yscale("log")
    ax.legend(frameon=False, fontsize=style.font_size - 2)
    ax.grid(alpha=0.3)
