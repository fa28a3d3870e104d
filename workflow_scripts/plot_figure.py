"""Rules plot_*: draw one figure family from its named inputs (idc_synth.figures.registry)."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from idc_synth.figures import render
from idc_synth.runtime import rule_logging


def main(
    *,
    family: str,
    inputs: Mapping[str, Sequence[Path]],
    figure: Path,
    options: Mapping,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        for name, paths in inputs.items():
            logger.info("input %s: %s", name, ", ".join(map(str, paths)))
        logger.info("family %s, options %s", family, dict(options))
        render(family, inputs, figure, options)
        logger.info("wrote %s (%d bytes)", figure, figure.stat().st_size)


def named_inputs(input_files) -> dict[str, list[Path]]:
    """Snakemake's named inputs as {name: [paths]} (a name may hold one file or a list)."""
    named = {}
    for name, value in input_files.items():
        values = [value] if isinstance(value, str) else list(value)
        named[name] = [Path(path) for path in values]
    return named


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        family=sm.params.family,
        inputs=named_inputs(sm.input),
        figure=Path(sm.output.figure),
        options=dict(sm.params.options),
        log=Path(sm.log[0]),
    )
