"""Rule predict: P(IDC) for every test patch from one trained classifier (arm, seed), and the
test metrics of those predictions (one job: scoring alone would not pay for a Python start)."""

from pathlib import Path

import pandas as pd

from idc_synth.classifier import Predictor
from idc_synth.metrics import METRIC_COLUMNS, prediction_scores
from idc_synth.pack import load_packed
from idc_synth.runtime import limit_torch_threads, resolve_device, rule_logging


def main(
    *,
    weights: Path,
    info: Path,
    test_images: Path,
    test_table: Path,
    arm: str,
    seed: int,
    batch_size: int,
    device: str,
    predictions: Path,
    metrics: Path,
    threads: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        predictor = Predictor.load(arm, seed, weights, info, resolve_device(device))
        images, table = load_packed(test_images, test_table)
        logger.info(
            "read %s (%s, best period %s, synthetic draw %s) and %s (%d patches)",
            weights,
            predictor.info["arch"],
            predictor.info["best_epoch"],
            predictor.info["synthetic_draw"],
            test_images,
            len(images),
        )
        result = predictor.predict(images, table, batch_size)
        predictions.parent.mkdir(parents=True, exist_ok=True)
        result.to_parquet(predictions, index=False)
        threshold = predictor.info["threshold"]
        logger.info("wrote %s (%d rows, threshold %s)", predictions, len(result), threshold)
        row = prediction_scores(result)
        metrics.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([row], columns=list(METRIC_COLUMNS)).to_csv(metrics, sep="\t", index=False)
        logger.info("wrote %s: %s", metrics, row)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        weights=Path(sm.input.weights),
        info=Path(sm.input.info),
        test_images=Path(sm.input.test_images),
        test_table=Path(sm.input.test_table),
        arm=sm.params.arm,
        seed=int(sm.params.seed),
        batch_size=int(sm.params.batch_size),
        device=sm.params.device,
        predictions=Path(sm.output.predictions),
        metrics=Path(sm.output.metrics),
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
