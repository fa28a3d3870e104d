"""A listing of a data root (file names, sizes, mtimes), rewritten only when it changed.

The manifest rule takes the listing as its input: Snakemake compares mtimes, and a folder's own
mtime misses a patch overwritten in place, while the listing's does not. Standard library only:
the workflow writes it when it loads.
"""

from __future__ import annotations

import os
from pathlib import Path

HEADER = "path\tsize\tmtime_ns\n"


def root_listing(root: Path) -> str:
    """One line per file under root (relative path, size, mtime in ns), sorted by path."""
    rows = []
    for dirpath, dirnames, names in os.walk(root):
        dirnames.sort()
        for name in names:
            path = os.path.join(dirpath, name)
            stat = os.stat(path)
            rows.append(f"{os.path.relpath(path, root)}\t{stat.st_size}\t{stat.st_mtime_ns}\n")
    return HEADER + "".join(sorted(rows))


def write_listing_if_changed(root: Path, listing: Path) -> bool:
    """Write root's listing to `listing` unless it already holds it; True when written.

    A missing root writes nothing: the manifest rule then reports it with its own message.
    """
    if not root.is_dir():
        return False
    text = root_listing(root)
    if listing.is_file() and listing.read_text() == text:
        return False
    listing.parent.mkdir(parents=True, exist_ok=True)
    partial = listing.with_name(listing.name + ".partial")
    partial.write_text(text)
    partial.replace(listing)
    return True
