"""DCGAN arm: networks, training, resume, sampling and the two entry scripts, on tiny settings."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sample_dcgan as sample_script
import torch
import train_dcgan as train_script
from torch import nn
from workflow_helpers import checkout_env

from idc_synth.checkpoint import load_checkpoint
from idc_synth.dcgan.model import (
    ARCHITECTURE,
    DCGANSettings,
    ResizeConv2d,
    build_discriminator,
    build_generator,
    generate,
    init_weights,
    load_generator,
    save_generator,
    standing_statistics,
    to_uint8,
)
from idc_synth.dcgan.training import (
    HISTORY_COLUMNS,
    PREVIEW_COUNT,
    DCGANResult,
    preview_steps,
    total_dcgan_steps,
    train_dcgan,
)
from idc_synth.progress import COLUMNS as PROGRESS_COLUMNS
from idc_synth.progress import ProgressScorer
from idc_synth.spectrum import spectral_features, spike_ratio
from idc_synth.synthetic import CountPolicy, shard_seed

TINY = DCGANSettings(
    latent_dim=16,
    generator_channels=8,
    discriminator_channels=8,
    epochs=10,
    min_steps=0,
    batch_size=4,
    # 10x the paper's rate, so 40 steps already move the outputs well away from mid-grey.
    lr_generator=2e-3,
    lr_discriminator=2e-3,
    beta1=0.5,
    checkpoint_every=4,
    conditional=False,
    seed=0,
)


def tiny_patches(n: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy patches whose brightness encodes the label (IDC darker), half of each class."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    base = np.where(labels == 1, 90, 200)[:, None, None, None]
    images = np.clip(rng.normal(base, 30, (n, 50, 50, 3)), 0, 255).astype(np.uint8)
    return images, labels


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    images, labels = tiny_patches()
    state = tmp_path_factory.mktemp("dcgan") / "checkpoint.pt"
    return train_dcgan(images, labels, TINY, state, "cpu"), state


@pytest.mark.parametrize("conditional", [False, True])
def test_networks_shapes_and_range(conditional: bool) -> None:
    settings = dataclasses.replace(TINY, conditional=conditional)
    generator, discriminator = build_generator(settings), build_discriminator(settings)
    labels = torch.tensor([0, 1, 1, 0, 1]) if conditional else None
    fake = generator(torch.randn(5, settings.latent_dim), labels)
    assert fake.shape == (5, 3, 50, 50)
    assert fake.min() >= -1 and fake.max() <= 1
    assert discriminator(fake, labels).shape == (5,)


def test_resize_convolution_equals_nearest_upsampling_then_a_3x3_convolution() -> None:
    torch.manual_seed(0)
    layer = ResizeConv2d(5, 4)
    reference = nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(5, 4, 3, padding=1, bias=False)
    )
    reference[1].weight.data.copy_(layer.weight.data)
    x = torch.randn(2, 5, 7, 7)
    torch.testing.assert_close(layer(x), reference(x))


def test_an_up_step_maps_a_constant_to_a_constant_unlike_a_transposed_convolution() -> None:
    torch.manual_seed(0)
    constant = torch.ones(1, 8, 7, 7)
    resize, transposed = ResizeConv2d(8, 3), nn.ConvTranspose2d(8, 3, 4, 2, 1, bias=False)
    inner = (..., slice(1, -1), slice(1, -1))  # away from the zero-padded border
    with torch.no_grad():
        flat, checkered = resize(constant)[inner], transposed(constant)[inner]
    assert flat.std(dim=(-2, -1)).max() < 1e-5
    assert (checkered.std(dim=(-2, -1)) > 0.1 * checkered.abs().mean(dim=(-2, -1))).all()


def _kernel5_generator(settings: DCGANSettings) -> nn.Module:
    """The replaced design: 7 -> 13 -> 25 by kernel-5, stride-2 transposed convolutions."""
    c = settings.generator_channels

    def up(cin, cout, kernel, stride, padding):
        layer = nn.ConvTranspose2d(cin, cout, kernel, stride, padding, bias=False)
        return [layer, nn.BatchNorm2d(cout), nn.ReLU()]

    net = nn.Sequential(
        *up(settings.latent_dim, 4 * c, 7, 1, 0),
        *up(4 * c, 2 * c, 5, 2, 2),
        *up(2 * c, c, 5, 2, 2),
        nn.ConvTranspose2d(c, 3, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    return net.apply(init_weights)


def test_no_grid_spike_at_init_where_the_kernel_5_design_printed_one(trained) -> None:
    settings = dataclasses.replace(TINY, latent_dim=64, generator_channels=16)  # the demo's
    noise = torch.randn(256, 64, 1, 1, generator=torch.Generator().manual_seed(9))
    for seed in range(3):
        torch.manual_seed(seed)
        ours = spike_ratio(spectral_features(generate(build_generator(settings), 256, 0, "cpu")))
        with torch.no_grad():
            old = spike_ratio(spectral_features(to_uint8(_kernel5_generator(settings)(noise))))
        assert ours < 3 and old > 50, (seed, ours, old)
    # and after training, within 2x of the patches it was trained on
    images, _ = tiny_patches()
    real = spike_ratio(spectral_features(images))
    assert spike_ratio(spectral_features(generate(trained[0].generator, 256, 0, "cpu"))) < 2 * real


def test_init_follows_the_paper() -> None:
    settings = dataclasses.replace(TINY, generator_channels=32, discriminator_channels=32)
    modules = [*build_generator(settings).modules(), *build_discriminator(settings).modules()]
    conv = torch.cat(
        [m.weight.flatten() for m in modules if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    )
    norm = torch.cat([m.weight for m in modules if isinstance(m, nn.BatchNorm2d)])
    assert abs(conv.mean().item()) < 1e-3 and conv.std().item() == pytest.approx(0.02, rel=0.05)
    assert norm.mean().item() == pytest.approx(1.0, abs=0.01)
    assert norm.std().item() == pytest.approx(0.02, rel=0.3)


def test_training_records_history_previews_and_checkpoint(trained) -> None:
    result, state = trained
    total = TINY.epochs * 16 // TINY.batch_size
    assert list(result.history.columns) == HISTORY_COLUMNS
    assert result.history["step"].tolist() == list(range(1, total + 1))
    assert np.isfinite(result.history[HISTORY_COLUMNS[2:]].to_numpy()).all()
    assert [step for step, _ in result.previews] == sorted(preview_steps(total))
    assert result.previews[0][0] == 0 and result.previews[-1][0] == total
    assert all(images.shape == (PREVIEW_COUNT, 50, 50, 3) for _, images in result.previews)
    assert load_checkpoint(state)["step"] == total


def test_min_steps_gives_a_small_class_more_passes(tmp_path) -> None:
    images, labels = tiny_patches()
    settings = dataclasses.replace(TINY, epochs=1, min_steps=5)
    result = train_dcgan(images, labels, settings, tmp_path / "state.pt", "cpu")
    assert len(images) // TINY.batch_size < 5
    assert result.history["step"].tolist() == [1, 2, 3, 4, 5]
    assert result.history["epoch"].max() > 1


def test_max_steps_caps_a_large_class_whatever_its_epochs(tmp_path) -> None:
    images, labels = tiny_patches()
    settings = dataclasses.replace(TINY, epochs=50, min_steps=2, max_steps=3)
    result = train_dcgan(images, labels, settings, tmp_path / "state.pt", "cpu")
    assert 50 * (len(images) // TINY.batch_size) > 3
    assert result.history["step"].tolist() == [1, 2, 3]
    assert total_dcgan_steps(10**6, settings) == 3
    assert total_dcgan_steps(10**6, dataclasses.replace(settings, max_steps=None)) > 10**6 // 2
    with pytest.raises(ValueError, match="max_steps"):
        dataclasses.replace(settings, min_steps=5, max_steps=3)


def test_generate_is_seeded_and_varied(trained) -> None:
    generator = trained[0].generator
    images = generate(generator, 10, seed=1, device="cpu", batch_size=4)
    assert images.shape == (10, 50, 50, 3) and images.dtype == np.uint8
    assert int(images.max()) - int(images.min()) > 50
    assert np.array_equal(images, generate(generator, 10, seed=1, device="cpu", batch_size=4))
    assert not np.array_equal(images, generate(generator, 10, seed=2, device="cpu", batch_size=4))
    assert generate(generator, 0, seed=1, device="cpu").shape == (0, 50, 50, 3)


def test_save_load_round_trip(trained, tmp_path: Path) -> None:
    generator = trained[0].generator
    weights, config = tmp_path / "g.safetensors", tmp_path / "g.json"
    save_generator(generator, TINY, weights, config, label=1)
    loaded, saved_config = load_generator(weights, config, "cpu")
    assert saved_config["label"] == 1
    assert np.array_equal(generate(generator, 6, 3, "cpu"), generate(loaded, 6, 3, "cpu"))


def test_without_the_low_pass_the_finest_texture_reaches_both_networks(tmp_path: Path) -> None:
    """Real tissue's period-2 texture: the default filters it out of what D sees and what G can
    print; with low_pass false both pass it, and the setting survives a save and load (a
    generator config from before the setting loads with the filter)."""
    checker = torch.tensor([[(-1.0) ** (i + j) for j in range(50)] for i in range(50)])
    pattern = checker.expand(1, 3, 50, 50)
    interior = (..., slice(2, -2), slice(2, -2))
    for low_pass, passed in ((True, 0.0), (False, 1.0)):
        settings = dataclasses.replace(TINY, low_pass=low_pass)
        first_layer = build_discriminator(settings).net[0]
        assert first_layer(pattern)[interior].abs().max().item() == pytest.approx(passed)
        generator = build_generator(settings)
        weights, config = tmp_path / f"{low_pass}.safetensors", tmp_path / f"{low_pass}.json"
        save_generator(generator, settings, weights, config)
        loaded, saved = load_generator(weights, config, "cpu")
        assert saved["settings"]["low_pass"] is low_pass
        assert np.array_equal(generate(generator, 4, 0, "cpu"), generate(loaded, 4, 0, "cpu"))
    old = json.loads(config.read_text())
    del old["settings"]["low_pass"]
    config.write_text(json.dumps(old))
    loaded, _ = load_generator(weights, config, "cpu")
    assert not np.array_equal(generate(generator, 4, 0, "cpu"), generate(loaded, 4, 0, "cpu"))


def test_conditional_generator_makes_both_classes(tmp_path: Path) -> None:
    settings = dataclasses.replace(TINY, conditional=True, epochs=1)
    images, labels = tiny_patches()
    result = train_dcgan(images, labels, settings, tmp_path / "state.pt", "cpu")
    first_row = result.previews[0][1]  # the fixed preview batch: half per class
    assert first_row.shape == (PREVIEW_COUNT, 50, 50, 3)
    by_label = [generate(result.generator, 4, 5, "cpu", label=label) for label in (0, 1)]
    assert all(images.shape == (4, 50, 50, 3) for images in by_label)
    assert not np.array_equal(*by_label)
    with pytest.raises(ValueError, match="needs label"):
        generate(result.generator, 4, 5, "cpu")


class Interrupt(Exception):
    pass


def test_resume_continues_the_same_run(trained, tmp_path: Path) -> None:
    """Stopped at the step-6 preview (last checkpoint: step 5) and resumed, the run ends where
    the uninterrupted one did: same weights, same history, same previews."""
    settings = dataclasses.replace(TINY, checkpoint_every=5)
    images, labels = tiny_patches()
    state = tmp_path / "state.pt"

    def stop_at_6(step: int, _images: np.ndarray) -> None:
        if step == 6:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_dcgan(images, labels, settings, state, "cpu", on_preview=stop_at_6)
    assert load_checkpoint(state)["step"] == 5
    resumed = train_dcgan(images, labels, settings, state, "cpu")
    uninterrupted = trained[0]
    pd.testing.assert_frame_equal(resumed.history, uninterrupted.history)
    for name, tensor in uninterrupted.generator.state_dict().items():
        assert torch.equal(resumed.generator.state_dict()[name], tensor), name
    assert [s for s, _ in resumed.previews] == [s for s, _ in uninterrupted.previews]
    assert np.array_equal(resumed.previews[-1][1], uninterrupted.previews[-1][1])


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(b.state_dict()[name], t) for name, t in a.state_dict().items())


def test_the_moving_average_generator_trains_nothing_else_and_resumes(tmp_path: Path) -> None:
    """ema_decay leaves the training itself alone (same losses) and returns the average of G's
    iterates: other weights than the last iterate, the last iterate itself as the decay goes to
    0, and after a kill at the step-6 preview the resumed average ends where an uninterrupted
    one did."""
    images, labels = tiny_patches()
    short = dataclasses.replace(TINY, epochs=3)  # 12 steps

    def train(name: str, **changes) -> DCGANResult:
        settings = dataclasses.replace(short, **changes)
        return train_dcgan(images, labels, settings, tmp_path / f"{name}.pt", "cpu")

    last, averaged = train("last"), train("averaged", ema_decay=0.9)
    pd.testing.assert_frame_equal(averaged.history, last.history)
    assert not _same_weights(averaged.generator, last.generator)
    assert not np.array_equal(averaged.previews[-1][1], last.previews[-1][1])
    barely = train("barely", ema_decay=1e-12)
    for name, tensor in last.generator.named_parameters():
        torch.testing.assert_close(dict(barely.generator.named_parameters())[name], tensor)

    def stop_at_6(step: int, _images: np.ndarray) -> None:
        if step == 6:
            raise Interrupt

    settings = dataclasses.replace(short, ema_decay=0.9, checkpoint_every=5)
    state = tmp_path / "killed.pt"
    with pytest.raises(Interrupt):
        train_dcgan(images, labels, settings, state, "cpu", on_preview=stop_at_6)
    resumed = train_dcgan(images, labels, settings, state, "cpu")
    assert _same_weights(resumed.generator, averaged.generator)
    assert np.array_equal(resumed.previews[-1][1], averaged.previews[-1][1])
    with pytest.raises(ValueError, match="ema_decay must be in"):
        dataclasses.replace(TINY, ema_decay=1.0)


def test_another_architectures_generator_is_refused_and_its_checkpoint_ignored(
    trained, tmp_path: Path, caplog
) -> None:
    weights, config = tmp_path / "g.safetensors", tmp_path / "g.json"
    save_generator(trained[0].generator, TINY, weights, config, label=1)
    saved = json.loads(config.read_text())
    assert saved["architecture"] == ARCHITECTURE
    del saved["architecture"]  # as the kernel-5 design wrote it
    config.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="another architecture.*retrain"):
        load_generator(weights, config, "cpu")
    state = load_checkpoint(trained[1])
    state["architecture"] = "kernel-5 transposed convolutions"
    torch.save(state, tmp_path / "state.pt")
    with caplog.at_level("INFO"):
        train_dcgan(*tiny_patches(), TINY, tmp_path / "state.pt", "cpu")
    assert "made with other architecture; ignoring it" in caplog.text


def test_snapshot_scoring_leaves_the_run_unchanged_and_scores_every_snapshot(
    trained, tmp_path: Path
) -> None:
    images, labels = tiny_patches(40)
    held = tiny_patches(24, 5)
    scorer = ProgressScorer(held, (images, labels), [0, 1], 10, TINY.seed)
    conditional = dataclasses.replace(TINY, conditional=True, epochs=2)
    scored = train_dcgan(images, labels, conditional, tmp_path / "a.pt", "cpu", scorer=scorer)
    plain = train_dcgan(images, labels, conditional, tmp_path / "b.pt", "cpu")
    for name, tensor in plain.generator.state_dict().items():
        assert torch.equal(scored.generator.state_dict()[name], tensor), name
    table = scored.progress
    assert table.columns.tolist() == PROGRESS_COLUMNS and plain.progress.empty
    steps = sorted(preview_steps(len(scored.history)))
    assert table["step"].tolist() == [step for step in steps for _ in (0, 1)]
    assert set(table["label"]) == {0, 1} and (table["n"] == 10).all()
    assert table[["fid_pixels", "spectral_distance", "spike_ratio"]].notna().all().all()
    # the floor (real train patches) is closer to held-out train than the untrained generator
    first = table[table["step"] == 0]
    assert (first["fid_pixels"] > first["fid_pixels_floor"]).all()


def test_a_checkpoint_from_other_data_is_not_resumed(trained, tmp_path: Path, caplog) -> None:
    """Same settings and image count, different patches (e.g. a new split): start afresh."""
    state = tmp_path / "state.pt"
    state.write_bytes(trained[1].read_bytes())
    images, labels = tiny_patches(seed=1)
    with caplog.at_level("INFO"):
        result = train_dcgan(images, labels, TINY, state, "cpu")
    assert "made with other data; ignoring it" in caplog.text
    assert "starting from step 0" in caplog.text
    assert result.history["step"].tolist() == trained[0].history["step"].tolist()


# train_dcgan.main in a child that pauses after each checkpoint, so the kill lands mid-run.
KILLABLE_CHILD = """
import json, sys, time
from pathlib import Path
import idc_synth.dcgan.training as training
import train_dcgan
from idc_synth.dcgan.model import DCGANSettings

save = training.save_checkpoint
def save_then_pause(path, state):
    save(path, state)
    time.sleep(0.5)
training.save_checkpoint = save_then_pause
arguments = json.loads(sys.argv[1])
paths = {key: Path(value) for key, value in arguments.pop("paths").items()}
settings = DCGANSettings(**arguments.pop("settings"))
train_dcgan.main(settings=settings, **paths, **arguments)
"""


def write_packed(
    folder: Path, images: np.ndarray, labels: np.ndarray, name: str = "train"
) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / f"{name}.npy", images)
    pd.DataFrame({"row": np.arange(len(labels)), "label": labels}).to_parquet(
        folder / f"{name}.parquet"
    )
    return folder / f"{name}.npy", folder / f"{name}.parquet"


def train_arguments(tmp_path: Path, settings: DCGANSettings) -> dict:
    images, labels = write_packed(tmp_path / "data", *tiny_patches(20))
    held_images, held_labels = write_packed(tmp_path / "data", *tiny_patches(24, 5), "holdout")
    out = tmp_path / "out"
    return {
        "train_images": images,
        "train_table": labels,
        "holdout_images": held_images,
        "holdout_table": held_labels,
        "settings": settings,
        "label": 1,
        "progress_patches": 10,
        "state": tmp_path / "state" / "checkpoint.pt",
        "device": "cpu",
        "weights": out / "g.safetensors",
        "config": out / "g.json",
        "losses": out / "losses.tsv",
        "quality": out / "quality.tsv",
        "previews": out / "previews.png",
        "threads": 1,
        "log": tmp_path / "train.log",
    }


def test_killed_training_job_resumes(tmp_path: Path) -> None:
    # 10 class-1 patches in batches of 4: 2 steps per epoch, 40 steps.
    settings = dataclasses.replace(TINY, epochs=20, checkpoint_every=3)
    arguments = train_arguments(tmp_path, settings)
    total = 40
    payload = {
        "settings": dataclasses.asdict(settings),
        "label": 1,
        "progress_patches": 10,
        "device": "cpu",
        "threads": 1,
        "paths": {key: str(value) for key, value in arguments.items() if isinstance(value, Path)},
    }
    child = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_CHILD, json.dumps(payload)], env=checkout_env()
    )
    deadline = time.monotonic() + 60
    while not arguments["state"].exists() and child.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint appeared within 60 s"
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, "the child ended before it could be killed"
    assert not arguments["weights"].exists()

    train_script.main(**arguments)
    resumed = re.findall(r"resuming from step (\d+) of (\d+)", arguments["log"].read_text())
    assert len(resumed) == 1
    step, of = map(int, resumed[0])
    assert 0 < step < total and of == total
    losses = pd.read_csv(arguments["losses"], sep="\t")
    assert losses["step"].tolist() == list(range(1, total + 1))
    assert load_checkpoint(arguments["state"])["step"] == total
    assert arguments["weights"].exists() and arguments["previews"].exists()
    # every snapshot's quality row survived the kill, scored on the class trained
    quality = pd.read_csv(arguments["quality"], sep="\t")
    assert quality["step"].tolist() == sorted(preview_steps(total))
    assert (quality["label"] == 1).all() and (quality["n"] == 10).all()


def test_sample_shard_agrees_with_its_table(trained, tmp_path: Path) -> None:
    weights, config = tmp_path / "g.safetensors", tmp_path / "g.json"
    save_generator(trained[0].generator, TINY, weights, config, label=1)
    split = tmp_path / "split.parquet"
    pd.DataFrame(
        {"patient": ["a", "b"], "split": ["train", "val"], "n_patches": [10, 5], "n_idc": [4, 1]}
    ).to_parquet(split)

    def sample(shard: int, label: int = 1, count: float = 1.0) -> tuple[Path, Path]:
        images, table = tmp_path / f"s{shard}.npy", tmp_path / f"s{shard}.parquet"
        sample_script.main(
            labels=[label],
            weights=[weights],
            configs=[config],
            split=split,
            shard=shard,
            n_shards=3,
            count=CountPolicy("ratio", count),  # 1.0: 4 class-1 patches, shards of 2, 1, 1
            base_seed=7,
            device="cpu",
            images=[images],
            tables=[table],
            threads=1,
            log=None,
        )
        return images, table

    images_path, table_path = sample(0)
    images, table = np.load(images_path), pd.read_parquet(table_path)
    assert images.shape == (2, 50, 50, 3) and images.dtype == np.uint8
    assert table["index"].tolist() == [0, 1] and (table["label"] == 1).all()
    assert (table["seed"] == shard_seed(7, "dcgan", 1, 0)).all()
    assert (table["generator"] == "dcgan").all() and (table["images"] == images_path.name).all()
    empty_path, empty_table = sample(2, count=0.5)  # 2 patches: shard 2 gets none
    assert np.load(empty_path).shape == (0, 50, 50, 3) and len(pd.read_parquet(empty_table)) == 0
    with pytest.raises(ValueError, match="class-1 generator"):
        sample(1, label=0)


def test_standing_statistics_sample_the_generator_the_discriminator_judged(trained) -> None:
    """Sampling on batch-norm running averages (they trail the weights) shifts colours away from
    what training produced; standing statistics restore the train-mode (batch-statistics)
    colours while each sample still depends only on its own noise."""
    generator = copy.deepcopy(trained[0].generator)
    running = generate(generator, 256, 1, "cpu")
    noise = torch.randn(256, TINY.latent_dim, generator=torch.Generator().manual_seed(1))
    in_train_mode = copy.deepcopy(generator).train()  # train mode updates running statistics
    with torch.no_grad():  # what D saw: batch statistics of training-size batches
        batch_mode = np.concatenate(
            [to_uint8(in_train_mode(noise[i : i + TINY.batch_size])) for i in range(0, 256, 4)]
        )
    standing_statistics(generator, TINY.seed, TINY.batch_size, "cpu")
    standing = generate(generator, 256, 1, "cpu")
    assert not generator.training

    def colour(images):
        return images.reshape(-1, 3).mean(axis=0)

    gap_running = np.abs(colour(running) - colour(batch_mode)).mean()
    gap_standing = np.abs(colour(standing) - colour(batch_mode)).mean()
    assert gap_standing < 3 and gap_standing < gap_running / 2, (gap_standing, gap_running)
    # batch-independent: a sample is the same whether drawn alone or in a big batch
    alone = generate(generator, 5, 1, "cpu", batch_size=1).astype(int)
    assert np.abs(alone - standing[:5]).max() <= 1  # float summation order aside
    # reproducible from its seed
    again = copy.deepcopy(trained[0].generator)
    standing_statistics(again, TINY.seed, TINY.batch_size, "cpu")
    np.testing.assert_array_equal(generate(again, 8, 1, "cpu"), standing[:8])
