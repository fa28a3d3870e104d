"""What every figure family shares: the `figures:` style options, saving, fonts and the small
drawing helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt

from idc_synth.arms import arm_sort_key
from idc_synth.defaults import schema_defaults

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
