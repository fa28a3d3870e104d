"""Rule predict_perturbed: a prediction job (the test split is read only by prediction jobs).
P(IDC) for every test patch under one perturbation at each of its strengths, from every
existing classifier of the main arms; the perturbed patches live in memory only (see
idc_synth.robustness)."""

from pathlib import Path

import pandas as pd

from idc_synth.classifier import Predictor
from idc_synth.pack import load_packed
from idc_synth.robustness import perturb
from idc_synth.runtime import limit_torch_threads, resolve_device, rule_logging


def main(
    *,
    classifiers: list[tuple[str, int, Path, Path]],
    test_images: Path,
    test_table: Path,
    perturbation: str,
    strengths: list[float],
    seed: int,
    batch_size: int,
    device: str,
    predictions: Path,
    threads: int,
    log: Path | None,
) -> None:
    """`classifiers`: (arm, seed, weights, info) of each classifier to evaluate."""
    with rule_logging(log) as logger:
        limit_torch_threads(threads)
        torch_device = resolve_device(device)
        images, table = load_packed(test_images, test_table)  # a read-only memory map
        predictors = [
            Predictor.load(arm, classifier_seed, weights, info, torch_device)
            for arm, classifier_seed, weights, info in classifiers
        ]
        logger.info(
            "read %s (%d patches) and %d classifiers", test_images, len(images), len(predictors)
        )
        frames = []
        for strength in strengths:
            perturbed = perturb(images, perturbation, strength, seed)
            logger.info("%s at strength %s (seed %d)", perturbation, strength, seed)
            frames += [
                predictor.predict(perturbed, table, batch_size).assign(
                    perturbation=perturbation, strength=float(strength)
                )
                for predictor in predictors
            ]
        result = pd.concat(frames, ignore_index=True)
        predictions.parent.mkdir(parents=True, exist_ok=True)
        result.to_parquet(predictions, index=False)
        logger.info("wrote %s (%d rows)", predictions, len(result))


if __name__ == "__main__":
    sm = snakemake  # noqa: F821  (injected by Snakemake's script: directive)
    main(
        classifiers=[
            (arm, int(seed), Path(weights), Path(info))
            for (arm, seed), weights, info in zip(
                sm.params.classifiers, sm.input.weights, sm.input.info, strict=True
            )
        ],
        test_images=Path(sm.input.test_images),
        test_table=Path(sm.input.test_table),
        perturbation=sm.wildcards.perturbation,
        strengths=[float(value) for value in sm.params.strengths],
        seed=int(sm.params.seed),
        batch_size=int(sm.params.batch_size),
        device=sm.params.device,
        predictions=Path(sm.output.predictions),
        threads=sm.threads,
        log=Path(sm.log[0]),
    )
