"""docs/configuration.md, rendered from the config schema so that the reference cannot drift.

    PYTHONPATH=workflow_scripts python -m idc_synth.config_reference > docs/configuration.md

tests/test_docs.py fails when the committed page differs from what this renders.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"

HEADER = """# Configuration

`config.yaml` is the embedded default (the demo study). Every key below is checked when the
workflow loads (`schemas/config.schema.yaml`): an unknown key, a wrong type or an out-of-range
value stops it before any job, naming the key and what is allowed. Change a key in a config
file of your own (`snakemake --cores all --configfile=my-study.yaml`), in a profile, or on the
command line (`--config 'classifier={seeds: [0, 1, 2, 3, 4]}'`, `--config 'split={preset: null}'`:
a section given on the command line changes the keys it names and keeps the others; its values
are read as in a config file, numbers, booleans, `null` and lists included).

Which settings win: config.yaml, then each `--configfile` in the order given, then `--config`;
a later one changes the keys it names. A profile's `configfiles:` (the GPU profiles' `config.yaml
profiles/idc-study.yaml`) stand for `--configfile` only when the command gives none: a
`--configfile` on the command line replaces the profile's list (the console says so), so list
them with yours last: `--configfile config.yaml profiles/idc-study.yaml my-study.yaml`. Setting
`data.root` means your data (`data.source: folder` is implied). A run records its command
line's settings in `results/study.yaml`; a later command that gives none (a rerun,
`snakemake --report report.html`) uses them, and the console's `Study (...)` lines say where
the settings came from.

Every value a rule uses reaches it through `params:`, so a changed key reruns exactly the rules
that depend on it.

This page is generated from the schema
(`PYTHONPATH=workflow_scripts python -m idc_synth.config_reference > docs/configuration.md`).
"""


def _literal(value: object) -> str:
    """A value as it is written in YAML flow style, in code format."""
    text = json.dumps(value) if not isinstance(value, str) else value
    return f"`{text}`"


def _allowed(spec: dict) -> str:
    """The values a key takes, from its type, enum and bounds."""
    if "enum" in spec:
        return " \\| ".join(_literal(value) for value in spec["enum"])
    if "oneOf" in spec:
        return " or ".join(_allowed(option) for option in spec["oneOf"])
    if "const" in spec:
        return _literal(spec["const"])
    kind = spec.get("type", "")
    if kind == "array":
        items = f"list of ({_allowed(spec['items'])})" if "items" in spec else "list"
        return f"{items}, at least {spec['minItems']}" if "minItems" in spec else items
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    bounds = [
        f"{symbol} {spec[key]}"
        for key, symbol in (
            ("minimum", "≥"),
            ("exclusiveMinimum", ">"),
            ("maximum", "≤"),
            ("exclusiveMaximum", "<"),
        )
        if key in spec
    ]
    return ", ".join([kind, *bounds]) if kind else ", ".join(bounds)


def _rows(properties: dict, prefix: str) -> list[str]:
    """One table row per leaf key; nested objects contribute their keys, dotted."""
    rows = []
    for name, spec in properties.items():
        key = f"{prefix}{name}"
        if _is_section(spec):
            rows += _rows(spec["properties"], f"{key}.")
            continue
        description = " ".join(spec.get("description", "").split()).replace("|", "\\|")
        default = _literal(spec["default"]) if "default" in spec else ""
        rows.append(f"| `{key}` | {default} | {_allowed(spec)} | {description} |")
    return rows


def _is_section(spec: dict) -> bool:
    return "properties" in spec and spec.get("type") == "object"


def render(schema: dict) -> str:
    """The whole reference page: one section per top-level key, a table of its leaf keys."""
    lines = [HEADER]
    for name, spec in schema["properties"].items():
        lines += [f"## `{name}`", ""]
        if _is_section(spec):
            if spec.get("description"):
                lines += [" ".join(spec["description"].split()), ""]
            rows = _rows(spec["properties"], f"{name}.")
        else:
            rows = _rows({name: spec}, "")
        lines += ["| key | default | allowed | meaning |", "|---|---|---|---|", *rows, ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    sys.stdout.write(render(yaml.safe_load(SCHEMA.read_text())))


if __name__ == "__main__":
    main()
