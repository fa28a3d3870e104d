"""Synthetic-image figures: sample grids, image quality against the floor and the shift, and
the closest synthetic-train pairs of the memorisation check."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from idc_synth.figures.style import Style, _figure, _message, _save
from idc_synth.grids import tile
from idc_synth.quality.keys import pairs_by_space


def plot_samples(
    train_images: np.ndarray,
    train_table: pd.DataFrame,
    manifest: Mapping[str, Path],
    path: Path,
    style: Style = Style(),
    grid_samples: int = 16,
    sample_seed: int = 0,
) -> Path:
    """Real train patches beside each generator's reference draw (its synthetic `manifest`,
    by generator), as a grid per class (`draw_samples`)."""
    from idc_synth.synthetic import REFERENCE_DRAW, load_synthetic

    sources = {"real": (train_images, train_table["label"].to_numpy())}
    for generator, manifest_path in manifest.items():
        sources[generator] = load_synthetic(manifest_path, REFERENCE_DRAW)
    return draw_samples(sources, path, style, n_per_class=int(grid_samples), seed=int(sample_seed))


def draw_samples(
    sources: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: Path,
    style: Style = Style(),
    n_per_class: int = 16,
    seed: int = 0,
) -> Path:
    """A grid of patches per class (rows) and source (columns: real, then each generator).

    `sources` maps a name to (uint8 images (N, 50, 50, 3), labels); patches are a seeded
    random choice per source and class.
    """
    names = list(sources)
    figure, axes = _figure(style, 2, len(names), 2.4 * len(names), 5.0)
    columns = max(1, math.ceil(math.sqrt(n_per_class)))
    for column, name in enumerate(names):
        images, labels = sources[name]
        labels = np.asarray(labels)
        for label in (0, 1):
            ax = axes[label, column]
            rows = np.flatnonzero(labels == label)
            if rows.size == 0:
                _message(ax, "no patches")
            else:
                rng = np.random.default_rng([seed, label, column])
                chosen = np.sort(rng.choice(rows, min(n_per_class, rows.size), replace=False))
                ax.imshow(tile(np.asarray(images[chosen]), columns=columns))
                ax.set_xticks([])
                ax.set_yticks([])
            if label == 0:
                ax.set_title(name, color=style.color(name))
            if column == 0:
                ax.set_ylabel("IDC" if label else "non-IDC")
    return _save(figure, path, style)


QUALITY_PANELS = (
    ("fid", "FID (lower is better; \u25c6 FID\u221e)"),
    ("kid", "KID (lower is better)"),
    ("precision", "precision (fidelity)"),
    ("recall", "recall (diversity)"),
    ("density", "density (fidelity; ~1: like real)"),
    ("coverage", "coverage (diversity)"),
)
SPECTRAL_PANELS = (
    ("spectral_distance", "power-spectrum distance\n(log10, lower is better)"),
    ("spike_ratio", "periodic grid spike ratio\n(log scale; a grid: >> the floor)"),
)
QUALITY_REFERENCES = {"holdout": "held-out train (floor)", "real_val": "val patients (shift)"}


def _set_look(name: str, style: Style) -> dict:
    """Both real reference sets in the 'real' colour; the floor hatched."""
    colour = style.color("real" if name in QUALITY_REFERENCES else name)
    return {"facecolor": colour, "hatch": "//" if name == "holdout" else None}


def _quality_sets(table: pd.DataFrame) -> list[str]:
    """Generators first, then the floor and the shift."""
    names = list(dict.fromkeys(table["generator"].astype(str)))
    return [n for n in names if n not in QUALITY_REFERENCES] + [
        n for n in QUALITY_REFERENCES if n in names
    ]


def _quality_bars(
    ax,
    rows: pd.DataFrame,
    sets: list[str],
    metric: str,
    style: Style,
    *,
    interval: tuple[str, str] | None = None,
    marker: str | None = None,
    expected: str | None = None,
    n_column: str = "n",
    show_n: bool = True,
):
    """One group per class, one bar per set; a missing or skipped value is an empty slot
    marked 'n/a' at the axis foot, a measured zero is marked '0'."""
    labels = sorted(rows["label"].astype(str).unique())
    width = 0.8 / max(1, len(sets))
    for offset, name in enumerate(sets):
        for group, label in enumerate(labels):
            match = rows[
                (rows["generator"].astype(str) == name) & (rows["label"].astype(str) == label)
            ]
            x = group - 0.4 + width * (offset + 0.5)
            value = pd.to_numeric(match[metric], errors="coerce").iloc[0] if len(match) else np.nan
            ok = len(match) and str(match["status"].iloc[0]).startswith("ok") and np.isfinite(value)
            if not ok:
                ax.text(x, 0, "n/a", ha="center", va="bottom", size=6, color="0.5")
                continue
            ax.bar(x, value, width, **_set_look(name, style), edgecolor="white")
            if interval:
                low, high = (pd.to_numeric(match[c], errors="coerce").iloc[0] for c in interval)
                if np.isfinite(low) and np.isfinite(high):  # undefined: no bar, not a zero one
                    # drawn on its own: a bias-corrected interval need not contain the value
                    centre, half = (low + high) / 2, (high - low) / 2
                    ax.errorbar(x, centre, yerr=half, fmt="none", ecolor="black", capsize=2)
            if value == 0:  # a measured zero, not a missing bar
                ax.text(
                    x,
                    0,
                    "0",
                    ha="center",
                    va="bottom",
                    size=7,
                    color=_set_look(name, style)["facecolor"],
                )
            if marker in match:
                marker_value = pd.to_numeric(match[marker], errors="coerce").iloc[0]
                if np.isfinite(marker_value):
                    ax.plot(x, max(marker_value, 0), "D", color="black", markersize=3)
            if expected in match:
                expected_value = pd.to_numeric(match[expected], errors="coerce").iloc[0]
                ax.hlines(
                    expected_value, x - width / 2, x + width / 2, color="black", linestyles=":"
                )
    ns = [
        rows.loc[
            (rows["label"].astype(str) == label) & (rows["status"] == "ok"),
            n_column,
        ]
        for label in labels
    ]
    ticks = [
        f"class {label}" + (f"\nn={int(n.max())}" if len(n) and show_n else "")
        for label, n in zip(labels, ns, strict=True)
    ]
    ax.set_xticks(range(len(labels)), ticks, size=max(6, style.font_size - 1))
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.grid(axis="y", alpha=0.3)


def _interval(table: pd.DataFrame, metric: str) -> tuple[str, str] | None:
    """The patient-bootstrap interval columns of a metric, when the table has them."""
    columns = (f"{metric}_low", f"{metric}_high")
    return columns if all(column in table for column in columns) else None


def plot_quality(image_quality: pd.DataFrame, path: Path, style: Style = Style()) -> Path:
    """FID, KID, precision, recall, density and coverage per class, one row per feature space
    that has values, all bars of a class at the same n; the spectral fidelity (pixel rows); then
    the near-copy shares (classifier and pixel space) with their CIs and the expected
    false-flag rate (dotted). Error bars: the patient-level bootstrap intervals. Each generator
    stands next to held-out train (hatched: what a perfect generator matches) and val (the
    patient shift). A feature space whose rows were all skipped (Inception without weights) is
    named in the caption line, not drawn as empty panels."""
    table = image_quality.astype({"label": str})
    table["status"] = table["status"].astype(str)
    sets = _quality_sets(table) if len(table) else []
    ok = table["status"].str.startswith("ok")
    spaces = [
        space
        for space in dict.fromkeys(table["feature_space"])
        if space != "pixels" and (ok & (table["feature_space"] == space)).any()
    ]
    skipped = sorted(
        {
            f"{space}: {table.loc[table['feature_space'] == space, 'status'].iloc[0]}"
            for space in dict.fromkeys(table["feature_space"])
            if space != "pixels" and space not in spaces
        }
    )
    columns = len(QUALITY_PANELS)
    n_rows = len(spaces) + 2
    figure, axes = _figure(style, n_rows, columns, 3.0 * columns, 2.9 * n_rows)
    for row_index, space in enumerate(spaces):
        rows = table[table["feature_space"] == space]
        for column, (metric, title) in enumerate(QUALITY_PANELS):
            ax = axes[row_index, column]
            marker = "fid_inf" if metric == "fid" else None
            interval = _interval(rows, metric)
            _quality_bars(ax, rows, sets, metric, style, interval=interval, marker=marker)
            ax.set_title(f"{title}\n[{space} features]")
            if metric in ("precision", "recall", "coverage"):
                ax.set_ylim(0, 1.05)
    spectral_axes = axes[len(spaces)]
    pixel_rows = table[table["feature_space"] == "pixels"]
    for ax, (metric, title) in zip(spectral_axes[:2], SPECTRAL_PANELS, strict=True):
        if metric not in pixel_rows or pixel_rows[metric].isna().all():
            _message(ax, f"no {metric.replace('_', ' ')}")
            continue
        interval = _interval(pixel_rows, metric)
        _quality_bars(ax, pixel_rows, sets, metric, style, interval=interval)
        ax.set_title(f"{title}\n[pixels, grey level]")
        if metric == "spike_ratio":
            ax.set_yscale("log")
    copy_axes = axes[len(spaces) + 1]
    for ax, space in zip(copy_axes[:2], ("classifier", "pixels"), strict=True):
        rows = table[(table["feature_space"] == space) & (table["generator"] != "holdout")]
        if rows.empty or rows["near_copy_share"].isna().all():
            _message(ax, f"no near-copy check in {space} space")
            continue
        copy_sets = [name for name in sets if name != "holdout"]
        _quality_bars(
            ax,
            rows,
            copy_sets,
            "near_copy_share",
            style,
            interval=("near_copy_low", "near_copy_high"),
            expected="near_copy_expected",
            show_n=False,
        )
        ax.set_ylim(bottom=0)
        ax.set_title(f"near copies of train patches\n[{space} space; dotted: expected if fresh]")
    for ax in copy_axes[2:]:
        ax.axis("off")
    legend_ax = spectral_axes[2]
    legend_ax.axis("off")
    handles = [
        plt.Rectangle((0, 0), 1, 1, edgecolor="white", **_set_look(name, style)) for name in sets
    ]
    legend_ax.legend(
        handles, [QUALITY_REFERENCES.get(name, name) for name in sets], loc="center", frameon=False
    )
    note_ax = spectral_axes[3]
    note_ax.axis("off")
    notes = [
        "all bars of a class: same n",
        "\u25c6 FID\u221e: FID extrapolated to n \u2192 \u221e",
        "error bars: patient-level bootstrap",
    ]
    if skipped:
        notes += ["not drawn:"] + [textwrap.fill(line, 38) for line in skipped]
    note_ax.text(
        0,
        0.5,
        "\n".join(notes),
        va="center",
        size=max(6, style.font_size - 2),
        transform=note_ax.transAxes,
    )
    if not spaces and table.empty:
        _message(axes[0, 0], "no image-quality rows")
    return _save(figure, path, style)


COPIED = "copied beyond the floor"


def plot_closest_pairs(
    pairs: Mapping[str, Mapping[str, np.ndarray]],
    memorization: pd.DataFrame,
    path: Path,
    style: Style = Style(),
    closest_pairs: int = 8,
) -> Path:
    """One row per generator and copy space: `pairs` holds each generator's npz arrays (named
    by `idc_synth.quality.keys.pair_key`); the patients `memorization` finds copied beyond the
    floor are marked (`draw_closest_pairs`)."""
    named = {
        f"{generator} [{space}]": fields
        for generator, data in pairs.items()
        for space, fields in pairs_by_space(dict(data)).items()
    }
    flagged: dict[str, set[str]] = {}
    table = memorization.astype({"patient": str})
    for row in table[table["verdict"] == COPIED].itertuples():
        flagged.setdefault(f"{row.generator} [{row.feature_space}]", set()).add(row.patient)
    return draw_closest_pairs(named, path, style, n_pairs=int(closest_pairs), flagged=flagged)


def draw_closest_pairs(
    pairs: Mapping[str, Mapping[str, np.ndarray]],
    path: Path,
    style: Style = Style(),
    n_pairs: int = 8,
    flagged: Mapping[str, set[str]] | None = None,
) -> Path:
    """Per set and copy space (keys like ``dcgan [pixels]``), its patches closest to a train
    patch (top) above that train patch (bottom), with their distance: the worst offenders of
    the memorisation check. Under each pair its train patient (when the pairs name it), in red
    where ``flagged`` (same keys) lists the patient as copied beyond the held-out floor."""
    names = list(pairs) or ["(none)"]
    figure, axes = _figure(style, len(names), 1, 1.1 * n_pairs + 1, 2.6 * len(names))
    for ax, name in zip(axes[:, 0], names, strict=True):
        if name not in pairs or len(pairs[name]["synthetic"]) == 0:
            _message(ax, f"{name}: no pairs")
            continue
        distances = np.asarray(pairs[name]["distances"], dtype=float)
        order = np.argsort(distances, kind="stable")[:n_pairs]
        synthetic = np.asarray(pairs[name]["synthetic"])[order]
        train = np.asarray(pairs[name]["train"])[order]
        gap = 2
        ax.imshow(tile(np.concatenate([synthetic, train]), columns=len(order), gap=gap))
        step = synthetic.shape[2] + gap
        for index, distance in enumerate(distances[order]):
            ax.text(
                index * step + synthetic.shape[2] / 2,
                -3,
                f"{distance:.3g}",
                ha="center",
                va="bottom",
                size=max(6, style.font_size - 2),
            )
        if "patient" in pairs[name]:
            _label_patients(
                ax,
                np.asarray(pairs[name]["patient"])[order],
                step,
                synthetic.shape,
                (flagged or {}).get(name, set()),
                style,
            )
        ax.set_xticks([])
        ax.set_yticks(
            [synthetic.shape[1] / 2, synthetic.shape[1] * 1.5 + gap], ["synthetic", "train"]
        )
        ax.set_title(f"{name}: closest synthetic-train pairs (distance above)", pad=14)
    return _save(figure, path, style)


def _label_patients(ax, patients, step: float, shape, flagged: set[str], style: Style) -> None:
    """Each pair's train patient under it; a patient copied beyond the floor in red, bold."""
    for index, patient in enumerate(patients):
        copied = str(patient) in flagged
        ax.text(
            index * step + shape[2] / 2,
            2 * shape[1] + 4,
            str(patient),
            ha="center",
            va="top",
            size=max(6, style.font_size - 3),
            color="tab:red" if copied else "black",
            weight="bold" if copied else "normal",
        )
