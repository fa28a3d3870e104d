"""The QC table's reasons: which rows are rejects, their kinds for counting, and how a set of
skipped duplicates is described. Standard library only (the load-time plan counts them too)."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable

# Rows that are no loss: a patch kept after conversion, a byte-identical twin of a kept patch,
# a file that is no patch (or a linked folder whose files were already ingested).
KEPT = "kept: "
DUPLICATE = "duplicate of "
SKIPPED = "skipped: "
NOT_PNG = f"{SKIPPED}not a .png file"
NO_LOSS = ("kept", "duplicate of", "skipped")


def is_reject(reason: str) -> bool:
    """A file (or folder) whose patches are missing from the manifest; also takes a kind."""
    return not reason.startswith(NO_LOSS)


def reason_kind(reason: str) -> str:
    """The words that name a reason, without its details: 'unreadable', 'oversized',
    'duplicate of', 'dangling link', 'skipped: not a .png file' ... for counts by kind."""
    if reason.startswith(DUPLICATE):
        return DUPLICATE.strip()
    if reason.startswith(SKIPPED):
        return reason.split(" as ")[0].split(";")[0]
    return re.split(r":| \d| \(", reason, maxsplit=1)[0]


def kind_counts(reasons: Iterable[str]) -> dict[str, int]:
    """Rows per reason kind, the commonest first."""
    return dict(Counter(reason_kind(reason) for reason in reasons).most_common())


def duplicate_note(paths: Iterable[str]) -> str:
    """Where skipped twins sit: 'nested copy under X/' when they all lie deeper than
    <patient>/<class>/ inside one top folder (the Kaggle archive's IDC_regular_ps50_idx5/)."""
    parts = [path.split(os.sep) for path in paths]
    tops = {part[0] for part in parts}
    if len(tops) == 1 and all(len(part) > 3 for part in parts):
        return f"nested copy under {tops.pop()}/"
    return "byte-identical copies"
