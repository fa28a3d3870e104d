"""Rule write_summary: results/summary.md from the statistics, quality and cost tables (the
wording is idc_synth/report/summary.md.j2), and its HTML rendering, the HTML report's front
page (report/workflow.rst)."""

from pathlib import Path

from idc_synth.report.format import markdown_html
from idc_synth.report.summary import build_summary, read_split_info, read_tables
from idc_synth.runtime import rule_logging

# The rule's named inputs that are not tables; every other named input is one, read by its name.
NOT_TABLES = ("split_info",)


def main(
    *,
    tables: dict[str, Path | None],
    summary_path: Path,
    html_path: Path,
    alpha: float,
    data_source: str,
    arms: list[str],
    log: Path | None,
    split_info: Path | None = None,
) -> None:
    """`tables`: the study's tables by name (a table not produced is absent or None)."""
    with rule_logging(log) as logger:
        for name, path in tables.items():
            logger.info("read %s: %s", name, path)
        text = build_summary(
            read_tables(tables),
            alpha=alpha,
            data_source=data_source,
            arms=arms,
            split_info=read_split_info(split_info),
        )
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(text)
        html_path.write_text(markdown_html(text))
        logger.info("wrote %s and %s:\n%s", summary_path, html_path, text)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        tables={name: Path(path) for name, path in sm.input.items() if name not in NOT_TABLES},
        summary_path=Path(sm.output.summary),
        html_path=Path(sm.output.html),
        alpha=float(sm.params.alpha),
        data_source=str(sm.params.data_source),
        arms=list(sm.params.arms),
        log=Path(sm.log[0]),
        split_info=Path(sm.input.split_info),
    )
