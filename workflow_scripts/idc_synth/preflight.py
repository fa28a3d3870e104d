"""The ingest summary a user sees before any training: patients, patches per class, QC rows by
reason, duplicates skipped, split sizes and the patients left out, in a few lines.

Twice: planned from file names while the workflow loads (every command, `-n` included, so a
wrong root or a split that does not fit shows in seconds), and measured after the manifest
decoded every patch (the split job prints it and writes it to the report). Standard library
only; the measured one reads the pandas tables its caller passes.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from idc_synth.layout import FILENAME_RE
from idc_synth.presets import SPLITS, ListFit, fit_lists
from idc_synth.qc import DUPLICATE, NOT_PNG, duplicate_note, is_reject, kind_counts
from idc_synth.walk import RootWalk

SHOWN = 12  # patient ids named on the console; the table and the log name them all
PLANNED, DECODED = "planned from file names", "after decoding"
UNPARSABLE = "name not <patient>_idx5_x<X>_y<Y>_class<C>.png (stops the manifest)"


@dataclass
class IngestSummary:
    stage: str  # PLANNED | DECODED
    root: str
    patients: int
    patches: dict[int, int]  # per class
    qc: dict[str, int]  # QC rows by kind, duplicates apart
    duplicates: int
    duplicate_note: str
    split: str  # how the split is made
    split_sizes: dict[str, int] | None = None  # None: decided by the split job, or failed
    split_error: str | None = None  # why no split could be made
    left_out: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        """(item, value) rows: the report's table, and the console's lines."""
        classes = ", ".join(
            f"class {label}: {count:,}" for label, count in sorted(self.patches.items())
        )
        rejects = {kind: count for kind, count in self.qc.items() if is_reject(kind)}
        other = {kind: count for kind, count in self.qc.items() if not is_reject(kind)}
        rows = [
            ("data root", self.root),
            ("patients", f"{self.patients:,}"),
            ("patches", f"{sum(self.patches.values()):,} ({classes})"),
            ("QC rejects", _counts(rejects)),
            ("QC kept or skipped", _counts(other)),
            ("duplicates", self._duplicates()),
            ("split", self.split),
        ]
        if self.split_error is not None:
            rows.append(("split sizes (patients)", f"none: {self.split_error}"))
        elif self.split_sizes is not None:
            sizes = ", ".join(f"{name} {self.split_sizes[name]}" for name in SPLITS)
            rows.append(("split sizes (patients)", sizes))
        rows.append(("patients left out", _names(self.left_out)))
        if self.missing:
            rows.append(("listed patients not in the root", _names(self.missing)))
        return rows

    def _duplicates(self) -> str:
        if not self.duplicates:
            return "0"
        if self.stage == DECODED:
            return f"{self.duplicates:,} duplicate files skipped ({self.duplicate_note})"
        # planned from the names alone: the manifest compares the copies byte for byte
        return f"{self.duplicates:,} duplicate files to skip if identical ({self.duplicate_note})"

    def lines(self) -> list[str]:
        """A few console lines; long patient lists shortened."""
        width = max(len(item) for item, _ in self.rows())
        return [f"Ingest preflight ({self.stage}):"] + [
            f"  {item:<{width}}  {_shortened(value)}" for item, value in self.rows()
        ]


def _counts(counts: dict[str, int]) -> str:
    if not counts:
        return "0"
    detail = ", ".join(f"{kind}: {count:,}" for kind, count in counts.items())
    return f"{sum(counts.values()):,} ({detail})"


def _names(patients: list[str]) -> str:
    return f"{len(patients)}: {' '.join(patients)}" if patients else "0"


def _shortened(value: str) -> str:
    head, _, names = value.partition(": ")
    ids = names.split(" ")
    if head.isdigit() and len(ids) > SHOWN:  # a patient list
        return f"{head}: {' '.join(ids[:SHOWN])} ... (+{len(ids) - SHOWN} more)"
    return value


def plan_from_walk(
    root: str, walk: RootWalk, split: str, assigned: dict[str, str] | None
) -> IngestSummary:
    """What the manifest and the split will find, from file names alone (nothing decoded):
    twins by (patient, x, y), problems of the walk, and how the patients fit the lists
    (assigned: patient -> split, or None for a stratified split)."""
    qc: Counter[str] = Counter(kind_counts(reason for _, reason in walk.problems))
    first: dict[tuple[str, str, str], tuple[str, str]] = {}  # (patient, x, y) -> (path, label)
    copies: dict[tuple[str, str, str], list[str]] = {}  # the keys found more than once
    for found in walk.files:  # 277,524 at full scale, on every load: kept lean
        name = found.path.rpartition(os.sep)[2]
        match = FILENAME_RE.match(name)
        if match is None:
            qc[UNPARSABLE if name.lower().endswith(".png") else NOT_PNG] += 1
            continue
        patient, x, y, label = match.groups()
        if (patient, x, y) in first:
            copies.setdefault((patient, x, y), [first[patient, x, y][0]]).append(found.path)
        else:
            first[patient, x, y] = (found.path, label)
    twins = [
        path
        for paths in copies.values()
        for path in sorted(paths, key=lambda path: (path.count(os.sep), path.split(os.sep)))[1:]
    ]
    patients = {patient for patient, _, _ in first}
    fit = fit_lists(assigned, patients) if assigned is not None else None
    empty = [name for name in SPLITS if fit is not None and fit.sizes[name] == 0]
    return IngestSummary(
        stage=PLANNED,
        root=root,
        patients=len(patients),
        patches=dict(Counter(int(label) for _, label in first.values())),
        qc=dict(qc),
        duplicates=len(twins),
        duplicate_note=duplicate_note(twins),
        split=split,
        split_sizes=fit.sizes if fit is not None else None,
        split_error=(
            f"{', '.join(f'{n} {fit.sizes[n]}' for n in SPLITS)}: no listed {empty[0]} patient "
            "is in the root, so the split job will stop (is data.root the whole data set?)"
            if empty
            else None
        ),
        **_fit_fields(fit),
    )


def summary_from_tables(
    root: str, manifest, qc, split: str, fit: ListFit | None, split_table=None, error=None
) -> IngestSummary:
    """The ingest as the manifest and split jobs made it (pandas tables: the manifest, the QC
    table, and the split, or the error that stopped it)."""
    twins = qc[qc["reason"].str.startswith(DUPLICATE)]
    return IngestSummary(
        stage=DECODED,
        root=root,
        patients=int(manifest["patient"].nunique()),
        patches={
            int(label): int(count) for label, count in manifest["label"].value_counts().items()
        },
        qc=kind_counts(qc.loc[~qc.index.isin(twins.index), "reason"]),
        duplicates=len(twins),
        duplicate_note=duplicate_note(twins["path"]),
        split=split,
        split_sizes=None
        if split_table is None
        else {name: int((split_table["split"] == name).sum()) for name in SPLITS},
        split_error=error,
        **_fit_fields(fit),
    )


def _fit_fields(fit: ListFit | None) -> dict:
    return {} if fit is None else {"left_out": fit.left_out, "missing": fit.missing}
