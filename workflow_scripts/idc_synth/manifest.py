"""Scan a data root in the IDC layout into a patch manifest plus a QC table of rejects.

Every image is decoded once here (not just its header), so a truncated PNG is caught now
rather than in the middle of packing or training.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from PIL import Image

from idc_synth.layout import CLASSES, PATCH_SIZE, FolderMismatch, LayoutError, parse_patch_path

log = logging.getLogger(__name__)

SIZE_POLICIES = ("drop", "pad")
MANIFEST_COLUMNS = ["path", "patient", "x", "y", "label", "width", "height", "mode", "status"]
QC_COLUMNS = ["path", "reason"]
# QC rows of patches that stay in the manifest (converted, not rejected) start with this.
KEPT = "kept: "
MAX_EXAMPLES = 5


class ManifestError(ValueError):
    """The data root cannot become a usable manifest; the message says why and what to do.

    `rejected` holds the QC table when the scan got that far, so that it can be written
    before the error stops the rule.
    """

    def __init__(self, message: str, rejected: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.rejected = rejected


@dataclass(frozen=True)
class ManifestResult:
    manifest: pd.DataFrame
    rejected: pd.DataFrame


def find_patch_files(root: Path) -> list[Path]:
    """All PNGs under root, sorted so the manifest's order does not depend on the file system."""
    if not root.is_dir():
        raise ManifestError(
            f"data root {root} is not a folder; set data.root in config.yaml to the folder "
            "that holds <patient>/<class>/*.png"
        )
    files = sorted(
        Path(dirpath, name).relative_to(root)
        for dirpath, _, names in os.walk(root)
        for name in names
        if name.lower().endswith(".png")
    )
    if not files:
        raise ManifestError(
            f"no .png patches under {root}; expected <patient>/<class>/"
            "<patient>_idx5_x<X>_y<Y>_class<C>.png (the IDC dataset's layout)"
        )
    return files


def inspect_image(path: Path) -> tuple[int, int, str] | str:
    """(width, height, mode) of a fully decoded image, or why it cannot be read."""
    if path.stat().st_size == 0:
        return "unreadable: empty file (0 bytes)"
    try:
        with Image.open(path) as image:
            image.load()
            return image.width, image.height, image.mode
    except Exception as error:  # PIL raises many types for broken files; all mean "unreadable"
        return f"unreadable: {type(error).__name__}: {error}"


def _inspect_many(paths: list[Path]) -> list[tuple[int, int, str] | str]:
    return [inspect_image(path) for path in paths]


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def inspect_images(paths: list[Path], workers: int, chunk_size: int = 1024) -> list:
    """inspect_image over many paths, in parallel processes when workers > 1, order kept."""
    chunks = list(_chunks(paths, chunk_size))
    if workers <= 1 or len(chunks) <= 1:
        results = map(_inspect_many, chunks)
        return [item for chunk in results for item in chunk]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [item for chunk in pool.map(_inspect_many, chunks) for item in chunk]


def size_decision(width: int, height: int, policy: str) -> str:
    """'ok', 'padded', or the reason a patch of this size is rejected."""
    if (width, height) == (PATCH_SIZE, PATCH_SIZE):
        return "ok"
    if width > PATCH_SIZE or height > PATCH_SIZE:
        return f"oversized {width}x{height} (patches are {PATCH_SIZE}x{PATCH_SIZE})"
    if policy == "pad":
        return "padded"
    return f"undersized {width}x{height} dropped by policy 'drop'"


def parse_names(root: Path, files: list[Path]) -> tuple[list[dict], list[dict]]:
    """Parse every name; unparsable names stop the scan, folder mismatches become rejects."""
    parsed, rejected, unparsable = [], [], []
    for relative in files:
        try:
            name = parse_patch_path(root / relative)
        except FolderMismatch as error:
            rejected.append({"path": str(relative), "reason": f"folder mismatch: {error}"})
        except LayoutError:
            unparsable.append(relative)
        else:
            parsed.append({"path": str(relative), **vars(name)})
    if unparsable:
        examples = ", ".join(str(root / path) for path in unparsable[:MAX_EXAMPLES])
        raise ManifestError(
            f"{len(unparsable)} file name(s) under {root} do not parse as "
            f"'<patient>_idx5_x<X>_y<Y>_class<0|1>.png', e.g. {examples}; "
            "rename them or move them out of the data root"
        )
    return parsed, rejected


def build_manifest(
    root: Path, size_policy: str, max_reject_fraction: float, workers: int = 1
) -> ManifestResult:
    """Scan root, decode every patch, and split the files into accepted and rejected."""
    if size_policy not in SIZE_POLICIES:
        raise ManifestError(f"size policy {size_policy!r} is not one of {SIZE_POLICIES}")
    files = find_patch_files(root)
    log.info("found %d .png files under %s", len(files), root)
    parsed, rejected = parse_names(root, files)
    inspections = inspect_images([root / row["path"] for row in parsed], workers)
    accepted = []
    for row, inspection in zip(parsed, inspections, strict=True):
        if isinstance(inspection, str):
            rejected.append({"path": row["path"], "reason": inspection})
            continue
        width, height, mode = inspection
        status = size_decision(width, height, size_policy)
        if status in ("ok", "padded"):
            accepted.append(
                {**row, "width": width, "height": height, "mode": mode, "status": status}
            )
            if mode != "RGB":  # packing converts it; say so rather than change it silently
                rejected.append({"path": row["path"], "reason": f"{KEPT}{mode} image, as RGB"})
        else:
            rejected.append({"path": row["path"], "reason": status})
    manifest = pd.DataFrame(accepted, columns=MANIFEST_COLUMNS)
    rejects = pd.DataFrame(rejected, columns=QC_COLUMNS).sort_values("path", ignore_index=True)
    try:
        check_rejects(root, len(files), rejects, max_reject_fraction)
        check_classes(root, manifest)
    except ManifestError as error:
        error.rejected = rejects
        raise
    return ManifestResult(manifest=manifest.astype({"label": "int8"}), rejected=rejects)


def check_rejects(root: Path, n_files: int, qc: pd.DataFrame, max_fraction: float) -> None:
    rejects = qc[~qc["reason"].str.startswith(KEPT)]
    fraction = len(rejects) / n_files
    if fraction > max_fraction:
        reasons = rejects["reason"].str.split(":").str[0].str.split(" ").str[0].value_counts()
        summary = ", ".join(f"{reason}: {count}" for reason, count in reasons.items())
        examples = "; ".join(
            f"{root / row.path} ({row.reason})" for row in rejects.head(MAX_EXAMPLES).itertuples()
        )
        raise ManifestError(
            f"{len(rejects)} of {n_files} patches under {root} ({fraction:.1%}) were rejected, "
            f"more than data.max_reject_fraction={max_fraction}: {summary}. Examples: {examples}. "
            "Fix or remove those files, or raise data.max_reject_fraction if that is expected"
        )


def check_classes(root: Path, manifest: pd.DataFrame) -> None:
    for label in CLASSES:
        if not (manifest["label"] == label).any():
            raise ManifestError(
                f"no usable patches of class {label} under {root}: a classifier needs both "
                "classes (0 = non-IDC, 1 = IDC); check the data root and the QC table"
            )
