"""Checks of the study's config that run when the workflow loads, before any job starts.

Schema errors become one short line each (the key, the offending value, what is allowed or
the nearest valid key); cross-key and file-system checks catch what a schema cannot express
(fractions that do not sum to 1, a missing patient list, an unusable pretrained folder), so
that a deterministic input error stops the run in seconds rather than after hours of upstream
jobs and retries.
"""

from __future__ import annotations

import difflib
import math
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from idc_synth.diffusion.folder import PretrainedModelError, check_pipeline_folder

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


def check_pretrained(diffusion: Mapping[str, Any]) -> None:
    """A pretrained LoRA base must be a usable local folder, or a hub id with downloads on."""
    path = Path(diffusion["pretrained_path"]).expanduser()
    if diffusion.get("allow_download") and not path.exists():
        return  # a Hugging Face hub id, fetched by the training job
    if not diffusion["pretrained_path"]:
        raise ConfigError(
            "diffusion.pretrained_path: empty; mode 'pretrained' needs a local diffusers folder"
        )
    try:
        check_pipeline_folder(path)
    except PretrainedModelError as error:
        raise ConfigError(f"diffusion.pretrained_path: {error}") from None


def check_config(config: Mapping[str, Any], workdir: Path) -> None:
    """Cross-key and file checks the schema cannot make; raises ConfigError on the first."""
    root = config["data"]["root"]
    if config["data"]["source"] == "folder" and not (root and (workdir / root).is_dir()):
        raise ConfigError(
            f"data.root: {root!r} is not a folder; data.source 'folder' needs the data root "
            "holding <patient>/<class>/*.png"
        )
    check_fractions(config["split"]["fractions"])
    check_patient_lists(config["split"]["patient_lists"], workdir)
    if "diffusion" in config["arms"] and config["diffusion"]["mode"] == "pretrained":
        check_pretrained(config["diffusion"])
