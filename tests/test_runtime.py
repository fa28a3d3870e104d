"""Job plumbing: what a failed or killed job leaves behind, and what its log says."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from dataclasses import replace

from test_diffusion import (
    SCRIPT,
    TINY,
    command_line,
    kill_after_first_checkpoint,
    train_kwargs,
)
from tiny_sd import TINY_RESOLUTION, save_tiny_pipeline

from idc_synth.diffusion.folder import pipeline_fingerprint
from idc_synth.runtime import rule_logging


def test_killed_diffusion_training_leaves_no_output(tmp_path):
    """A plain rerun then resumes: Snakemake finds no incomplete output to complain about."""
    kwargs = train_kwargs(tmp_path, replace(TINY, vae_steps=16, unet_steps=16))
    kill_after_first_checkpoint(
        subprocess.Popen([sys.executable, str(SCRIPT), *command_line(kwargs)]), kwargs
    )
    for output in ("model", "losses", "previews"):
        assert not kwargs[output].exists(), output


def test_failed_training_logs_its_traceback_once(tmp_path):
    kwargs = train_kwargs(tmp_path, TINY)
    kwargs["train_images"].unlink()
    with open(kwargs["log"], "a") as log:  # as the rule runs it: `>> {log} 2>&1`
        run = subprocess.run(
            [sys.executable, str(SCRIPT), *command_line(kwargs)], stdout=log, stderr=log
        )
    text = kwargs["log"].read_text()
    assert run.returncode == 1
    assert text.count("Traceback") == 1 and "train.npy" in text


def test_meaningless_warnings_stay_out_of_the_log(tmp_path):
    log = tmp_path / "rule.log"
    with rule_logging(log):
        warnings.warn("The given NumPy array is not writable, and PyTorch ...", stacklevel=1)
        logging.getLogger("idc_synth.x").warning("No LoRA keys associated to CLIPTextModel found")
        warnings.warn("a warning that matters", stacklevel=1)
    text = log.read_text()
    assert "not writable" not in text and "No LoRA keys" not in text
    assert "a warning that matters" in text


def test_new_weights_at_the_same_pretrained_path_train_the_lora_afresh(tmp_path):
    import train_diffusion

    base = save_tiny_pipeline(tmp_path / "sd", seed=0)
    settings = replace(
        TINY,
        mode="pretrained",
        pretrained_path=str(base),
        resolution=TINY_RESOLUTION,
        lora_rank=2,
        lora_steps=2,
        lora_batch_size=2,
    )
    kwargs = train_kwargs(tmp_path, settings)
    train_diffusion.main(**kwargs)
    before = pipeline_fingerprint(base)
    save_tiny_pipeline(base, seed=1)  # the user replaces the model, same folder
    assert pipeline_fingerprint(base) != before
    train_diffusion.main(**kwargs)
    log = kwargs["log"].read_text()
    assert "made with other training settings or data; starting afresh" in log
