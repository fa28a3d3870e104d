"""Rule gather_synthetic: one manifest of every shard a generator wrote."""

from pathlib import Path

from idc_synth.runtime import rule_logging
from idc_synth.synthetic import gather_shards


def main(*, tables: list[Path], manifest: Path, log: Path | None) -> None:
    with rule_logging(log) as logger:
        gathered = gather_shards(tables, manifest)
        counts = gathered.groupby("label").size().to_dict()
        logger.info(
            "wrote %s: %d patches from %d shards, per class %s",
            manifest,
            len(gathered),
            len(tables),
            counts,
        )


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        tables=[Path(path) for path in sm.input.tables],
        manifest=Path(sm.output.manifest),
        log=Path(sm.log[0]),
    )
