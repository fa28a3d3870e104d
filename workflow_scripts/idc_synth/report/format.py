"""Number and table formatting shared by the summary's tables and template: an undefined interval is
written as "undefined (why)", never as numbers; a missing value as "–"."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from idc_synth.inference import P_BOUND


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def format_value(value, digits: int = 3) -> str:
    if value is None:
        return ""
    if value is pd.NA:  # a missing count in an integer column
        return "–"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "–"
        if value != 0 and abs(value) < 10 ** (-digits):
            return f"{value:.1e}"
        return f"{value:.{digits}f}"
    return str(value)


def p_value(value) -> str:
    """A p-value: below the test's resolution a bound ("< 1e-12"), never 0."""
    if not is_missing(value) and value < P_BOUND:
        return f"< {P_BOUND:.0e}"
    return format_value(value)


def signed(value: float) -> str:
    return f"{value:+.3f}" if not is_missing(value) else "–"


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped)."""
    if frame.empty:
        return "_(no rows)_"
    header = "| " + " | ".join(str(column) for column in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        cells = [format_value(value, digits).replace("|", "\\|") for value in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# Scoped to the summary's own box: the HTML report's front page includes the fragment, whose
# page styles must not change; wide tables scroll inside the page's narrow text column.
SUMMARY_STYLE = """
.idc-summary table { display: block; overflow-x: auto; border-collapse: collapse; }
.idc-summary th, .idc-summary td { border: 1px solid #d0d0d0; padding: 2px 6px; }
.idc-summary th { background: #f3f3f3; }
"""


def markdown_html(text: str) -> str:
    """Markdown (the summary) as a self-contained HTML fragment: CommonMark plus pipe tables,
    HTML in the text escaped, never passed through."""
    from markdown_it import MarkdownIt  # only write_summary renders HTML

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    return f'<div class="idc-summary">\n<style>{SUMMARY_STYLE}</style>\n{body}</div>\n'


def percent(level: float) -> str:
    """0.95 -> '95%', 0.975 -> '97.5%', 1 - 0.05 / 12 -> '99.58%' (four digits at most)."""
    return f"{100 * level:.4g}%"


def interval(low: float, high: float, reason: str = "") -> str:
    """'[low, high]', or 'undefined (reason)' when either end is missing or the interval has
    zero width: such an interval is never printed as numbers."""
    if is_missing(low) or is_missing(high) or low == high:
        why = reason or ("zero width" if not is_missing(low) and low == high else "no resamples")
        return f"undefined ({why.removeprefix('undefined: ')})"
    return f"[{format_value(float(low))}, {format_value(float(high))}]"
