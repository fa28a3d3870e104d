"""A digest of the library code an entry script runs, for a rule's params: Snakemake sees edits
to the script itself, not to the idc_synth modules it imports, so without it "I changed the
training code" would rerun nothing. A module's template (``<module>.*.j2`` beside it, e.g.
report/summary.md.j2, the summary's wording) is its code too."""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = "idc_synth"
TEMPLATES = "%s.*.j2"  # a module's templates: summary.py -> summary.md.j2


def _module_file(scripts_dir: Path, dotted: str) -> Path | None:
    """The file of a dotted module under scripts_dir (a package's __init__.py), or None."""
    base = scripts_dir.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(path: Path, scripts_dir: Path) -> tuple[str, ...]:
    """The dotted package a file under scripts_dir belongs to, as parts (a package's
    __init__.py belongs to the package itself)."""
    return Path(path).relative_to(scripts_dir).with_suffix("").parts[:-1]


@functools.cache
def _imported(source: str, package: tuple[str, ...] | None = None) -> frozenset[str]:
    """Dotted names of the idc_synth modules a file's source imports (`from idc_synth.x import
    y` counts y too, in case it is a module); relative imports resolve against `package`, the
    file's own package (parts). Cached by source: each entry script's digest walks many of the
    same modules, and parsing them again took ~40 % of a Snakefile's load."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module
            elif package is not None and node.level <= len(package):
                anchor = package[: len(package) - node.level + 1]
                base = ".".join(anchor + ((node.module,) if node.module else ()))
            else:
                continue
            if base:
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(name for name in names if name.split(".")[0] == PACKAGE)


def imported_files(path: Path, scripts_dir: Path, script: bool = False) -> set[Path]:
    """The idc_synth files one file imports directly (anywhere in it), with the __init__.py of
    each package on the way; ``script``: an entry script, outside the package."""
    package = None if script else _package_of(path, scripts_dir)
    files = set()
    for dotted in _imported(Path(path).read_text(), package):
        parts = dotted.split(".")
        for depth in range(1, len(parts) + 1):
            module = _module_file(scripts_dir, ".".join(parts[:depth]))
            if module is not None:
                files.add(module)
    return files


def library_files(script: Path, scripts_dir: Path) -> list[Path]:
    """Every idc_synth file the script imports, directly or through other idc_synth modules,
    with the __init__.py of each package on the way and each module's templates (TEMPLATES)."""
    seen: set[Path] = set()
    pending = [Path(script)]
    while pending:
        path = pending.pop()
        for module in imported_files(path, scripts_dir, script=path == Path(script)) - seen:
            seen.add(module)
            pending.append(module)
    templates = {path for module in seen for path in module.parent.glob(TEMPLATES % module.stem)}
    return sorted(seen | templates)


def code_digest(script: Path, scripts_dir: Path) -> str:
    """SHA-256 (16 hex digits) of the paths, relative to scripts_dir, and contents of the
    library files the script imports: the same wherever the checkout lives."""
    digest = hashlib.sha256()
    for path in library_files(script, scripts_dir):
        digest.update(path.relative_to(scripts_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
