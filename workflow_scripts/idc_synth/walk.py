"""Walk a data root: every file once, linked folders followed once, and everything that could
not be walked returned as a problem (path and reason), never raised and never skipped in silence.

Real roots are not tidy: the Kaggle archive nests a second copy of itself, users link patient
folders in from elsewhere, links dangle or point back at an ancestor, and folders can be
unreadable. os.walk would drop linked folders (or, with followlinks, loop forever) and skip an
unreadable folder without a word; os.stat of a dangling link raises. Standard library only: the
workflow walks the root while it loads (the listing), before any job.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

# Reasons of the problems; the manifest's QC table uses them as they are.
UNREADABLE_FOLDER = "unreadable folder"
DANGLING_LINK = "dangling link"
LINK_LOOP = "link loop"
WALKED_ALREADY = "skipped: linked folder already walked as "
NOT_REGULAR = "not a regular file"
FIX_FOLDER = "make it readable (chmod -R u+rX) or move it out of the data root"
FIX_LINK = "repoint or remove the link"


@dataclass(frozen=True)
class Found:
    path: str  # relative to the root, os.sep-separated
    size: int = -1  # -1: not asked for (a stat per file costs at 277,524 files)
    mtime_ns: int = -1


@dataclass
class RootWalk:
    files: list[Found] = field(default_factory=list)  # in walk order: sorted per folder
    problems: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)


def _link_problem(path: str, error: OSError) -> str:
    target = os.readlink(path)
    if error.errno == errno.ELOOP:
        return f"{LINK_LOOP}: -> {target} resolves back to itself; {FIX_LINK}"
    return f"{DANGLING_LINK}: -> {target} does not exist; {FIX_LINK}"


def walk_root(root: Path, *, with_stat: bool = False) -> RootWalk:
    """Every regular file under root, following linked folders once each (by device and inode,
    so a link back to an ancestor or to a folder already walked is a problem row, not a loop).
    with_stat: also each file's size and mtime."""
    walk = RootWalk()
    top = os.stat(root)
    walked = {(top.st_dev, top.st_ino): "."}
    pending = [""]  # relative folders still to list, the next one last
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(os.path.join(root, folder)) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            walk.problems.append((folder or ".", f"{UNREADABLE_FOLDER}: {reason}; {FIX_FOLDER}"))
            continue
        subfolders = []
        for entry in entries:
            relative = os.path.join(folder, entry.name)
            if entry.is_symlink():
                try:
                    mode = os.stat(entry.path).st_mode
                except OSError as error:
                    walk.problems.append((relative, _link_problem(entry.path, error)))
                    continue
                is_folder, is_file = stat.S_ISDIR(mode), stat.S_ISREG(mode)
            else:  # the listing's file type: no stat needed
                is_folder, is_file = entry.is_dir(), entry.is_file()
            if is_folder:
                info = entry.stat()
                key = (info.st_dev, info.st_ino)
                if key in walked:
                    walk.problems.append((relative, f"{WALKED_ALREADY}{walked[key]}"))
                else:
                    walked[key] = relative
                    subfolders.append(relative)
            elif not is_file:  # a FIFO or device named like a patch would block its reader
                walk.problems.append((relative, NOT_REGULAR))
            elif with_stat:
                info = entry.stat()
                walk.files.append(Found(relative, info.st_size, info.st_mtime_ns))
            else:
                walk.files.append(Found(relative))
        pending.extend(reversed(subfolders))
    return walk
