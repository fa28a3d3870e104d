"""A listing of a data root (file names, sizes, mtimes, and what could not be walked),
rewritten only when it changed.

The manifest rule takes the listing as its input: Snakemake compares mtimes, and a folder's own
mtime misses a patch overwritten in place, while the listing's does not. A dangling link, a loop
or an unreadable folder is a row of its own (so fixing it reruns the manifest), never an error:
the workflow writes the listing when it loads, and a crash there would block every command,
`--unlock` and `-n` included. Standard library only.
"""

from __future__ import annotations

from pathlib import Path

from idc_synth.walk import RootWalk, walk_root

HEADER = "path\tsize\tmtime_ns\tproblem\n"


def root_listing(walk: RootWalk) -> str:
    """One line per file (relative path, size, mtime in ns) and per problem, sorted by path."""
    rows = [f"{found.path}\t{found.size}\t{found.mtime_ns}\t\n" for found in walk.files]
    rows += [f"{path}\t\t\t{reason}\n" for path, reason in walk.problems]
    return HEADER + "".join(sorted(rows))


def refresh_listing(root: Path, listing: Path) -> RootWalk | None:
    """Walk root and write its listing to `listing` unless it already holds it; the walk, or
    None for a missing root (the config check reports it)."""
    if not root.is_dir():
        return None
    walk = walk_root(root, with_stat=True)
    text = root_listing(walk)
    if not (listing.is_file() and listing.read_text() == text):
        listing.parent.mkdir(parents=True, exist_ok=True)
        partial = listing.with_name(listing.name + ".partial")
        partial.write_text(text)
        partial.replace(listing)
    return walk
