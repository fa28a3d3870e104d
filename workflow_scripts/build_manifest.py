"""Rule manifest: scan the data root into a patch manifest and a QC table of rejects."""

from pathlib import Path

from idc_synth.manifest import build_manifest
from idc_synth.runtime import rule_logging


def main(
    *,
    root: Path,
    size_policy: str,
    max_reject_fraction: float,
    manifest_path: Path,
    qc_path: Path,
    workers: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        result = build_manifest(root, size_policy, max_reject_fraction, workers)
        # The QC table is written first: if a later step fails, the rejects are still on record.
        result.rejected.to_csv(qc_path, sep="\t", index=False)
        result.manifest.to_parquet(manifest_path, index=False)
        counts = result.manifest.groupby("label").size().to_dict()
        logger.info(
            "manifest: %d patches (%s per class), %d patients, %d padded; wrote %s",
            len(result.manifest),
            counts,
            result.manifest["patient"].nunique(),
            (result.manifest["status"] == "padded").sum(),
            manifest_path,
        )
        logger.info("QC: %d rejected; wrote %s", len(result.rejected), qc_path)
        for reason, count in result.rejected["reason"].value_counts().head(10).items():
            logger.info("  rejected %d: %s", count, reason)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        root=Path(sm.input.root),
        size_policy=sm.params.size_policy,
        max_reject_fraction=sm.params.max_reject_fraction,
        manifest_path=Path(sm.output.manifest),
        qc_path=Path(sm.output.qc),
        workers=sm.threads,
        log=Path(sm.log[0]),
    )
