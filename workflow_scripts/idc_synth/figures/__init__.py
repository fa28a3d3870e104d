"""The study's figures, one function per family, each drawn from tables, predictions or shards.

Nothing here trains or scores anything: restyling a figure reruns one cheap rule. Every family
has a plain function taking data by keyword (testable from tiny hand-made tables), listed in
`registry.FAMILIES` with the named inputs it reads; `render` reads a rule's input files and
calls it. Modules by topic: style (shared look and helpers), classification, synthetic_images,
training, shift_and_efficiency.
"""

import matplotlib

matplotlib.use("Agg")  # before any module of the package imports pyplot

from idc_synth.figures.classification import (  # noqa: E402
    plot_calibration_simulation,
    plot_confusion,
    plot_curves,
    plot_metrics,
    plot_per_patient,
    plot_reliability,
)
from idc_synth.figures.registry import FAMILIES, read_file, render  # noqa: E402
from idc_synth.figures.shift_and_efficiency import (  # noqa: E402
    plot_efficiency,
    plot_learning_curve,
    plot_robustness,
)
from idc_synth.figures.style import DEFAULTS, Style  # noqa: E402
from idc_synth.figures.synthetic_images import (  # noqa: E402
    draw_closest_pairs,
    draw_samples,
    plot_closest_pairs,
    plot_quality,
    plot_samples,
)
from idc_synth.figures.training import plot_training  # noqa: E402

__all__ = [
    "DEFAULTS",
    "FAMILIES",
    "Style",
    "draw_closest_pairs",
    "draw_samples",
    "plot_calibration_simulation",
    "plot_closest_pairs",
    "plot_confusion",
    "plot_curves",
    "plot_efficiency",
    "plot_learning_curve",
    "plot_metrics",
    "plot_per_patient",
    "plot_quality",
    "plot_reliability",
    "plot_robustness",
    "plot_samples",
    "plot_training",
    "read_file",
    "render",
]
