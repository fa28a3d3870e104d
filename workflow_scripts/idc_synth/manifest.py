"""Scan a data root in the IDC layout into a patch manifest, a QC table of rejects, and the
pixels of every kept patch.

Each (patient, x, y) is ingested once: byte-identical twins (the Kaggle archive holds every
patient twice, the second copy nested under IDC_regular_ps50_idx5/) are kept once and each
skipped twin is a QC row; twins that differ stop the scan. Linked folders are followed once;
dangling links, link loops and unreadable folders are QC rows (idc_synth.walk).

Every image is decoded exactly once per ingest, here: the decode that checks a patch (so a
truncated PNG is caught now, not in the middle of training) also writes its RGB pixels into
one uint8 (N, 50, 50, 3) .npy, row i = manifest row i, and packing only gathers rows from it.
Worker processes write straight into that memory map (the parent creates it, each worker maps
it r+) and send back only their small QC results, never pixels.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from idc_synth.batches import release_mapped_pages
from idc_synth.layout import (
    CLASSES,
    FILENAME_RE,
    PATCH_SIZE,
    FolderMismatch,
    LayoutError,
    parse_patch_path,
)
from idc_synth.qc import DUPLICATE, KEPT, NOT_PNG, duplicate_note, is_reject, kind_counts
from idc_synth.walk import walk_root

log = logging.getLogger(__name__)

SIZE_POLICIES = ("drop", "pad")
MANIFEST_COLUMNS = ["path", "patient", "x", "y", "label", "width", "height", "mode", "status"]
QC_COLUMNS = ["path", "reason"]
MAX_EXAMPLES = 5
PAD_VALUE = 255  # slide background is white; edge patches are cut off at the slide border
PIXEL_SHAPE = (PATCH_SIZE, PATCH_SIZE, 3)
# (width, height, mode) of a decoded image, or why it could not be decoded
Inspection = tuple[int, int, str] | str


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


def find_patch_files(root: Path) -> tuple[list[str], list[dict]]:
    """All PNGs under root as relative paths, sorted part by part (as Paths sort) so the
    manifest's order does not depend on the file system, and a QC row for everything else the
    walk met (other files, dangling or looping links, unreadable folders). Strings, not Paths:
    at 277,524 patches, building Paths cost as much as a tenth of the decode."""
    if not root.is_dir():
        raise ManifestError(
            f"data root {root} is not a folder; set data.root in config.yaml to the folder "
            "that holds <patient>/<class>/*.png"
        )
    walk = walk_root(root)
    if walk.problems and walk.problems[0][0] == os.curdir:
        raise ManifestError(f"data root {root}: {walk.problems[0][1]}")
    files, rows = [], [{"path": path, "reason": reason} for path, reason in walk.problems]
    for found in walk.files:
        if found.path.lower().endswith(".png"):
            files.append(found.path)
        else:
            rows.append({"path": found.path, "reason": NOT_PNG})
    if not files:
        raise ManifestError(
            f"no .png patches under {root}; expected <patient>/<class>/"
            "<patient>_idx5_x<X>_y<Y>_class<C>.png (the IDC dataset's layout)"
        )
    return sorted(files, key=lambda relative: relative.split(os.sep)), rows


def read_patch(path: Path | str) -> tuple[np.ndarray | None, Inspection]:
    """Decode an image fully: its RGB uint8 (50, 50, 3) pixels (smaller edge patches padded
    right/bottom with white; None when it is larger than a patch or unreadable) and its
    inspection."""
    try:
        with Image.open(path) as image:
            image.load()
            inspection = image.width, image.height, image.mode
            rgb = image if image.mode == "RGB" else image.convert("RGB")
            pixels = np.asarray(rgb, dtype=np.uint8)
    except Exception as error:  # PIL raises many types for broken files; all mean "unreadable"
        if os.path.getsize(path) == 0:  # checked only here: a stat per patch costs
            return None, "unreadable: empty file (0 bytes)"
        return None, f"unreadable: {type(error).__name__}: {error}"
    height, width = pixels.shape[:2]
    if width > PATCH_SIZE or height > PATCH_SIZE:
        return None, inspection
    if (height, width) != (PATCH_SIZE, PATCH_SIZE):
        padded = np.full(PIXEL_SHAPE, PAD_VALUE, dtype=np.uint8)
        padded[:height, :width] = pixels
        pixels = padded
    return pixels, inspection


def _decode_into(pixels_path: Path, start: int, root: Path, files: list[str]) -> list[Inspection]:
    """Decode root/files into rows start, start + 1, ... of the .npy at pixels_path, mapped r+."""
    out = np.load(pixels_path, mmap_mode="r+")
    inspections = []
    for row, relative in enumerate(files, start):
        pixels, inspection = read_patch(os.path.join(root, relative))
        if pixels is not None:
            out[row] = pixels
        inspections.append(inspection)
    return inspections


def decode_into(
    root: Path, files: list[str], pixels_path: Path, workers: int, chunk_size: int = 512
) -> list[Inspection]:
    """Decode every file once into row i of a new uint8 (len(files), 50, 50, 3) .npy, in
    parallel processes when workers > 1; returns the inspections in order."""
    np.lib.format.open_memmap(
        pixels_path, mode="w+", dtype=np.uint8, shape=(len(files), *PIXEL_SHAPE)
    ).flush()  # header written and file sized; every decoder maps it r+
    starts = range(0, len(files), chunk_size)
    chunks = [files[start : start + chunk_size] for start in starts]
    arguments = (repeat(pixels_path), starts, repeat(root), chunks)
    if workers <= 1 or len(chunks) <= 1:
        return [item for chunk in map(_decode_into, *arguments) for item in chunk]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [item for chunk in pool.map(_decode_into, *arguments) for item in chunk]


def write_rows(source: np.ndarray, rows: np.ndarray, path: Path, block: int = 4096) -> None:
    """Write source[rows], in order, as a new uint8 (len(rows), 50, 50, 3) .npy at path, a
    block at a time (a copy, no decode). The header comes from open_memmap; the rows follow
    it through plain writes, without a fresh mapping's page faults or flush()'s msync (the
    readers share the page cache). A memory-mapped source's pages are released after each
    block, so the job's RSS stays near one block, not the whole set (~1.5 GB for train)."""
    header = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.uint8, shape=(len(rows), *PIXEL_SHAPE)
    ).offset
    with path.open("r+b") as stream:
        stream.seek(header)
        for start in range(0, len(rows), block):
            stream.write(source[rows[start : start + block]].data)
            release_mapped_pages(source)


def size_decision(width: int, height: int, policy: str) -> str:
    """'ok', 'padded', or the reason a patch of this size is rejected."""
    if (width, height) == (PATCH_SIZE, PATCH_SIZE):
        return "ok"
    if width > PATCH_SIZE or height > PATCH_SIZE:
        return f"oversized {width}x{height} (patches are {PATCH_SIZE}x{PATCH_SIZE})"
    if policy == "pad":
        return "padded"
    return f"undersized {width}x{height} dropped by policy 'drop'"


def _parse_common_case(relative: str) -> dict | None:
    """parse_patch_path's verdict for the common case, <patient>/<class>/<name> with folders
    that agree with the name, without building Paths; None sends the file to parse_patch_path
    (anything else, and every error message)."""
    parts = relative.split(os.sep)
    match = FILENAME_RE.match(parts[-1])
    if match is None or len(parts) < 3 or parts[-3:-1] != [match["patient"], match["label"]]:
        return None
    x, y, label = int(match["x"]), int(match["y"]), int(match["label"])
    return {"path": relative, "patient": match["patient"], "x": x, "y": y, "label": label}


def parse_names(root: Path, files: list[str]) -> tuple[list[dict], list[dict]]:
    """Parse every name; unparsable names stop the scan, folder mismatches become rejects."""
    parsed, rejected, unparsable = [], [], []
    for relative in files:
        row = _parse_common_case(relative)
        if row is not None:
            parsed.append(row)
            continue
        try:
            name = parse_patch_path(root / relative)
        except FolderMismatch as error:
            rejected.append({"path": relative, "reason": f"folder mismatch: {error}"})
        except LayoutError:
            unparsable.append(relative)
        else:
            parsed.append({"path": relative, **vars(name)})
    if unparsable:
        examples = ", ".join(str(root / path) for path in unparsable[:MAX_EXAMPLES])
        raise ManifestError(
            f"{len(unparsable)} file name(s) under {root} do not parse as "
            f"'<patient>_idx5_x<X>_y<Y>_class<0|1>.png', e.g. {examples}; "
            "rename them or move them out of the data root"
        )
    return parsed, rejected


def drop_twins(root: Path, parsed: list[dict], workers: int = 1) -> tuple[list[dict], list[dict]]:
    """One file per (patient, x, y): of byte-identical twins the shallowest path is kept (the
    archive's top-level copy, not the nested one) and each other is a QC row 'duplicate of
    <kept>'. Twins that differ, in bytes or label, stop the scan: which copy is right cannot
    be told, and keeping both would put one patch twice in the data (in train and test, say)."""
    groups: dict[tuple[str, int, int], list[dict]] = {}
    for row in parsed:
        groups.setdefault((row["patient"], row["x"], row["y"]), []).append(row)
    pairs = []
    for rows in groups.values():
        if len(rows) > 1:
            rows.sort(key=lambda row: (row["path"].count(os.sep), row["path"].split(os.sep)))
            pairs += [(rows[0], twin) for twin in rows[1:]]
    if not pairs:
        return parsed, []

    def identical(chunk: list[tuple[dict, dict]]) -> list[bool]:
        # whole reads of path strings: 277,524 pairs take ~20 s on one thread this way
        # (filecmp.cmp, or a future per pair, cost 2.5-5x that)
        verdicts = []
        for kept, twin in chunk:
            first, second = os.path.join(root, kept["path"]), os.path.join(root, twin["path"])
            with open(first, "rb") as one, open(second, "rb") as other:
                verdicts.append(kept["label"] == twin["label"] and one.read() == other.read())
        return verdicts

    size = -(-len(pairs) // max(1, workers))
    chunks = [pairs[start : start + size] for start in range(0, len(pairs), size)]
    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:  # reads release the GIL
        verdicts = [same for chunk in pool.map(identical, chunks) for same in chunk]
    differing = [pair for pair, same in zip(pairs, verdicts, strict=True) if not same]
    if differing:
        examples = "; ".join(
            f"{root / kept['path']} vs {root / twin['path']}"
            for kept, twin in differing[:MAX_EXAMPLES]
        )
        raise ManifestError(
            f"{len(differing)} patch(es) under {root} exist twice with different content (the "
            f"same patient, x and y), e.g. {examples}; which copy is right cannot be told: "
            "remove the wrong copies, or point data.root at one copy of the data"
        )
    skipped = {twin["path"] for _, twin in pairs}
    twins = [{"path": twin["path"], "reason": f"{DUPLICATE}{kept['path']}"} for kept, twin in pairs]
    return [row for row in parsed if row["path"] not in skipped], twins


def build_manifest(
    root: Path, size_policy: str, max_reject_fraction: float, pixels_path: Path, workers: int = 1
) -> ManifestResult:
    """Scan root, decode every patch once, split the files into accepted and rejected, and
    write the accepted patches' pixels to pixels_path (row i = manifest row i).

    pixels_path is written only when the manifest is usable: a killed or stopped scan leaves
    no complete-looking array."""
    if size_policy not in SIZE_POLICIES:
        raise ManifestError(f"size policy {size_policy!r} is not one of {SIZE_POLICIES}")
    files, rejected = find_patch_files(root)
    log.info("found %d .png files under %s", len(files), root)
    parsed, mismatched = parse_names(root, files)
    parsed, twins = drop_twins(root, parsed, workers)
    rejected += mismatched + twins
    if twins:
        log.info(
            "%d duplicate files skipped (%s)",
            len(twins),
            duplicate_note(row["path"] for row in twins),
        )
    pixels_path.parent.mkdir(parents=True, exist_ok=True)
    decoded = pixels_path.with_name(pixels_path.name + ".partial")
    kept = pixels_path.with_name(pixels_path.name + ".kept.partial")
    try:
        started = time.perf_counter()
        inspections = decode_into(root, [row["path"] for row in parsed], decoded, workers)
        seconds = time.perf_counter() - started
        log.info(
            "decoded %d patches once each in %.1f s (%.0f images/s, %d workers)",
            len(parsed),
            seconds,
            len(parsed) / max(seconds, 1e-9),
            workers,
        )
        accepted, rows = [], []
        for index, (row, inspection) in enumerate(zip(parsed, inspections, strict=True)):
            if isinstance(inspection, str):
                rejected.append({"path": row["path"], "reason": inspection})
                continue
            width, height, mode = inspection
            status = size_decision(width, height, size_policy)
            if status not in ("ok", "padded"):
                rejected.append({"path": row["path"], "reason": status})
                continue
            accepted.append(
                {**row, "width": width, "height": height, "mode": mode, "status": status}
            )
            rows.append(index)
            if mode != "RGB":  # decoding converted it; say so rather than change it silently
                rejected.append({"path": row["path"], "reason": f"{KEPT}{mode} image, as RGB"})
        manifest = pd.DataFrame(accepted, columns=MANIFEST_COLUMNS)
        rejects = pd.DataFrame(rejected, columns=QC_COLUMNS).sort_values("path", ignore_index=True)
        try:
            check_rejects(root, len(manifest), rejects, max_reject_fraction)
            check_classes(root, manifest)
        except ManifestError as error:
            error.rejected = rejects
            raise
        if len(rows) < len(parsed):  # drop the rejects' rows; rare, and a copy, not a decode
            write_rows(np.load(decoded, mmap_mode="r"), np.asarray(rows, dtype=np.int64), kept)
            os.replace(kept, decoded)
        os.replace(decoded, pixels_path)
    finally:
        decoded.unlink(missing_ok=True)
        kept.unlink(missing_ok=True)
    return ManifestResult(manifest=manifest.astype({"label": "int8"}), rejected=rejects)


def check_rejects(root: Path, n_kept: int, qc: pd.DataFrame, max_fraction: float) -> None:
    """Stop when more than max_fraction of the files (kept patches plus rejects) are rejects;
    duplicates, converted patches and other skipped files are no loss and do not count."""
    rejects = qc[qc["reason"].map(is_reject)]
    n_files = n_kept + len(rejects)
    fraction = len(rejects) / n_files
    if fraction > max_fraction:
        kinds = kind_counts(rejects["reason"])
        summary = ", ".join(f"{kind}: {count}" for kind, count in kinds.items())
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
