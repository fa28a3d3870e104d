"""Snakemake entry: write the procedurally generated demo data set in the IDC layout."""

import time
from pathlib import Path

from idc_synth.demo_data import DemoSpec, generate_demo_dataset
from idc_synth.layout import PATCH_SIZE
from idc_synth.runtime import rule_logging


def main(*, root: Path, spec: DemoSpec, workers: int, log: Path | None) -> None:
    with rule_logging(log) as logger:
        logger.info("generating demo data set into %s with %d worker(s): %s", root, workers, spec)
        start = time.perf_counter()
        table = generate_demo_dataset(root, spec, workers=workers)
        seconds = time.perf_counter() - start
        per_class = table["label"].value_counts().sort_index()
        logger.info(
            "wrote %d patches for %d patients in %.1f s: %d non-IDC, %d IDC (%.1f%% IDC)",
            len(table),
            table["patient"].nunique(),
            seconds,
            per_class.get(0, 0),
            per_class.get(1, 0),
            100 * table["label"].mean(),
        )
        edge = (table["width"] < PATCH_SIZE) | (table["height"] < PATCH_SIZE)
        logger.info("%d edge patches smaller than %d px", edge.sum(), PATCH_SIZE)
        per_patient = table.groupby("patient")["label"].agg(patches="size", idc="sum")
        logger.info("per patient:\n%s", per_patient.to_string())


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        root=Path(sm.output.root),
        spec=DemoSpec(**sm.params.spec),
        workers=sm.threads,
        log=Path(sm.log[0]),
    )
