"""Checks of the study's config that run when the workflow loads, before any job starts.

Schema errors become one short line each (the key, the offending value, what is allowed or
the nearest valid key); cross-key and file-system checks catch what a schema cannot express
(fractions that do not sum to 1, a missing patient list, an unusable pretrained folder, a
colour matplotlib cannot draw), so that a deterministic input error stops the run in seconds
rather than after hours of upstream jobs and retries. Path settings get `~` expanded first.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import math
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from idc_synth.arms import study_generators
from idc_synth.presets import PRESET_FOLDER, SplitError, preset_lists, read_lists

SHORT = reprlib.Repr()  # values shortened: a whole config section is never printed
SHORT.maxstring, SHORT.maxother, SHORT.maxlist, SHORT.maxdict, SHORT.maxlevel = 60, 60, 6, 4, 2


class ConfigError(ValueError):
    """The config cannot run; the message names the key and what to change."""


def key_name(path) -> str:
    """classifier.seeds[1] style name of a position in the config."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name.lstrip(".") or "(top level)"


def describe(error: ValidationError) -> list[str]:
    """One line per problem of a schema error, without the schema or config dump."""
    key, value = key_name(error.absolute_path), SHORT.repr(error.instance)
    kind = error.validator
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        lines = []
        for extra in sorted(set(error.instance) - set(allowed)):
            guess = difflib.get_close_matches(extra, allowed, n=1)
            hint = f"did you mean '{guess[0]}'?" if guess else f"allowed: {', '.join(allowed)}"
            lines.append(f"{key_name([*error.absolute_path, extra])}: unknown key; {hint}")
        return lines
    if kind == "enum":
        allowed = ", ".join(map(repr, error.validator_value))
        guess = difflib.get_close_matches(str(error.instance), map(str, error.validator_value), 1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        return [f"{key}: {value} is not allowed{hint}; allowed: {allowed}"]
    if kind == "required":
        return [f"{key}: {error.message}"]
    if kind in ("oneOf", "anyOf"):
        options = [describe_schema(option) for option in error.validator_value]
        return [f"{key}: {value} is not allowed; allowed: {' or '.join(options)}"]
    limits = {
        "minimum": ">=",
        "maximum": "<=",
        "exclusiveMinimum": ">",
        "exclusiveMaximum": "<",
        "minItems": "at least this many items:",
        "maxItems": "at most this many items:",
    }
    if kind in limits:
        return [f"{key}: {value} is not allowed; must be {limits[kind]} {error.validator_value}"]
    if kind == "type":
        return [f"{key}: {value} is not allowed; must be of type {error.validator_value}"]
    return [f"{key}: {value} is not allowed ({SHORT.repr(error.message)})"]


def describe_schema(schema: Mapping) -> str:
    """A few words for one alternative of a oneOf/anyOf."""
    if "enum" in schema:
        return " | ".join(map(repr, schema["enum"]))
    if "const" in schema:
        return repr(schema["const"])
    words = str(schema.get("type", "value"))
    for bound, sign in (("minimum", ">="), ("maximum", "<=")):
        if bound in schema:
            words += f" {sign} {schema[bound]}"
    return words


def schema_problems(config: Mapping, schema: Mapping) -> list[str]:
    """Every schema violation of config, one short line each, in key order."""
    errors = Draft202012Validator(schema).iter_errors(config)
    lines = []
    for error in sorted(errors, key=lambda error: [str(p) for p in error.absolute_path]):
        lines.extend(describe(error))
    return lines


def check_fractions(fractions: Mapping[str, float]) -> None:
    total = sum(fractions.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ConfigError(
            f"split.fractions: {dict(fractions)} sum to {total:g}; they must sum to 1"
        )


def check_patient_lists(lists: Mapping[str, str] | None, workdir: Path) -> None:
    for split, path in (lists or {}).items():
        if not (workdir / path).is_file():
            raise ConfigError(
                f"split.patient_lists.{split}: {path} is not a file (relative paths are read "
                f"from {workdir}); give one patient id per line"
            )
    if lists:
        try:
            read_lists({split: workdir / path for split, path in lists.items()})
        except SplitError as error:
            raise ConfigError(f"split.patient_lists: {error}") from None


def expand_user_paths(config: dict[str, Any]) -> None:
    """`~` and `~user` expanded, in place, in every path setting (as a shell would)."""
    data, split, quality = config["data"], config["split"], config["quality"]
    for section, key in ((data, "root"), (quality, "inception_weights")):
        if section[key]:
            section[key] = str(Path(section[key]).expanduser())
    quality["encoders"] = {
        name: str(Path(path).expanduser()) for name, path in quality["encoders"].items()
    }
    if split["patient_lists"]:
        split["patient_lists"] = {
            name: str(Path(path).expanduser()) for name, path in split["patient_lists"].items()
        }
    diffusion = config["diffusion"]
    if diffusion.get("pretrained_path", "").startswith("~"):  # else maybe a hub id: left as is
        diffusion["pretrained_path"] = str(Path(diffusion["pretrained_path"]).expanduser())


def imply_folder_source(data: dict[str, Any], command_line: Mapping[str, Any]) -> bool:
    """A data.root means the user's data: source 'folder' unless the command line's --config
    says 'demo' too (a contradiction: an error naming both keys). True when it was implied."""
    if not data["root"] or data["source"] != "demo":
        return False
    if (command_line.get("data") or {}).get("source") == "demo":
        raise ConfigError(
            f"data.source 'demo' and data.root {data['root']!r} contradict: the demo generates "
            "its own patches; drop data.source to study the root (a root implies 'folder'), or "
            "drop data.root to run the demo"
        )
    data["source"] = "folder"
    return True


def check_data_root(data: Mapping[str, Any], workdir: Path) -> None:
    if data["source"] != "folder":
        return
    if not data["root"]:
        raise ConfigError(
            "data.root: not set; data.source 'folder' needs the folder holding "
            "<patient>/<class>/*.png: set it in your config file, or pass "
            "--config 'data={root: /path/to/IDC_regular_ps50_idx5}'"
        )
    if not (workdir / data["root"]).is_dir():
        raise ConfigError(
            f"data.root: {data['root']!r} is not a folder; data.source 'folder' needs the data "
            "root holding <patient>/<class>/*.png"
        )


def check_split(split: Mapping[str, Any], workdir: Path) -> None:
    if split["preset"] and split["patient_lists"]:
        raise ConfigError(
            f"split.preset {split['preset']!r} and split.patient_lists are both set; keep one "
            "(the preset is a set of patient lists shipped with the workflow)"
        )
    lists = preset_lists(split["preset"]) if split["preset"] else {}
    if not all(path.is_file() for path in lists.values()):
        raise ConfigError(
            f"split.preset {split['preset']!r}: its lists are missing from "
            f"{PRESET_FOLDER}; restore them from the repository"
        )
    check_fractions(split["fractions"])
    check_patient_lists(split["patient_lists"], workdir)


def check_colors(colors: Mapping[str, str]) -> None:
    """Colours are drawn only at plot time, hours in; matplotlib judges them now."""
    from matplotlib.colors import is_color_like  # colors only: no pyplot, no backend

    bad = {name: value for name, value in colors.items() if not is_color_like(value)}
    if bad:
        listed = ", ".join(f"figures.colors.{name}: {value!r}" for name, value in bad.items())
        raise ConfigError(
            f"{listed} is not a colour matplotlib can draw; use a hex code such as '#0072B2' or "
            "a named colour such as 'tab:blue'"
        )


def check_generators(config: Mapping[str, Any]) -> None:
    """Each generator any arm trains (a combined arm such as diffusion+stain too): its package's
    ``checks.check(section)``, where it has one (the generator contract, docs/generators.md)."""
    for generator in study_generators(config["arms"]):
        module = f"idc_synth.{generator}.checks"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module).check(config[generator])


def check_realizations(synthetic: Mapping[str, Any], seeds: list[int]) -> None:
    """per_draw with fewer draws than seeds: seeds sharing a draw share its generator too, so
    they are not independent replicates of the generator's training, which the test assumes."""
    draws = synthetic["replicates"]
    per_draw = synthetic["generator_realizations"] == "per_draw"
    if per_draw and draws != "per_seed" and draws < len(seeds):
        raise ConfigError(
            f"synthetic.replicates: {draws} draws for {len(seeds)} classifier.seeds with "
            "synthetic.generator_realizations: per_draw (seeds sharing a generator are not "
            f"independent); set synthetic.replicates: per_seed (or >= {len(seeds)})"
        )


def check_config(config: Mapping[str, Any], workdir: Path) -> None:
    """Cross-key and file checks the schema cannot make; raises ConfigError on the first."""
    check_data_root(config["data"], workdir)
    check_split(config["split"], workdir)
    check_colors(config["figures"]["colors"])
    check_realizations(config["synthetic"], config["classifier"]["seeds"])
    check_generators(config)
