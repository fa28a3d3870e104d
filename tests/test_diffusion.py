"""The diffusion arm on tiny data: both modes train, sample, resume, and stay offline."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from tiny_sd import TINY_RESOLUTION, save_tiny_pipeline

from idc_synth.diffusion.folder import PretrainedModelError, load_base
from idc_synth.diffusion.pretrained import LORA_FILE
from idc_synth.diffusion.sampling import load_sampler
from idc_synth.diffusion.settings import DiffusionSettings
from idc_synth.diffusion.training import make_accelerator
from idc_synth.synthetic import CountPolicy, shard_seed

REPO = Path(__file__).resolve().parents[1]

TINY = DiffusionSettings(
    vae_channels=(4, 8),
    vae_steps=3,
    vae_batch_size=4,
    unet_channels=(8, 16),
    unet_steps=4,
    unet_batch_size=4,
    checkpoint_every=2,
    sampling_steps=3,
    sample_batch_size=3,  # smaller than the sample counts below, so batching is exercised
    preview_per_class=2,
)


@pytest.fixture(scope="module", autouse=True)
def no_network():
    """Fail any test of this module that opens an internet connection (hub lookups included)."""
    attempts: list[tuple] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(real):
        def connect(self, address, *args):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                attempts.append(address)
                raise OSError(f"test forbids network access (tried {address})")
            return real(self, address, *args)

        return connect

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded(real_connect))
        patch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))
        yield
    assert attempts == [], f"network connections were attempted: {attempts}"


def write_packed(
    directory: Path, count: int = 24, name: str = "train", seed: int = 0
) -> tuple[Path, Path]:
    """A packed set whose IDC patches are darker, as load_packed expects it."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    base = np.where(labels == 1, 90, 200)[:, None, None, None]
    images = np.clip(rng.normal(base, 25, (count, 50, 50, 3)), 0, 255).astype(np.uint8)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / f"{name}.npy", images)
    pd.DataFrame({"label": labels}).to_parquet(directory / f"{name}.parquet")
    return directory / f"{name}.npy", directory / f"{name}.parquet"


def train_kwargs(root: Path, settings: DiffusionSettings) -> dict:
    train_images, train_table = write_packed(root / "data")
    holdout_images, holdout_table = write_packed(root / "data", name="holdout", seed=1)
    return dict(
        train_images=train_images,
        train_table=train_table,
        holdout_images=holdout_images,
        holdout_table=holdout_table,
        progress_patches=10,
        settings=settings,
        state=root / "state" / "diffusion.pt",
        model=root / "model",
        losses=root / "losses.tsv",
        quality=root / "quality.tsv",
        previews=root / "previews.png",
        threads=1,
        log=root / "train.log",
    )


@pytest.fixture(scope="module")
def scratch_run(tmp_path_factory) -> dict:
    import train_diffusion

    kwargs = train_kwargs(tmp_path_factory.mktemp("scratch"), TINY)
    train_diffusion.main(**kwargs)
    return kwargs


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("sd") / "tiny-sd")


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, tiny_pipeline) -> dict:
    import train_diffusion

    settings = replace(
        TINY,
        mode="pretrained",
        pretrained_path=str(tiny_pipeline),
        resolution=TINY_RESOLUTION,
        lora_rank=2,
        lora_steps=3,
        lora_batch_size=2,
        lora_lr=1e-2,
    )
    kwargs = train_kwargs(tmp_path_factory.mktemp("lora"), settings)
    train_diffusion.main(**kwargs)
    return kwargs


def check_samples(run: dict, capsys) -> None:
    sampler = load_sampler(run["model"], run["settings"], make_accelerator(run["settings"]))
    capsys.readouterr()
    first = sampler.sample(1, 5, seed=7)
    # a long draw reports its progress in the job's log (stderr), in scratch and LoRA modes
    assert "sampling class 1 (5 patches)" in capsys.readouterr().err
    assert first.dtype == np.uint8 and first.shape == (5, 50, 50, 3)
    assert int(first.max()) - int(first.min()) > 10
    np.testing.assert_array_equal(first, sampler.sample(1, 5, seed=7))
    assert not np.array_equal(first, sampler.sample(1, 5, seed=8))
    assert sampler.sample(0, 0, seed=7).shape == (0, 50, 50, 3)


def test_scratch_trains_both_phases_and_writes_its_outputs(scratch_run):
    model = scratch_run["model"]
    for config in ("vae/config.json", "unet/config.json", "scheduler/scheduler_config.json"):
        assert (model / config).is_file()
    assert (model / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    losses = pd.read_csv(scratch_run["losses"], sep="\t")
    assert list(losses.columns) == ["step", "phase", "loss"]
    assert losses.groupby("phase")["step"].apply(list).to_dict() == {
        "vae": [1, 2, 3],
        "unet": [1, 2, 3, 4],
    }
    assert np.isfinite(losses["loss"]).all()
    assert scratch_run["previews"].stat().st_size > 0
    assert_scored_at(scratch_run, [2, 4])  # the UNet's checkpoints (checkpoint_every 2)


def assert_scored_at(run: dict, steps: list[int]) -> None:
    """Quality over training: both classes scored against held-out patches at each step."""
    quality = pd.read_csv(run["quality"], sep="\t")
    assert quality["step"].tolist() == [step for step in steps for _ in (0, 1)]
    assert quality["label"].tolist() == [0, 1] * len(steps) and (quality["n"] == 10).all()
    scores = quality[["fid_pixels", "spectral_distance", "spike_ratio", "fid_pixels_floor"]]
    assert np.isfinite(scores.to_numpy(float)).all()


def test_scratch_samples_are_uint8_patches_reproducible_by_seed(scratch_run, capsys):
    check_samples(scratch_run, capsys)


def test_lora_trains_and_saves_adapter_and_base_path(lora_run):
    model = lora_run["model"]
    assert (model / LORA_FILE).is_file()
    arm = json.loads((model / "arm.json").read_text())
    assert arm["mode"] == "pretrained"
    assert arm["base"] == lora_run["settings"].pretrained_path
    losses = pd.read_csv(lora_run["losses"], sep="\t")
    assert losses["phase"].unique().tolist() == ["lora"] and losses["step"].tolist() == [1, 2, 3]
    assert lora_run["previews"].stat().st_size > 0
    assert_scored_at(lora_run, [2, 3])


def test_lora_samples_are_uint8_patches_reproducible_by_seed(lora_run, capsys):
    check_samples(lora_run, capsys)


@pytest.mark.parametrize("run_name", ["scratch_run", "lora_run"])
def test_the_same_settings_train_the_same_weights(run_name, request, tmp_path):
    """Weight init, batches, noise and timesteps all derive from the seed."""
    import train_diffusion
    from safetensors.torch import load_file

    first = request.getfixturevalue(run_name)
    # unscored this time: sampling and scoring the snapshots leaves the run as it was
    again = {**train_kwargs(tmp_path, first["settings"]), "progress_patches": 0}
    train_diffusion.main(**again)
    pd.testing.assert_frame_equal(
        pd.read_csv(again["losses"], sep="\t"), pd.read_csv(first["losses"], sep="\t")
    )
    assert pd.read_csv(again["quality"], sep="\t").empty
    for weights in first["model"].rglob("*.safetensors"):
        expected, got = (
            load_file(weights),
            load_file(again["model"] / weights.relative_to(first["model"])),
        )
        assert expected.keys() == got.keys()
        for name, tensor in expected.items():
            assert torch.equal(tensor, got[name]), f"{weights.name}: {name}"


def test_sample_script_writes_a_shard_with_its_derived_seed(scratch_run, tmp_path):
    import sample_diffusion

    split = tmp_path / "split.parquet"
    pd.DataFrame(
        {"patient": ["a", "b"], "split": ["train", "test"], "n_patches": [20, 9], "n_idc": [5, 3]}
    ).to_parquet(split)
    shards = {}

    def sample(shard, labels, out):
        sample_diffusion.main(
            model=scratch_run["model"],
            split=split,
            settings=TINY,
            labels=labels,
            shard=shard,
            n_shards=3,
            count=CountPolicy("absolute", 5),
            base_seed=11,
            images=[out / f"images{label}.npy" for label in labels],
            tables=[out / f"table{label}.parquet" for label in labels],
            device="cpu",
            threads=1,
            log=None,
        )

    for shard in (0, 1):  # 5 patches per class over 3 shards: 2, 2, 1
        out = tmp_path / f"shard{shard}"
        sample(shard, [0, 1], out)  # one job, both classes
        for label in (0, 1):
            shards[shard, label] = np.load(out / f"images{label}.npy")
            table = pd.read_parquet(out / f"table{label}.parquet")
            assert (table["seed"] == shard_seed(11, "diffusion", label, shard)).all()
            assert (table["generator"] == "diffusion").all() and (table["label"] == label).all()
    assert shards[0, 1].shape == (2, 50, 50, 3) and not np.array_equal(shards[0, 1], shards[1, 1])
    # a class's patches do not depend on the classes sampled before it in the same job
    sample(0, [1], tmp_path / "alone")
    np.testing.assert_array_equal(np.load(tmp_path / "alone" / "images1.npy"), shards[0, 1])


def test_empty_shard_needs_no_model(tmp_path):
    import sample_diffusion

    split = tmp_path / "split.parquet"
    pd.DataFrame(
        {"patient": ["a"], "split": ["train"], "n_patches": [10], "n_idc": [5]}
    ).to_parquet(split)
    sample_diffusion.main(
        model=tmp_path / "no-model-here",
        split=split,
        settings=TINY,
        labels=[0, 1],
        shard=0,
        n_shards=1,
        count=CountPolicy("balance"),  # the classes are balanced already: nothing to make
        base_seed=0,
        images=[tmp_path / "images0.npy", tmp_path / "images1.npy"],
        tables=[tmp_path / "table0.parquet", tmp_path / "table1.parquet"],
        device="cpu",
        threads=1,
        log=None,
    )
    for label in (0, 1):
        assert np.load(tmp_path / f"images{label}.npy").shape == (0, 50, 50, 3)
        assert len(pd.read_parquet(tmp_path / f"table{label}.parquet")) == 0


def test_missing_pretrained_path_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-sd"
    with pytest.raises(PretrainedModelError, match="does not exist") as error:
        load_base(str(missing), allow_download=False)
    assert str(missing) in str(error.value) and "model_index.json" in str(error.value)


def test_incomplete_pretrained_folder_names_the_missing_parts(tmp_path):
    (tmp_path / "model_index.json").write_text("{}")
    (tmp_path / "unet").mkdir()
    with pytest.raises(PretrainedModelError, match="vae, text_encoder, tokenizer, scheduler"):
        load_base(str(tmp_path), allow_download=False)


def test_corrupt_pretrained_folder_names_the_path(tiny_pipeline, tmp_path):
    import shutil

    broken = Path(shutil.copytree(tiny_pipeline, tmp_path / "broken"))
    (broken / "model_index.json").write_text("{not json")
    with pytest.raises(PretrainedModelError, match="not readable JSON") as error:
        load_base(str(broken), allow_download=False)
    assert str(broken) in str(error.value)
    shutil.copy2(tiny_pipeline / "model_index.json", broken / "model_index.json")
    (broken / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"garbage")
    with pytest.raises(PretrainedModelError, match=f"could not load .* from {broken}"):
        load_base(str(broken), allow_download=False)


def command_line(kwargs: dict) -> list[str]:
    """train_diffusion.py's arguments for the same run as `main(**kwargs)`."""
    options = [
        f"--{key.replace('_', '-')}={value}" for key, value in kwargs.items() if key != "settings"
    ]
    return [*options, "--settings", json.dumps(asdict(kwargs["settings"]))]


SCRIPT = REPO / "workflow_scripts" / "train_diffusion.py"


def kill_after_first_checkpoint(process: subprocess.Popen, kwargs: dict) -> None:
    """SIGKILL a training run and every process it started (accelerate's workers), as SLURM
    ends a preempted job, as soon as its first checkpoint is on disk."""
    import psutil  # a dependency of accelerate

    try:
        deadline = time.monotonic() + 120
        while not kwargs["state"].exists():
            assert process.poll() is None, "training ended before writing a checkpoint"
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.05)
    finally:
        root = psutil.Process(process.pid)
        for member in [*root.children(recursive=True), root]:
            member.kill()
        process.wait()
    assert not kwargs["model"].joinpath("arm.json").exists(), "killed run should not finish"


@pytest.mark.slow
def test_killed_training_resumes_and_finishes_exactly(tmp_path):
    import train_diffusion

    settings = replace(TINY, vae_steps=16, unet_steps=16, grad_accumulation=2)
    kwargs = train_kwargs(tmp_path, settings)
    kill_after_first_checkpoint(
        subprocess.Popen([sys.executable, str(SCRIPT), *command_line(kwargs)]), kwargs
    )

    train_diffusion.main(**kwargs)
    log = kwargs["log"].read_text()
    resumed = [
        int(line.split("resuming from step ")[1].split()[0])
        for line in log.splitlines()
        if "resuming from step" in line
    ]
    assert resumed and resumed[0] > 0
    assert "phase unet done: 16 of 16 steps" in log
    losses = pd.read_csv(kwargs["losses"], sep="\t")
    assert losses.groupby("phase")["step"].apply(list).to_dict() == {
        "vae": list(range(1, 17)),
        "unet": list(range(1, 17)),
    }
    assert_scored_at(kwargs, list(range(2, 17, 2)))  # the killed run's snapshots kept


def test_new_training_settings_train_afresh_but_sampling_settings_reuse_the_model(tmp_path):
    import train_diffusion

    kwargs = train_kwargs(tmp_path, TINY)
    train_diffusion.main(**kwargs)
    sampling_only = replace(TINY, guidance_scale=4.0, sampling_steps=2, checkpoint_every=3)
    train_diffusion.main(**{**kwargs, "settings": sampling_only})
    log = kwargs["log"].read_text()
    assert "phase vae finished in an earlier run" in log
    assert "phase unet: resuming from step 4 of 4" in log  # nothing left to train
    assert "starting afresh" not in log

    train_diffusion.main(**{**kwargs, "settings": replace(sampling_only, unet_lr=5e-4)})
    log = kwargs["log"].read_text()
    assert "made with other training settings or data; starting afresh" in log
    assert log.count("phase vae: starting at step 0 of 3") == 2


def launch_two_processes(kwargs: dict) -> subprocess.Popen:
    """What the rule runs for a job holding two GPUs; on CPUs accelerate makes a gloo group."""
    launch = [
        *(sys.executable, "-m", "accelerate.commands.launch"),
        *("--config_file", str(REPO / "workflow_scripts" / "accelerate.yaml")),
        *("--num_processes", "2", "--multi_gpu", "--main_process_port", "0"),
    ]
    return subprocess.Popen(
        [*launch, str(SCRIPT), *command_line(kwargs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_two_processes_train_one_model_and_resume_after_a_kill(tmp_path):
    settings = replace(TINY, vae_steps=16, unet_steps=16)
    kwargs = {**train_kwargs(tmp_path, settings), "device": "cpu", "threads": 2}
    kill_after_first_checkpoint(launch_two_processes(kwargs), kwargs)

    launcher = launch_two_processes(kwargs)
    output, _ = launcher.communicate(timeout=300)
    log = kwargs["log"].read_text()
    assert launcher.returncode == 0, output + log
    assert log.count(", 2 process(es)") == 2, "one line per run: only the main process logs"
    assert re.search(r"phase (vae|unet): resuming from step [1-9]\d* of 16", log)
    assert (kwargs["model"] / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert kwargs["previews"].stat().st_size > 0
    losses = pd.read_csv(kwargs["losses"], sep="\t")  # one row per step: losses are reduced
    assert losses.groupby("phase")["step"].apply(list).to_dict() == {
        "vae": list(range(1, 17)),
        "unet": list(range(1, 17)),
    }


def test_scratch_pads_to_a_size_both_networks_divide_and_crops_back_without_resampling():
    from idc_synth.diffusion.pixels import crop_patch, to_model_padded, to_patches

    assert TINY.model_size == 52 and DiffusionSettings().model_size == 56  # 2x2 and 4x2 divide
    patches = np.random.default_rng(0).integers(0, 256, (3, 50, 50, 3), dtype=np.uint8)
    padded = to_model_padded(patches, TINY.model_size)
    assert padded.shape == (3, 3, 52, 52)
    # exact round trip: every pixel of the patch comes back unchanged (a resize would not)
    np.testing.assert_array_equal(to_patches(crop_patch(padded)), patches)


def test_scratch_ddim_starts_from_pure_noise_at_the_last_train_timestep(scratch_run):
    """Sampling starts from pure noise, so its first step must be t = T - 1, where the UNet was
    trained on (almost) pure noise; "leading" spacing started at T - T / steps (900 of 1000)."""
    from diffusers import DDIMScheduler

    scheduler = DDIMScheduler.from_pretrained(scratch_run["model"] / "scheduler")
    scheduler.set_timesteps(10)
    train_timesteps = scheduler.config.num_train_timesteps
    stride = train_timesteps // 10
    assert scheduler.timesteps.tolist() == list(range(train_timesteps - 1, 0, -stride))
