"""The config schema's defaults: the one source of every default value.

config.yaml holds the same values (tests/test_config_defaults.py fails when the two drift), and
the settings dataclasses take their field defaults from here, so a default lives in one place.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


@functools.cache
def _schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA.read_text())


def schema_defaults(section: str) -> dict[str, Any]:
    """key -> default of a top-level config section's keys."""
    properties = _schema()["properties"][section]["properties"]
    return {key: spec["default"] for key, spec in properties.items() if "default" in spec}


def schema_generators() -> tuple[str, ...]:
    """The config sections the schema marks ``x-generator: true``, in schema order: a generator
    declares itself by its config section (docs/generators.md)."""
    return tuple(name for name, spec in _schema()["properties"].items() if spec.get("x-generator"))
