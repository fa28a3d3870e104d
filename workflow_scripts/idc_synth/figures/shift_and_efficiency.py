"""Figures of the secondary questions: robustness to test-time shift, the data-efficiency map
and the learning curve of the sweep."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.figures.style import Style, _arm_order, _figure, _message, _save
from idc_synth.metrics import METRIC_LABELS


def plot_robustness(robustness: pd.DataFrame, path: Path, style: Style = Style()) -> Path:
    """The primary metric vs perturbation strength, one panel per perturbation, one line per
    arm: clean (open marker, 'none') then each strength, mean over seeds with its two-level
    interval over patients and seeds (no bar where it is undefined)."""
    perturbations = list(dict.fromkeys(robustness["perturbation"]))
    arms = _arm_order(robustness["arm"])
    metric = robustness["metric"].iloc[0] if len(robustness) else ""
    figure, axes = _figure(style, 1, max(1, len(perturbations)), 2.8 * len(perturbations), 3.2)
    for ax, perturbation in zip(axes[0], perturbations, strict=False):
        rows = robustness[robustness["perturbation"] == perturbation]
        strengths = list(dict.fromkeys(rows["strength"]))
        offsets = np.linspace(-0.12, 0.12, len(arms)) if len(arms) > 1 else np.zeros(1)
        for offset, arm in zip(offsets, arms, strict=True):
            arm_rows = rows[rows["arm"] == arm].set_index("strength").reindex(strengths)
            clean = float((arm_rows["mean"] - arm_rows["degradation"]).iloc[0])
            x = np.arange(len(strengths) + 1) + offset
            y = np.r_[clean, arm_rows["mean"].to_numpy(float)]
            low = np.r_[np.nan, arm_rows["ci_low"].to_numpy(float)]
            high = np.r_[np.nan, arm_rows["ci_high"].to_numpy(float)]
            color = style.color(arm)
            ax.plot(x, y, "-", color=color, linewidth=1.0, label=arm)
            ax.plot(x[:1], y[:1], "o", mfc="white", color=color, markersize=4)
            ax.plot(x[1:], y[1:], "o", color=color, markersize=4)
            defined = ~np.isnan(low) & ~np.isnan(high)
            ax.vlines(x[defined], low[defined], high[defined], color=color, linewidth=1.0)
        ax.set_xticks(range(len(strengths) + 1), ["none", *[f"{s:g}" for s in strengths]])
        ax.set(title=perturbation.replace("_", " / "), xlabel="strength")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(METRIC_LABELS.get(metric, metric).replace("\n", " "))
    axes[0][0].legend(frameon=False, fontsize=style.font_size - 1)
    return _save(figure, path, style)


def _efficiency_generators(efficiency: pd.DataFrame) -> list[str]:
    return [arm for arm in _arm_order(efficiency["arm"]) if arm != "baseline"]


def plot_efficiency(efficiency: pd.DataFrame, path: Path, style: Style = Style()) -> Path:
    """The data-efficiency map, one heatmap per generator: real fraction (rows) x synthetic
    ratio (columns), coloured by the primary-metric difference from the fraction's real-only
    classifier; each cell prints the difference (descriptive: the map decides through its
    declared contrasts, idc_synth.sweep.efficiency_contrasts)."""
    generators = _efficiency_generators(efficiency)
    cells = efficiency[efficiency["arm"].isin(generators)]
    metric = efficiency["metric"].iloc[0] if len(efficiency) else ""
    fractions = sorted(cells["real_fraction"].unique())
    ratios = sorted(cells["synthetic_ratio"].unique())
    limit = float(np.nanmax(np.abs(cells["difference"].to_numpy(float)), initial=0.0)) or 0.01
    figure, axes = _figure(
        style,
        1,
        max(1, len(generators)),
        max(1, len(generators)) * (0.9 * len(ratios) + 1.4) + 1.4,
        0.5 * len(fractions) + 1.8,
    )
    image = None
    for ax, generator in zip(axes[0], generators, strict=False):
        rows = cells[cells["arm"] == generator]
        grid = rows.pivot(index="real_fraction", columns="synthetic_ratio", values="difference")
        grid = grid.reindex(index=fractions, columns=ratios)
        image = ax.imshow(
            grid.to_numpy(float), cmap="RdBu", vmin=-limit, vmax=limit, origin="lower"
        )
        for row in rows.itertuples():
            i, j = fractions.index(row.real_fraction), ratios.index(row.synthetic_ratio)
            text = "–" if pd.isna(row.difference) else f"{row.difference:+.3f}"
            dark = not pd.isna(row.difference) and abs(row.difference) > 0.6 * limit
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=style.font_size - 1,
                color="white" if dark else "black",
            )
        ax.set_xticks(range(len(ratios)), [f"{r:g}" for r in ratios])
        ax.set_yticks(range(len(fractions)), [f"{f:g}" for f in fractions])
        ax.set(title=generator, xlabel="synthetic ratio")
    axes[0][0].set_ylabel("real train fraction")
    figure.suptitle(
        "synthetic patches per class = ratio x the fraction's real ones", y=0.02, va="top"
    )
    if image is not None:
        label = METRIC_LABELS.get(metric, metric).replace("\n", " ")
        figure.colorbar(image, ax=axes[0].tolist(), label=f"{label}: difference vs real only")
    else:
        _message(axes[0][0], "no generator in the sweep")
    return _save(figure, path, style)


def plot_learning_curve(efficiency: pd.DataFrame, path: Path, style: Style = Style()) -> Path:
    """The primary metric vs real train patches (log axis), one panel per generator, one line
    per synthetic ratio (0: the real-only classifiers, in the baseline colour), mean over seeds
    with its interval over patients and seeds (no bar where it is undefined)."""
    generators = _efficiency_generators(efficiency) or ["baseline"]
    metric = efficiency["metric"].iloc[0] if len(efficiency) else ""
    real_only = efficiency[efficiency["arm"] == "baseline"]
    figure, axes = _figure(style, 1, len(generators), 3.2 * len(generators), 3.0, sharey=True)
    for ax, generator in zip(axes[0], generators, strict=True):
        rows = efficiency[efficiency["arm"] == generator]
        ratios = sorted(rows["synthetic_ratio"].unique())
        lines = [("real only", real_only, style.color("baseline"), 1.0)]
        lines += [
            (
                f"ratio {ratio:g}",
                rows[rows["synthetic_ratio"] == ratio],
                style.color(generator),
                0.35 + 0.65 * (k + 1) / len(ratios),
            )
            for k, ratio in enumerate(ratios)
        ]
        for k, (label, line, color, alpha) in enumerate(lines):
            line = line.sort_values("real_train_patches")
            # lines side by side around each size (log axis: a relative offset)
            dodge = 1 + 0.025 * (k - (len(lines) - 1) / 2)
            x = line["real_train_patches"].to_numpy(float) * dodge
            y = line["value"].to_numpy(float)
            low, high = (line[c].to_numpy(float) for c in ("value_ci_low", "value_ci_high"))
            ax.plot(x, y, "o-", color=color, alpha=alpha, markersize=3.5, linewidth=1, label=label)
            defined = ~np.isnan(low) & ~np.isnan(high)
            ax.vlines(x[defined], low[defined], high[defined], color=color, alpha=alpha)
        ax.set_xscale("log")
        sizes = sorted(real_only["real_train_patches"].unique())
        ax.set_xticks(sizes, [f"{size:,}" for size in sizes])
        ax.minorticks_off()
        ax.set(title=generator, xlabel="real train patches")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=style.font_size - 1)
    axes[0][0].set_ylabel(METRIC_LABELS.get(metric, metric).replace("\n", " "))
    return _save(figure, path, style)
