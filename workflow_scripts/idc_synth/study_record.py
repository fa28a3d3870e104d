"""The study as the command line names it: `--config` values typed by the schema, and the
overrides of the last run recorded under results/ so that later commands describe that study.

Snakemake reads a nested `--config` value with YAML's base loader, so every scalar in it is a
string (`classifier={seeds: [0, 1]}` gives ['0', '1'], `split={preset: null}` gives 'null');
`coerce` reads each such string as YAML would in a config file, where the schema allows that
type. The overrides of a run (its --configfile and --config values, merged) are recorded in
results/study.yaml; a later command that names none (`snakemake --report`, a rerun) applies
the recorded ones, so it describes the study that ran rather than the embedded demo.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

STUDY_RECORD = Path("results/study.yaml")
HEADER = (
    "# The configuration this study's command line added to config.yaml (its --configfile and\n"
    "# --config values), recorded when it ran: a later command that names none (a rerun,\n"
    "# `snakemake --report`) applies these. Delete this file, or pass --config, to change it.\n"
)


def _fits(value: Any, schema: Mapping) -> bool:
    return Draft202012Validator(schema).is_valid(value)


def _subschemas(schema: Mapping) -> list[Mapping]:
    """The schema and its oneOf/anyOf alternatives (a list or object may sit in one)."""
    return [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]


def coerce(value: Any, schema: Mapping) -> Any:
    """`value` with each string the schema does not accept as a string read as YAML (or as a
    number), where that reading fits; anything else is left for validation to name."""
    if isinstance(value, dict):
        properties: dict[str, Mapping] = {}
        for option in _subschemas(schema):
            properties.update(option.get("properties", {}))
        return {key: coerce(item, properties.get(key, {})) for key, item in value.items()}
    if isinstance(value, list):
        items = next((option["items"] for option in _subschemas(schema) if "items" in option), {})
        return [coerce(item, items) for item in value]
    if not isinstance(value, str) or not schema or _fits(value, schema):
        if isinstance(value, str) and value == "null" and _fits(None, schema):
            return None  # `root: null` means no root, as in a config file
        return value
    readings = [yaml.safe_load(value) if value.strip() else value]
    for number in (int, float):  # PyYAML 1.1 reads 1e-4 as a string
        with contextlib.suppress(ValueError):
            readings.append(number(value))
    return next((reading for reading in readings if _fits(reading, schema)), value)


def ordered_like(value: Any, reference: Any) -> Any:
    """``value`` with every mapping's keys in ``reference``'s order (keys the reference lacks
    after them, in their own order). Snakemake compares a rule's params as text, so one set of
    settings merged in another order (``--configfile tiny.yaml`` rather than ``config.yaml
    tiny.yaml``, defaults filled in last) would rerun every rule whose params hold a section."""
    if not isinstance(value, dict):
        return value
    reference = reference if isinstance(reference, dict) else {}
    keys = [key for key in reference if key in value] + [
        key for key in value if key not in reference
    ]
    return {key: ordered_like(value[key], reference.get(key)) for key in keys}


def coerce_config(values: Mapping[str, Any], schema: Mapping) -> dict[str, Any]:
    """The command line's config values, typed by the whole config schema."""
    return coerce(dict(values), schema)


def read_record(path: Path = STUDY_RECORD) -> dict[str, Any] | None:
    """The overrides recorded by the last run, or None when no run recorded any."""
    if not path.is_file():
        return None
    return yaml.safe_load(path.read_text()) or {}


def write_record(overrides: Mapping[str, Any], path: Path = STUDY_RECORD) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + yaml.safe_dump(dict(overrides), sort_keys=False))
