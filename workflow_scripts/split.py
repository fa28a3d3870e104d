"""Rule split: assign every patient to exactly one of train, val and test, and show the ingest
preflight (manifest, QC, split) on the console and in the report before any training."""

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from idc_synth.preflight import summary_from_tables
from idc_synth.presets import SplitError, fit_lists, read_lists, split_description
from idc_synth.runtime import rule_logging
from idc_synth.split import split_from_lists, stratified_split, summarize


def main(
    *,
    manifest_path: Path,
    qc_path: Path,
    root: str,
    fractions: dict[str, float],
    seed: int,
    preset: str | None,
    patient_lists: dict[str, str] | None,
    split_path: Path,
    info_path: Path,
    preflight_path: Path,
    log: Path | None,
) -> None:
    """patient_lists: the preset's lists or the user's (None: a stratified split)."""
    with rule_logging(log) as logger:
        manifest = pd.read_parquet(manifest_path, columns=["patient", "label"])
        description = split_description(preset, patient_lists, fractions, seed)
        logger.info("split: %s", description)
        lists = {name: Path(path) for name, path in (patient_lists or {}).items()}
        fit = fit_lists(read_lists(lists), set(manifest["patient"])) if lists else None
        table, error = None, None
        try:
            table = (
                split_from_lists(manifest, lists)
                if lists
                else stratified_split(manifest, fractions, seed)
            )
        except SplitError as failure:
            error = failure
        summary = summary_from_tables(
            root,
            manifest,
            pd.read_csv(qc_path, sep="\t"),
            description,
            fit,
            table,
            error and str(error),
        )
        # stdout, not the log: the console, before any training job starts (a local rule);
        # also when the split fails, so that the user sees what the data root held
        print("\n".join(summary.lines()), flush=True)
        if error is not None:
            raise error
        table.to_parquet(split_path, index=False)
        logger.info("wrote %s:\n%s", split_path, summarize(table).to_string())
        info_path.write_text(json.dumps({"preset": preset, **asdict(summary)}, indent=2) + "\n")
        rows = pd.DataFrame(summary.rows(), columns=["item", "value"])
        rows.to_csv(preflight_path, sep="\t", index=False)
        logger.info("wrote %s and %s:\n%s", info_path, preflight_path, rows.to_string(index=False))


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        manifest_path=Path(sm.input.manifest),
        qc_path=Path(sm.input.qc),
        root=sm.params.root,
        fractions=sm.params.fractions,
        seed=sm.params.seed,
        preset=sm.params.preset,
        patient_lists={
            name.removeprefix("list_"): path
            for name, path in sm.input.items()
            if name.startswith("list_")
        },
        split_path=Path(sm.output.split),
        info_path=Path(sm.output.info),
        preflight_path=Path(sm.output.preflight),
        log=Path(sm.log[0]),
    )
