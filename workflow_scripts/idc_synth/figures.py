"""The study's figures, one function per family, each drawn from tables, predictions or shards.

Nothing here trains or scores anything: restyling a figure reruns one cheap rule. Every family
has a plain function taking data (testable from tiny hand-made tables) and an entry in
`FAMILIES` that reads the rule's named input files and calls it (`render`).

Named inputs follow one convention: `<kind>_<key>`, e.g. `manifest_dcgan`, `pairs_diffusion`,
`losses_dcgan_class0`, `history_baseline_seed0`; single tables are named after themselves.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from idc_synth.arms import arm_sort_key  # noqa: E402
from idc_synth.defaults import schema_defaults  # noqa: E402
from idc_synth.grids import tile  # noqa: E402
from idc_synth.inference import POWER  # noqa: E402
from idc_synth.metrics import METRIC_LABELS  # noqa: E402
from idc_synth.simulation import METRIC as SIMULATED_METRIC  # noqa: E402
from idc_synth.statistics import TEST_METRICS  # noqa: E402

DEFAULTS = schema_defaults("figures")
FALLBACK_COLORS = ("#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


@dataclass(frozen=True)
class Style:
    """The `figures:` options every family shares."""

    dpi: int = DEFAULTS["dpi"]
    font_size: float = DEFAULTS["font_size"]
    colors: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULTS["colors"]))

    def color(self, name: str) -> str:
        name = "real" if name.startswith("real") else name
        if name in self.colors:
            return self.colors[name]
        return FALLBACK_COLORS[sum(map(ord, name)) % len(FALLBACK_COLORS)]

    @classmethod
    def from_options(cls, options: Mapping) -> Style:
        colors = {**DEFAULTS["colors"], **dict(options.get("colors") or {})}
        return cls(
            dpi=int(options.get("dpi", DEFAULTS["dpi"])),
            font_size=float(options.get("font_size", DEFAULTS["font_size"])),
            colors=colors,
        )


def _save(figure: plt.Figure, path: Path, style: Style) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=style.dpi, bbox_inches="tight")
    plt.close(figure)
    return path


def _set_fonts(style: Style) -> None:
    plt.rcParams.update({"font.size": style.font_size, "axes.titlesize": style.font_size + 1})


def _figure(style: Style, rows: int, columns: int, width: float, height: float, **kwargs):
    _set_fonts(style)
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(rows, columns, figsize=(width, height), squeeze=False, **kwargs)


def _arm_order(arms) -> list[str]:
    return sorted(set(arms), key=arm_sort_key)


def _message(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


# ---------------------------------------------------------------------------------------------
# Families


def plot_metrics(
    summary_ci: pd.DataFrame, classification: pd.DataFrame, path: Path, style: Style = Style()
) -> Path:
    """Each metric by arm: mean over seeds with its interval, and every seed as a dot."""
    metrics = [metric for metric in TEST_METRICS if metric in set(summary_ci["metric"])]
    arms = _arm_order(summary_ci["arm"])
    figure, axes = _figure(style, 1, 1, 1.2 + 1.0 * len(metrics), 3.2)
    ax = axes[0, 0]
    width = 0.8 / max(1, len(arms))
    for index, arm in enumerate(arms):
        rows = summary_ci[summary_ci["arm"] == arm].set_index("metric").reindex(metrics)
        x = np.arange(len(metrics)) + (index - (len(arms) - 1) / 2) * width
        means = rows["mean"].to_numpy(dtype=float)
        errors = np.abs(rows[["ci_low", "ci_high"]].to_numpy(dtype=float).T - means)
        ax.errorbar(
            x,
            means,
            yerr=np.nan_to_num(errors),
            fmt="o",
            color=style.color(arm),
            capsize=3,
            label=arm,
        )
        seeds = classification[classification["arm"] == arm]
        for offset, metric in enumerate(metrics):
            if metric in seeds:
                values = seeds[metric].to_numpy(dtype=float)
                ax.scatter(
                    np.full(len(values), x[offset] + width * 0.25),
                    values,
                    s=8,
                    color=style.color(arm),
                    alpha=0.5,
                    linewidths=0,
                )
    ax.set_xticks(
        np.arange(len(metrics)), [textwrap.fill(METRIC_LABELS.get(m, m), 10) for m in metrics]
    )
    ax.set_ylabel("test metric")
    ax.set_title("Test metrics by arm (mean over seeds, CI over patients and seeds; dots: seeds)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(figure, path, style)


def plot_confusion(classification: pd.DataFrame, path: Path, style: Style = Style()) -> Path:
    """Confusion matrix per arm, summed over seeds, coloured by the share of each true class."""
    arms = _arm_order(classification["arm"])
    figure, axes = _figure(style, 1, len(arms), 2.6 * len(arms), 2.6)
    for ax, arm in zip(axes[0], arms, strict=True):
        rows = classification[classification["arm"] == arm]
        counts = np.array(
            [[rows["tn"].sum(), rows["fp"].sum()], [rows["fn"].sum(), rows["tp"].sum()]],
            dtype=float,
        )
        totals = counts.sum(axis=1, keepdims=True)
        shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for (i, j), count in np.ndenumerate(counts):
            ax.text(
                j,
                i,
                f"{int(count)}\n{shares[i, j]:.1%}",
                ha="center",
                va="center",
                color="white" if shares[i, j] > 0.6 else "black",
            )
        ax.set_xticks([0, 1], ["non-IDC", "IDC"])
        ax.set_yticks([0, 1], ["non-IDC", "IDC"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{arm} ({len(rows)} seeds summed)", color=style.color(arm))
    return _save(figure, path, style)


def plot_curves(predictions: pd.DataFrame, path: Path, style: Style = Style()) -> Path:
    """ROC and precision-recall curves on the test split, one thin line per arm and seed."""
    from sklearn.metrics import precision_recall_curve, roc_curve  # ~1 s: this figure only

    figure, axes = _figure(style, 1, 2, 8.0, 3.6)
    roc_ax, pr_ax = axes[0]
    arms = _arm_order(predictions["arm"])
    for arm in arms:
        for number, (_seed, rows) in enumerate(
            predictions[predictions["arm"] == arm].groupby("seed", sort=True)
        ):
            labels, scores = rows["label"].to_numpy(), rows["probability"].to_numpy()
            if np.unique(labels).size < 2:
                continue
            fpr, tpr, _ = roc_curve(labels, scores)
            precision, recall, _ = precision_recall_curve(labels, scores)
            label = arm if number == 0 else None
            kwargs = {"color": style.color(arm), "alpha": 0.8, "linewidth": 1.0, "label": label}
            roc_ax.plot(fpr, tpr, **kwargs)
            pr_ax.step(recall, precision, where="post", **kwargs)
    roc_ax.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=0.8)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    prevalence = predictions.drop_duplicates("row")["label"].mean() if len(predictions) else 0
    pr_ax.axhline(prevalence, color="0.7", linestyle=":", linewidth=0.8)
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    for ax in (roc_ax, pr_ax):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, loc="lower right" if ax is roc_ax else "lower left")
    return _save(figure, path, style)


def plot_samples(
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


def _quality_bars(ax, rows: pd.DataFrame, sets: list[str], metric: str, style: Style, **extra):
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
            if extra.get("interval"):
                low, high = (
                    pd.to_numeric(match[c], errors="coerce").iloc[0] for c in extra["interval"]
                )
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
            if extra.get("marker") in match:
                marker = pd.to_numeric(match[extra["marker"]], errors="coerce").iloc[0]
                if np.isfinite(marker):
                    ax.plot(x, max(marker, 0), "D", color="black", markersize=3)
            if extra.get("expected") in match:
                expected = pd.to_numeric(match[extra["expected"]], errors="coerce").iloc[0]
                ax.hlines(expected, x - width / 2, x + width / 2, color="black", linestyles=":")
    ns = [
        rows.loc[
            (rows["label"].astype(str) == label) & (rows["status"] == "ok"),
            extra.get("n_column", "n"),
        ]
        for label in labels
    ]
    ticks = [
        f"class {label}" + (f"\nn={int(n.max())}" if len(n) and extra.get("show_n", True) else "")
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
    table = image_quality.copy()
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
    gan_losses: Mapping[str, pd.DataFrame],
    diffusion_losses: pd.DataFrame | None,
    histories: Mapping[tuple[str, int], pd.DataFrame],
    path: Path,
    style: Style = Style(),
    generator_quality: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """GAN losses per model, the diffusion loss per phase, classifier validation curves, and
    each generator's snapshots scored against held-out train (``generator_quality``, keyed
    "<generator>" or "<generator>_<model>") with the real-train floor dotted."""
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
    for (arm, _seed), history in sorted(histories.items()):
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
        if histories:
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


def plot_closest_pairs(
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


def plot_per_patient(per_patient: pd.DataFrame, metric: str, path: Path, style: Style = Style()):
    """Forest plot: one row per test patient (worst baseline at the top), the arms side by
    side; a dot is the mean over seeds, its bar the range over seeds. Patients with an undefined
    metric (one class) are listed with an empty row."""
    arms = _arm_order(per_patient["arm"])
    by_seed = per_patient.pivot_table(
        index="patient", columns=["arm", "seed"], values=metric, aggfunc="mean", dropna=False
    )
    means = per_patient.groupby(["patient", "arm"])[metric].mean().unstack("arm")
    reference = means[arms[0]] if arms else pd.Series(dtype=float)
    patients = list(reference.sort_values(ascending=False, na_position="first").index)
    figure, axes = _figure(style, 1, 1, 6.0, 1.2 + 0.32 * len(patients))
    ax = axes[0][0]
    offsets = np.linspace(-0.25, 0.25, len(arms)) if len(arms) > 1 else np.zeros(1)
    for offset, arm in zip(offsets, arms, strict=True):
        values = by_seed[arm].reindex(patients) if arm in by_seed else None
        if values is None:
            continue
        y = np.arange(len(patients)) + offset
        low, high = values.min(axis=1).to_numpy(), values.max(axis=1).to_numpy()
        center = means[arm].reindex(patients).to_numpy()
        ax.hlines(y, low, high, color=style.color(arm), linewidth=1.2)
        ax.plot(center, y, "o", color=style.color(arm), markersize=4, label=arm)
    counts = per_patient.drop_duplicates("patient").set_index("patient")
    ax.set_yticks(
        np.arange(len(patients)),
        [
            f"{patient} (n={counts.loc[patient, 'n_patches']}, IDC {counts.loc[patient, 'n_idc']})"
            for patient in patients
        ],
    )
    ax.set_xlabel(f"{METRIC_LABELS.get(metric, metric).replace(chr(10), ' ')} per patient")
    ax.set_title("Test patients: mean over seeds (dot) and seed range (bar)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(figure, path, style)


def plot_reliability(
    predictions: pd.DataFrame, n_bins: int, path: Path, style: Style = Style()
) -> Path:
    """Reliability diagram per arm (sklearn's calibration_curve, equal-width bins): one line
    per seed, the diagonal is perfect calibration; below it, how many patches each bin holds."""
    from sklearn.calibration import calibration_curve  # ~1 s: this figure only

    arms = _arm_order(predictions["arm"])
    figure, axes = _figure(
        style, 2, len(arms), 3.0 * len(arms), 4.4, height_ratios=(3, 1), sharex=True
    )
    edges = np.linspace(0, 1, n_bins + 1)
    for column, arm in enumerate(arms):
        ax, hist_ax = axes[0][column], axes[1][column]
        for _seed, rows in predictions[predictions["arm"] == arm].groupby("seed", sort=True):
            observed, predicted = calibration_curve(
                rows["label"], rows["probability"], n_bins=n_bins, strategy="uniform"
            )
            ax.plot(predicted, observed, "o-", color=style.color(arm), alpha=0.8, markersize=3)
            hist_ax.hist(rows["probability"], bins=edges, color=style.color(arm), alpha=0.35)
        ax.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=0.8)
        ax.set(xlim=(0, 1), ylim=(0, 1), title=arm)
        ax.grid(alpha=0.3)
        hist_ax.set_xlabel("predicted P(IDC)")
        if column == 0:
            ax.set_ylabel("observed IDC share")
            hist_ax.set_ylabel("patches")
    return _save(figure, path, style)


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


def plot_calibration_simulation(table: pd.DataFrame, path: Path, style: Style = Style()) -> Path:
    """The simulated decisions at this run's design (idc_synth.simulation.design_grid). Left:
    the primary decision's rejection rate against the planted difference, one line per variance
    scenario, with alpha (dashed) and the target power (dotted). Right: every read's
    family-wise rate with no difference. Bars: 2 Monte Carlo standard errors. The scenarios are
    not arms: they take the `figures.colors` palette in order, so a restyled palette reaches
    this figure too."""
    alpha = float(table["alpha"].iloc[0])
    palette = list(style.colors.values())
    scenarios = list(dict.fromkeys(table["scenario"]))
    colour = {s: palette[k % len(palette)] for k, s in enumerate(scenarios)}
    small = style.font_size - 2
    figure, axes = _figure(style, 1, 2, 8.0, 3.4)
    power_ax, null_ax = axes[0]
    primary = table[table["read"] == "primary"]
    for scenario, rows in primary.groupby("scenario", sort=False):
        rows = rows.sort_values("true_difference")
        power_ax.errorbar(
            rows["true_difference"],
            rows["rejection_rate"],
            yerr=2 * rows["mc_se"],
            marker="o",
            capsize=3,
            color=colour[scenario],
            label=scenario,
        )
    power_ax.axhline(alpha, color="0.6", linestyle="--", linewidth=1)
    power_ax.axhline(POWER, color="0.6", linestyle=":", linewidth=1)
    power_ax.set(
        xlabel=f"planted difference in {SIMULATED_METRIC.replace('_', ' ')}",
        ylabel="share of studies deciding 'difference'",
        ylim=(0, 1.02),
    )
    power_ax.legend(fontsize=small, frameon=False)
    null = table[table["true_difference"] == 0]
    positions = np.arange(len(null))
    for position, row in zip(positions, null.itertuples(), strict=True):
        null_ax.errorbar(
            position,
            row.rejection_rate,
            yerr=2 * row.mc_se,
            fmt="o",
            capsize=3,
            color=colour[row.scenario],
        )
    null_ax.axhline(alpha, color="0.6", linestyle="--", linewidth=1, label=f"α = {alpha:g}")
    labels = [f"{row.read}\n{row.scenario}" for row in null.itertuples()]
    null_ax.set_xticks(positions, labels, fontsize=small, rotation=90)
    null_ax.set(ylabel="family-wise false positives", ylim=(0, max(0.15, 2 * alpha)))
    null_ax.legend(fontsize=small, frameon=False)
    first = table.iloc[0]
    figure.suptitle(
        f"{int(first['n_studies'])} simulated studies per point: {int(first['n_patients'])} "
        f"test patients, {int(first['n_seeds'])} seeds, {int(first['family_size'])} "
        "comparison(s)",
        fontsize=style.font_size,
    )
    return _save(figure, path, style)


# ---------------------------------------------------------------------------------------------
# From a rule's named input files


def _one(inputs: Mapping[str, Sequence[Path]], name: str) -> Path:
    paths = inputs[name]
    if len(paths) != 1:
        raise ValueError(f"input {name!r} should be one file, got {paths}")
    return Path(paths[0])


def _keyed(inputs: Mapping[str, Sequence[Path]], kind: str) -> dict[str, Path]:
    """`<kind>_<key>` inputs as {key: path}, in input order."""
    prefix = f"{kind}_"
    return {name[len(prefix) :]: _one(inputs, name) for name in inputs if name.startswith(prefix)}


def _read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def _render_metrics(inputs, path, style, options):
    return plot_metrics(
        _read_tsv(_one(inputs, "summary_ci")),
        _read_tsv(_one(inputs, "classification")),
        path,
        style,
    )


def _render_confusion(inputs, path, style, options):
    return plot_confusion(_read_tsv(_one(inputs, "classification")), path, style)


def _render_curves(inputs, path, style, options):
    columns = ["arm", "seed", "row", "label", "probability"]
    frames = [pd.read_parquet(p, columns=columns) for p in inputs["predictions"]]
    return plot_curves(pd.concat(frames, ignore_index=True), path, style)


def _render_samples(inputs, path, style, options):
    from idc_synth.pack import load_packed
    from idc_synth.synthetic import REFERENCE_DRAW, load_synthetic

    images, table = load_packed(_one(inputs, "train_images"), _one(inputs, "train_table"))
    sources = {"real": (images, table["label"].to_numpy())}
    for generator, manifest in _keyed(inputs, "manifest").items():
        sources[generator] = load_synthetic(manifest, REFERENCE_DRAW)
    return plot_samples(
        sources,
        path,
        style,
        n_per_class=int(options.get("grid_samples", 16)),
        seed=int(options.get("sample_seed", 0)),
    )


def _render_quality(inputs, path, style, options):
    table = _read_tsv(_one(inputs, "image_quality"))
    return plot_quality(table.astype({"label": str}), path, style)


def _render_training(inputs, path, style, options):
    gan = {key.replace("dcgan_", ""): _read_tsv(p) for key, p in _keyed(inputs, "losses").items()}
    diffusion = gan.pop("diffusion", None)
    histories = {}
    for key, history_path in _keyed(inputs, "history").items():
        arm, seed = key.rsplit("_seed", 1)
        histories[(arm, int(seed))] = _read_tsv(history_path)
    quality = {key: _read_tsv(p) for key, p in _keyed(inputs, "quality").items()}
    return plot_training(gan, diffusion, histories, path, style, generator_quality=quality)


def _render_closest_pairs(inputs, path, style, options):
    """One row per generator and copy space: the npz holds ``{space}_{key}`` arrays; the
    patients memorization.tsv finds copied beyond the floor are marked."""
    pairs = {}
    for generator, npz in _keyed(inputs, "pairs").items():
        with np.load(npz, allow_pickle=False) as data:
            spaces = [key.removesuffix("_distances") for key in data if key.endswith("_distances")]
            for space in spaces:
                keys = ("synthetic", "train", "distances", "patient")
                pairs[f"{generator} [{space}]"] = {
                    key: data[f"{space}_{key}"] for key in keys if f"{space}_{key}" in data
                }
    flagged: dict[str, set[str]] = {}
    if inputs.get("memorization"):
        table = _read_tsv(_one(inputs, "memorization")).astype({"patient": str})
        for row in table[table["verdict"] == "copied beyond the floor"].itertuples():
            flagged.setdefault(f"{row.generator} [{row.feature_space}]", set()).add(row.patient)
    n_pairs = int(options.get("closest_pairs", 8))
    return plot_closest_pairs(pairs, path, style, n_pairs=n_pairs, flagged=flagged)


def _render_per_patient(inputs, path, style, options):
    per_patient = _read_tsv(_one(inputs, "per_patient")).astype({"patient": str})
    return plot_per_patient(per_patient, str(options["primary_metric"]), path, style)


def _render_reliability(inputs, path, style, options):
    columns = ["arm", "seed", "row", "label", "probability"]
    frames = [pd.read_parquet(p, columns=columns) for p in inputs["predictions"]]
    return plot_reliability(
        pd.concat(frames, ignore_index=True), int(options["ece_bins"]), path, style
    )


def _render_robustness(inputs, path, style, options):
    return plot_robustness(_read_tsv(_one(inputs, "robustness")), path, style)


def _render_efficiency(inputs, path, style, options):
    return plot_efficiency(_read_tsv(_one(inputs, "efficiency")), path, style)


def _render_learning_curve(inputs, path, style, options):
    return plot_learning_curve(_read_tsv(_one(inputs, "efficiency")), path, style)


def _render_calibration_simulation(inputs, path, style, options):
    return plot_calibration_simulation(
        _read_tsv(_one(inputs, "calibration_simulation")), path, style
    )


Renderer = Callable[[Mapping[str, Sequence[Path]], Path, Style, Mapping], Path]
FAMILIES: dict[str, Renderer] = {
    "metrics": _render_metrics,
    "confusion": _render_confusion,
    "curves": _render_curves,
    "samples": _render_samples,
    "quality": _render_quality,
    "training": _render_training,
    "closest_pairs": _render_closest_pairs,
    "per_patient": _render_per_patient,
    "reliability": _render_reliability,
    "robustness": _render_robustness,
    "efficiency": _render_efficiency,
    "learning_curve": _render_learning_curve,
    "calibration_simulation": _render_calibration_simulation,
}


def render(family: str, inputs: Mapping[str, Sequence[Path]], path: Path, options: Mapping) -> Path:
    """Draw one figure family from a rule's named inputs and the `figures:` options."""
    if family not in FAMILIES:
        raise ValueError(f"unknown figure family {family!r}; known: {sorted(FAMILIES)}")
    return FAMILIES[family](inputs, Path(path), Style.from_options(options), options)
