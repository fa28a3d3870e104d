"""The generator contract (docs/generators.md): a generator is its rule file, entry scripts,
package, config/schema section and docs. What the rest of the workflow reads from it is checked
here: its settings are checked whenever any arm trains it, and the schema's arm names and
colours agree with idc_synth.arms."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from idc_synth.arms import BASELINE, CLASSIC, COMBINE, GENERATORS, SELECTIONS, Arm
from idc_synth.config_checks import ConfigError, check_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())


def config_with(arms: list[str], **diffusion) -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["arms"] = arms
    config["diffusion"] |= diffusion
    return config


@pytest.mark.parametrize("arms", [["baseline", "diffusion+stain"], ["diffusion", "stain"]])
def test_any_arm_that_trains_diffusion_checks_its_settings(arms):
    with pytest.raises(ConfigError, match="unet_attention_levels: 3 exceeds the 2 levels"):
        check_config(config_with(arms, unet_attention_levels=3), REPO)


def test_a_study_without_diffusion_leaves_its_settings_unchecked():
    check_config(config_with(["baseline", "dcgan+stain"], unet_attention_levels=3), REPO)


def test_the_schemas_arm_names_are_those_idc_synth_arms_parses():
    expected = {
        BASELINE,
        *GENERATORS,
        *CLASSIC,
        *(f"{generator}{COMBINE}{classic}" for generator in GENERATORS for classic in CLASSIC),
        *(f"{generator}_{selection}" for generator in GENERATORS for selection in SELECTIONS),
    }
    enum = SCHEMA["properties"]["arms"]["items"]["enum"]
    assert len(enum) == len(set(enum))
    assert set(enum) == expected


def test_every_generator_has_a_colour_and_every_colour_names_an_arm():
    colors = SCHEMA["properties"]["figures"]["properties"]["colors"]
    assert set(colors["required"]) == {BASELINE, *GENERATORS, "real"}
    for name in colors["properties"]:
        if name != "real":
            Arm.parse(name)  # raises on a colour for an arm that does not exist
    assert set(colors["default"]) == set(colors["properties"])


def test_every_generator_has_a_config_section():
    for generator in GENERATORS:
        assert generator in SCHEMA["required"]
        assert "properties" in SCHEMA["properties"][generator]


def code_lines(path: Path) -> list[str]:
    """A Snakemake file's lines without comments (a generator named in prose is fine)."""
    lines = (line.split("  #")[0] for line in path.read_text().splitlines())
    return [line for line in lines if not line.lstrip().startswith("#")]


def test_no_shared_rule_file_names_a_generator():
    """Wiring by name outside a generator's own rule file is what the contract removes: the
    wildcard regex comes from idc_synth.arms, lists and figure inputs from the registries."""
    own = {REPO / "rules" / f"{generator}.smk" for generator in GENERATORS}
    shared = [REPO / "Snakefile", *sorted(set((REPO / "rules").rglob("*.smk")) - own)]
    named = [
        f"{path.name}: {line.strip()}"
        for path in shared
        for line in code_lines(path)
        for generator in GENERATORS
        if generator in line
    ]
    assert named == []


@pytest.mark.parametrize("generator", GENERATORS)
def test_each_generator_rule_file_defines_the_rules_the_contract_names(generator):
    text = "\n".join(code_lines(REPO / "rules" / f"{generator}.smk"))
    for rule in (f"train_{generator}", f"sample_{generator}"):
        assert f"\nrule {rule}:" in text
    for copy, parent in (
        (f"train_{generator}_realization", f"train_{generator}"),
        (f"sweep_train_{generator}", f"train_{generator}"),
        (f"sweep_sample_{generator}", f"sample_{generator}"),
    ):
        assert f"\nuse rule {parent} as {copy} with:" in text
    assert f'GENERATOR_JOBS["{generator}"] = ' in text


def test_the_generators_are_the_sections_the_schema_marks():
    marked = [name for name, spec in SCHEMA["properties"].items() if spec.get("x-generator")]
    assert list(GENERATORS) == marked
    assert {"dcgan", "diffusion"} <= set(GENERATORS)


def test_the_training_figure_draws_any_generator_registered(monkeypatch, tmp_path):
    """A generator's losses get a panel of their own, by name, whatever their loss columns;
    losses of a name that is no generator are refused, not dropped."""
    from idc_synth.figures import training

    monkeypatch.setattr(training, "GENERATORS", ("dcgan", "diffusion", "toy_vae"))
    steps = pd.Series(range(1, 21))
    gan = pd.DataFrame({"step": steps, "loss_d": 1 / steps, "loss_g": steps / 10})
    vae = pd.DataFrame({"step": steps, "loss_recon": 2 / steps, "loss_kl": steps / 40})
    grouped = training._by_generator({"dcgan_class0": gan, "toy_vae": vae, "dcgan_class1": gan})
    assert {name: list(jobs) for name, jobs in grouped.items()} == {
        "dcgan": ["class0", "class1"],
        "toy_vae": [""],
    }
    with pytest.raises(ValueError, match=r"losses of no generator .*\['gan_class0'\]"):
        training._by_generator({"gan_class0": gan})
    history = pd.DataFrame(
        {
            "epoch": [1, 2],
            "train_loss": [0.6, 0.4],
            "val_loss": [0.7, 0.5],
            "val_balanced_accuracy": [0.6, 0.7],
            "is_best": [False, True],
        }
    )
    path = training.plot_training(
        [history], [("baseline", 0)], tmp_path / "t.png", losses={"toy_vae": vae, "dcgan_c": gan}
    )
    assert path.stat().st_size > 0
