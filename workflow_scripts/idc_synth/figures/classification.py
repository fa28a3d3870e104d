"""Classification figures: metrics by arm, confusion matrices, ROC/PR curves, test patients,
reliability, and the calibration simulation of the decision rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from idc_synth.figures.style import Style, _arm_order, _figure, _save
from idc_synth.inference import POWER
from idc_synth.metrics import METRIC_LABELS
from idc_synth.simulation import METRIC as SIMULATED_METRIC
from idc_synth.statistics import TEST_METRICS


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
    ax.set_title(
        f"Test metrics by arm (mean over seeds, {metrics_interval(summary_ci)}; dots: seeds)"
    )
    ax.grid(axis="y", alpha=0.3)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(figure, path, style)


def metrics_interval(summary_ci: pd.DataFrame) -> str:
    """What the bars of plot_metrics are: the interval, or why none is drawn."""
    if np.isfinite(summary_ci[["ci_low", "ci_high"]].to_numpy(dtype=float)).any():
        return "CI over patients and seeds"
    patients = int(summary_ci["n_patients"].iloc[0]) if len(summary_ci) else 0
    return f"no CI: undefined with {patients} test patient(s)"


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


def plot_per_patient(
    per_patient: pd.DataFrame, primary_metric: str, path: Path, style: Style = Style()
) -> Path:
    """Forest plot: one row per test patient (worst baseline at the top), the arms side by
    side; a dot is the mean over seeds, its bar the range over seeds. Patients with an undefined
    metric (one class) are listed with an empty row."""
    metric = primary_metric
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
    predictions: pd.DataFrame, ece_bins: int, path: Path, style: Style = Style()
) -> Path:
    """Reliability diagram per arm (sklearn's calibration_curve, equal-width bins): one line
    per seed, the diagonal is perfect calibration; below it, how many patches each bin holds."""
    from sklearn.calibration import calibration_curve  # ~1 s: this figure only

    arms = _arm_order(predictions["arm"])
    figure, axes = _figure(
        style, 2, len(arms), 3.0 * len(arms), 4.4, height_ratios=(3, 1), sharex=True
    )
    n_bins = int(ece_bins)
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


def plot_calibration_simulation(
    calibration_simulation: pd.DataFrame, path: Path, style: Style = Style()
) -> Path:
    """The simulated decisions at this run's design (idc_synth.simulation.design_grid). Left:
    the primary decision's rejection rate against the planted difference, one line per variance
    scenario, with alpha (dashed) and the target power (dotted). Right: every read's
    family-wise rate with no difference. Bars: 2 Monte Carlo standard errors. The scenarios are
    not arms: they take the `figures.colors` palette in order, so a restyled palette reaches
    this figure too."""
    table = calibration_simulation
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
