"""Rule manifest: scan the data root into a patch manifest, a QC table of rejects, and the
kept patches' pixels (each patch decoded once)."""

from pathlib import Path

from idc_synth.manifest import ManifestError, build_manifest
from idc_synth.qc import kind_counts
from idc_synth.runtime import rule_logging


def main(
    *,
    root: Path,
    size_policy: str,
    max_reject_fraction: float,
    manifest_path: Path,
    qc_path: Path,
    pixels_path: Path,
    failed_qc_path: Path,
    workers: int,
    log: Path | None,
) -> None:
    """On failure the QC table goes to failed_qc_path: Snakemake deletes a failed job's outputs."""
    with rule_logging(log) as logger:
        try:
            result = build_manifest(root, size_policy, max_reject_fraction, pixels_path, workers)
        except ManifestError as error:
            if error.rejected is None:
                raise
            failed_qc_path.parent.mkdir(parents=True, exist_ok=True)
            error.rejected.to_csv(failed_qc_path, sep="\t", index=False)
            raise ManifestError(f"{error} (QC table: {failed_qc_path})") from None
        result.rejected.to_csv(qc_path, sep="\t", index=False)
        result.manifest.to_parquet(manifest_path, index=False)
        counts = result.manifest.groupby("label").size().to_dict()
        logger.info(
            "manifest: %d patches (%s per class), %d patients, %d padded; wrote %s and %s",
            len(result.manifest),
            counts,
            result.manifest["patient"].nunique(),
            (result.manifest["status"] == "padded").sum(),
            manifest_path,
            pixels_path,
        )
        logger.info("QC: %d rows; wrote %s", len(result.rejected), qc_path)
        for kind, count in kind_counts(result.rejected["reason"]).items():
            logger.info("  %d: %s", count, kind)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        root=Path(sm.input.root),
        size_policy=sm.params.size_policy,
        max_reject_fraction=sm.params.max_reject_fraction,
        manifest_path=Path(sm.output.manifest),
        qc_path=Path(sm.output.qc),
        pixels_path=Path(sm.output.pixels),
        failed_qc_path=Path(sm.params.failed_qc),
        workers=sm.threads,
        log=Path(sm.log[0]),
    )
