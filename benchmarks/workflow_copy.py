"""A copy of the workflow (no results) in a scratch folder, with a given config; and the tiny
study's config (tests/config/tiny.yaml), for the benchmarks and the workflow tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from snakemake.utils import update_config

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / "tests" / "config" / "tiny.yaml"
WORKFLOW_PARTS = (
    "Snakefile",
    "rules",
    "workflow_scripts",
    "schemas",
    "envs",
    "report",
    "profiles",
    "resources",
    "config.yaml",
)


def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def tiny_config() -> dict:
    """config.yaml with tests/config/tiny.yaml merged on top, as `--configfile` merges it."""
    config = default_config()
    update_config(config, yaml.safe_load(TINY_CONFIG.read_text()))
    return config


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def copy_workflow(destination: Path, config: dict) -> Path:
    """The workflow's files (no results) in `destination`, with `config` as its config.yaml."""
    destination.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(
                source, destination / part, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / part)
    write_config(destination / "config.yaml", config)
    return destination
