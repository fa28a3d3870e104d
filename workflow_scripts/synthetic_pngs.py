"""Rule synthetic_pngs: every synthetic patch of a generator as a PNG, for inspection."""

from pathlib import Path

from idc_synth.runtime import rule_logging
from idc_synth.synthetic import export_pngs


def main(*, manifest: Path, folder: Path, log: Path | None) -> None:
    with rule_logging(log) as logger:
        count = export_pngs(manifest, folder)
        logger.info("read %s; wrote %d PNGs to %s", manifest, count, folder)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(manifest=Path(sm.input.manifest), folder=Path(sm.output.folder), log=Path(sm.log[0]))
