"""One source of defaults: the config schema. config.yaml must say the same, every key has a
description and a default, and the settings dataclasses take theirs from the schema; values
that would fail hours later (colours, UNet attention levels) fail when the workflow loads."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from idc_synth import figures
from idc_synth.classifier import TrainSettings
from idc_synth.config_checks import ConfigError, check_config, expand_user_paths
from idc_synth.defaults import schema_defaults
from idc_synth.diffusion.settings import DiffusionSettings
from idc_synth.statistics import Settings as StatisticsSettings

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def drift(config: dict, schema: dict, key: str = "") -> list[str]:
    """Keys whose config.yaml value differs from the schema default, or that it lacks."""
    found = []
    for name, value in config.items():
        spec = schema["properties"].get(name)
        if spec is None:
            found.append(f"{key}{name}: not in the schema")
        elif isinstance(value, dict) and "properties" in spec:
            found += drift(value, spec, f"{key}{name}.")
        elif spec.get("default") != value:
            found.append(f"{key}{name}: config.yaml {value!r}, schema {spec.get('default')!r}")
    return found


def undocumented(schema: dict, key: str = "") -> list[str]:
    """Keys (below the top level's sections) without a description or a default."""
    found = []
    for name, spec in schema.get("properties", {}).items():
        if "properties" in spec:
            found += undocumented(spec, f"{key}{name}.")
        else:
            found += [
                f"{key}{name}: no {part}" for part in ("description", "default") if part not in spec
            ]
    return found


def test_config_yaml_says_what_the_schema_defaults_say():
    assert drift(CONFIG, SCHEMA) == []


def test_every_key_has_a_description_and_a_default():
    assert undocumented(SCHEMA) == []


def test_drift_is_caught():
    changed = {**CONFIG, "demo": {**CONFIG["demo"], "n_patients": 14}}
    assert drift(changed, SCHEMA) == ["demo.n_patients: config.yaml 14, schema 30"]


@pytest.mark.parametrize(
    ("section", "settings"),
    [
        ("diffusion", DiffusionSettings()),
        ("figures", figures.Style()),
        ("statistics", StatisticsSettings()),
    ],
)
def test_dataclass_defaults_are_the_schemas(section, settings):
    defaults = schema_defaults(section)
    for field in fields(settings):
        if field.name in defaults:
            value = getattr(settings, field.name)
            expected = defaults[field.name]
            if field.name == "prompts":  # int class keys in the dataclass
                expected = {int(label): prompt for label, prompt in expected.items()}
            assert value == (tuple(expected) if isinstance(value, tuple) else expected), field.name


def test_train_settings_default_threshold_and_budget_are_the_schemas():
    settings = TrainSettings("small_cnn", 1, 2, 0.1, 0.0, 1, 0)
    assert (settings.threshold, settings.budget) == (
        schema_defaults("classifier")["threshold"],
        schema_defaults("classifier")["budget"],
    )


def loaded_config(**changes) -> dict:
    """config.yaml with some sections changed, every section deep-copied."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["diffusion"] |= {"unet_attention_levels": 1}
    for section, values in changes.items():
        config[section] |= values
    return config


def test_a_colour_matplotlib_cannot_draw_fails_at_load():
    config = loaded_config(figures={"colors": {**CONFIG["figures"]["colors"], "dcgan": "#12345"}})
    with pytest.raises(ConfigError, match="figures.colors.dcgan: '#12345' is not a colour"):
        check_config(config, REPO)
    named = loaded_config(figures={"colors": {**CONFIG["figures"]["colors"], "dcgan": "tab:blue"}})
    check_config(named, REPO)


def test_per_draw_realizations_with_fewer_draws_than_seeds_fail_at_load():
    shared = {"generator_realizations": "per_draw", "replicates": 2}
    config = loaded_config(synthetic=shared, classifier={"seeds": [0, 1, 2]})
    with pytest.raises(ConfigError) as error:
        check_config(config, REPO)
    message = str(error.value)
    assert "synthetic.replicates: 2 draws for 3 classifier.seeds" in message
    assert "set synthetic.replicates: per_seed (or >= 3)" in message
    assert "\n" not in message  # the fix in one line
    for fine in ({**shared, "replicates": 3}, {**shared, "replicates": "per_seed"}):
        check_config(loaded_config(synthetic=fine, classifier={"seeds": [0, 1, 2]}), REPO)
    one = {"generator_realizations": "one", "replicates": 2}  # shared draws: noted, allowed
    check_config(loaded_config(synthetic=one, classifier={"seeds": [0, 1, 2]}), REPO)


def test_too_many_attention_levels_fail_at_load():
    config = loaded_config(diffusion={"unet_attention_levels": 3})
    with pytest.raises(ConfigError, match="unet_attention_levels: 3 exceeds the 2 levels"):
        check_config(config, REPO)


def test_a_preset_and_patient_lists_together_are_refused(tmp_path):
    lists = {name: str(tmp_path / f"{name}.txt") for name in ("train", "val", "test")}
    for path in lists.values():
        Path(path).write_text("1\n")
    config = loaded_config(split={"preset": "janowczyk2016", "patient_lists": lists})
    with pytest.raises(ConfigError, match="split.preset 'janowczyk2016' and split.patient_lists"):
        check_config(config, REPO)


def test_a_patient_in_two_lists_fails_at_load(tmp_path):
    lists = {name: str(tmp_path / f"{name}.txt") for name in ("train", "val", "test")}
    for name, path in lists.items():
        Path(path).write_text("7\n" if name != "test" else "8\n")
    with pytest.raises(ConfigError, match="patient 7 is listed for both train and val"):
        check_config(loaded_config(split={"patient_lists": lists}), REPO)


def test_folder_source_without_a_root_says_how_to_set_it():
    with pytest.raises(ConfigError, match=r"data.root: not set.*--config 'data=\{root: "):
        check_config(loaded_config(data={"source": "folder", "root": None}), REPO)


def test_home_is_expanded_in_every_path_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = loaded_config(
        data={"root": "~/idc"},
        split={"patient_lists": {"train": "~/l/t.txt", "val": "v.txt", "test": "~/l/x.txt"}},
        quality={"inception_weights": "~/weights", "encoders": {"uni": "~/models/uni"}},
        diffusion={"pretrained_path": "~/sd"},
    )
    expand_user_paths(config)
    assert config["data"]["root"] == str(tmp_path / "idc")
    assert config["split"]["patient_lists"] == {
        "train": str(tmp_path / "l/t.txt"),
        "val": "v.txt",
        "test": str(tmp_path / "l/x.txt"),
    }
    assert config["quality"]["inception_weights"] == str(tmp_path / "weights")
    assert config["quality"]["encoders"] == {"uni": str(tmp_path / "models/uni")}
    assert config["diffusion"]["pretrained_path"] == str(tmp_path / "sd")
    hub = loaded_config(diffusion={"pretrained_path": "org/model"})
    expand_user_paths(hub)
    assert hub["diffusion"]["pretrained_path"] == "org/model"  # a hub id stays as it is


@pytest.mark.parametrize(
    ("encoders", "valid"),
    [
        ({"dinov2": "/models/dinov2", "uni2": "~/uni"}, True),
        ({"classifier": "/m"}, False),  # a built-in space's name
        ({"DINO": "/m"}, False),  # one lower-case word: it names the feature_space rows
        ({"dino_v2": "/m"}, False),
        ({"dinov2": ""}, False),
    ],
)
def test_encoder_names_are_new_lower_case_words_with_a_folder(encoders, valid):
    import jsonschema

    spec = SCHEMA["properties"]["quality"]["properties"]["encoders"]
    if valid:
        jsonschema.validate(encoders, spec)
    else:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(encoders, spec)
