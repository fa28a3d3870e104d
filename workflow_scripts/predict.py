"""Rule predict: P(IDC) for every test patch from one trained classifier (arm, seed)."""

from pathlib import Path

from idc_synth.classifier import (
    load_classifier,
    predict_probabilities,
    prediction_table,
)
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
    threads: int,
    log: Path | None,
) -> None:
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        torch_device = resolve_device(device)
        model, model_info = load_classifier(weights, info, torch_device)
        images, table = load_packed(test_images, test_table)
        logger.info(
            "read %s (%s, best period %s, synthetic draw %s) and %s (%d patches)",
            weights,
            model_info["arch"],
            model_info["best_epoch"],
            model_info["synthetic_draw"],
            test_images,
            len(images),
        )
        probabilities = predict_probabilities(model, images, batch_size, torch_device)
        result = prediction_table(
            table,
            probabilities,
            model_info["threshold"],
            arm,
            seed,
            model_info["synthetic_draw"],
        )
        predictions.parent.mkdir(parents=True, exist_ok=True)
        result.to_parquet(predictions, index=False)
        logger.info(
            "wrote %s (%d rows, threshold %s)", predictions, len(result), model_info["threshold"]
        )


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
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
