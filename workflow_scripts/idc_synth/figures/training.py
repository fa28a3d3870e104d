"""The training figure: generator losses and snapshot quality, classifier validation curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

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


def plot_training(
    histories: Sequence[pd.DataFrame],
    runs: Sequence[tuple[str, int]],
    path: Path,
    style: Style = Style(),
    losses: Mapping[str, pd.DataFrame] | None = None,
    quality: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """GAN losses per model, the diffusion loss per phase, classifier validation curves (one
    history table per run, `runs` naming each one's (arm, seed) in the same order), and each
    generator's snapshots scored against held-out train with the real-train floor dotted.
    `losses` and `quality` are keyed "diffusion" or "dcgan_<model>"."""
    losses = dict(losses or {})
    diffusion_losses = losses.pop("diffusion", None)
    gan_losses = {key.removeprefix("dcgan_"): table for key, table in losses.items()}
    generator_quality = quality
    by_run = {
        (str(arm), int(seed)): table for (arm, seed), table in zip(runs, histories, strict=True)
    }
    _set_fonts(style)
    figure = plt.figure(figsize=(9.0, 9.0), layout="constrained")
    top, bottom = figure.subfigures(2, 1, height_ratios=[2, 1])
    axes = top.subplots(2, 2, squeeze=False)
    gan_ax, diffusion_ax = axes[0]
    loss_ax, score_ax = axes[1]
    progress_axes = bottom.subplots(1, len(PROGRESS_PANELS), squeeze=False)[0]
    _plot_progress(progress_axes, generator_quality, style)
    line_styles = ("-", "--", ":", "-.")
    if gan_losses:
        for index, (model, losses) in enumerate(gan_losses.items()):
            window = max(1, len(losses) // 50)
            for column, color in (("loss_d", "#0072B2"), ("loss_g", "#D55E00")):
                gan_ax.plot(
                    losses["step"],
                    _smooth(losses[column].to_numpy(dtype=float), window),
                    color=color,
                    linestyle=line_styles[index % len(line_styles)],
                    linewidth=1.0,
                    label=f"{model} {column}",
                )
        gan_ax.set(xlabel="step", ylabel="loss", title="DCGAN losses (smoothed)")
        gan_ax.legend(frameon=False, fontsize=style.font_size - 2)
        gan_ax.grid(alpha=0.3)
    else:
        _message(gan_ax, "no DCGAN in this study")
    if diffusion_losses is not None and len(diffusion_losses):
        for phase, rows in diffusion_losses.groupby("phase", sort=False):
            diffusion_ax.plot(
                rows["step"],
                _smooth(rows["loss"].to_numpy(dtype=float), max(1, len(rows) // 50)),
                linewidth=1.0,
                label=str(phase),
            )
        diffusion_ax.set(xlabel="step", ylabel="loss", title="Diffusion losses (smoothed)")
        diffusion_ax.set_yscale("log")
        diffusion_ax.legend(frameon=False)
        diffusion_ax.grid(alpha=0.3)
    else:
        _message(diffusion_ax, "no diffusion model in this study")
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
        ax.set(xlabel="step (diffusion: UNet step)", title=title)
        ax.grid(alpha=0.3)
    axes[2].set_yscale("log")
    axes[0].set_ylabel("vs held-out train (dotted: real train)")
    axes[0].legend(frameon=False, fontsize=style.font_size - 2)
