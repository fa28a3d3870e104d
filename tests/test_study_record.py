"""Config values from the command line are typed by the schema; a run's are recorded; the
preflight's refusals name their fix (unit tests; the workflow's use: tests/test_own_data.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from idc_synth.config_checks import ConfigError, imply_folder_source, schema_problems
from idc_synth.study_checks import (
    device_refusal,
    list_refusal,
    planned_sizes,
    profile_named,
    replaced_configfiles,
    too_few_test_patients,
)
from idc_synth.study_record import coerce_config, ordered_like, read_record, write_record

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())


def test_nested_config_strings_take_the_schemas_types():
    # what Snakemake's --config parser makes of classifier='{seeds: [0, 1, 2]}' and friends
    given = {
        "classifier": {"seeds": ["0", "1", "2"], "learning_rate": "1e-4", "threshold": "0.5"},
        "split": {"preset": "null", "fractions": {"train": "0.6", "val": "0.2", "test": "0.2"}},
        "dcgan": {"conditional": "true"},
        "data": {"root": "/data/idc", "size_policy": "drop"},
        "synthetic": {"count": {"mode": "absolute", "value": "24"}},
    }
    typed = coerce_config(given, SCHEMA)
    assert typed["classifier"] == {"seeds": [0, 1, 2], "learning_rate": 1e-4, "threshold": 0.5}
    assert typed["split"]["preset"] is None
    assert typed["split"]["fractions"] == {"train": 0.6, "val": 0.2, "test": 0.2}
    assert typed["dcgan"]["conditional"] is True
    assert typed["data"] == {"root": "/data/idc", "size_policy": "drop"}  # strings stay
    assert typed["synthetic"]["count"]["value"] == 24


def test_a_value_of_no_allowed_type_is_left_for_validation_to_name():
    typed = coerce_config({"classifier": {"seeds": ["zero"]}, "device": "gpu"}, SCHEMA)
    assert typed["classifier"]["seeds"] == ["zero"]
    problems = schema_problems({**typed}, {**SCHEMA, "required": []})
    assert "classifier.seeds[0]: 'zero' is not allowed; must be of type integer" in problems


def test_a_root_implies_the_folder_source_and_a_stated_demo_contradicts_it():
    data = {"source": "demo", "root": "/data/idc"}
    assert imply_folder_source(data, {"data": {"root": "/data/idc"}})
    assert data["source"] == "folder"
    assert not imply_folder_source({"source": "demo", "root": None}, {})
    with pytest.raises(ConfigError, match=r"data\.source 'demo' and data\.root '/d' contradict"):
        imply_folder_source({"source": "demo", "root": "/d"}, {"data": {"source": "demo"}})


def test_the_record_round_trips(tmp_path):
    record = tmp_path / "results/study.yaml"
    assert read_record(record) is None
    write_record({"data": {"root": "/data/idc"}, "classifier": {"seeds": [0, 1]}}, record)
    assert read_record(record) == {"data": {"root": "/data/idc"}, "classifier": {"seeds": [0, 1]}}


def test_planned_split_sizes_and_their_refusals():
    fractions = {"train": 0.5, "val": 0.2, "test": 0.3}
    sizes, refusal = planned_sizes("folder", 4, fractions, None)
    assert sizes == {"train": 2, "val": 1, "test": 1} and refusal is None
    assert "fix: add patients to data.root" in too_few_test_patients("folder", sizes).line()
    assert too_few_test_patients("folder", {"train": 4, "val": 2, "test": 2}) is None
    assert "fix: raise demo.n_patients" in too_few_test_patients("demo", sizes).line()
    sizes, refusal = planned_sizes("folder", 2, fractions, None)
    assert sizes is None and "needs at least 3 patients" in refusal.line()
    fitted = {"train": 6, "val": 2, "test": 0}
    assert planned_sizes("folder", 8, fractions, fitted) == (fitted, None)


def test_a_split_the_lists_cannot_make_names_the_fix():
    preset = {"preset": "janowczyk2016", "patient_lists": None}
    assert "fix: split.preset: null" in list_refusal(preset, "no listed test patient").line()
    lists = {"preset": None, "patient_lists": {"train": "a"}}
    assert "split.patient_lists" in list_refusal(lists, "no listed test patient").fix
    assert list_refusal(preset, None) is None


def test_cuda_without_a_gpu_is_refused_unless_a_scheduler_places_the_jobs():
    refusal = device_refusal("cuda", scheduled=False, visible=lambda: False)
    assert "no visible GPU" in refusal.problem
    assert "snakemake --profile profiles/idc-cpu --config 'data={root: ...}'" in refusal.fix
    assert "not the full-scale ones with device: cpu" in refusal.fix  # 8 days of CPU steps
    assert device_refusal("cuda", scheduled=True, visible=lambda: False) is None
    assert device_refusal("cuda", scheduled=False, visible=lambda: True) is None
    assert device_refusal("auto", scheduled=False, visible=lambda: False) is None


def test_a_configfile_that_replaces_a_profiles_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert profile_named(["snakemake", "--profile", "profiles/idc-gpu"], {}) == "profiles/idc-gpu"
    assert profile_named(["snakemake", "--profile=p"], {"SNAKEMAKE_PROFILE": "q"}) == "p"
    assert profile_named(["snakemake"], {"SNAKEMAKE_PROFILE": "q"}) == "q"
    profile = ["config.yaml", "profiles/idc-study.yaml"]
    assert replaced_configfiles(profile, [Path(name) for name in profile]) is None
    assert replaced_configfiles(profile, [Path(p) for p in [*profile, "mine.yaml"]]) is None
    note = replaced_configfiles(profile, [Path("config.yaml"), Path("mine.yaml")])
    assert "--configfile config.yaml profiles/idc-study.yaml yours.yaml" in note
    assert replaced_configfiles([], [Path("mine.yaml")]) is None


def test_settings_merged_in_any_order_come_out_in_the_reference_order():
    reference = {"demo": {"seed": 0, "n_patients": 30}, "arms": ["baseline"], "quality": {}}
    merged = {"quality": {"encoders": {"b": "/b", "a": "/a"}}, "demo": {"n_patients": 6, "seed": 0}}
    ordered = ordered_like(merged, reference)
    assert ordered == merged
    assert list(ordered) == ["demo", "quality"]
    assert list(ordered["demo"]) == ["seed", "n_patients"]
    assert list(ordered["quality"]["encoders"]) == ["b", "a"]  # not in the reference: as given
    # the text Snakemake compares params by: one text whatever the merge order
    assert str(ordered_like({"n_patients": 6, "seed": 0}, reference["demo"])) == str(
        ordered_like({"seed": 0, "n_patients": 6}, reference["demo"])
    )
