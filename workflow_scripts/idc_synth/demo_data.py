"""A procedurally generated, H&E-like stand-in for the IDC patch data set.

The real data (277,524 patches of 50x50 px) cannot be downloaded by the workflow, so the demo
renders one tissue canvas per patient and cuts it into tiles in the real layout. Colours come from
Beer-Lambert mixing of hematoxylin and eosin stains; textures are stroma fibres, fat cells, white
space and stamped nuclei. The class signal is nuclear density, size and darkness in a spatially
clustered tumour region, deliberately overlapping with dense benign tissue and tumour in fat.
This is not real tissue: use it to exercise the pipeline, never for biological conclusions.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy import ndimage
from scipy.spatial import cKDTree

from idc_synth.layout import PATCH_SIZE, PatchName

# Real IDC patient ids are 4-5 digit numbers well below 90000, so these cannot collide.
PATIENT_ID_BASE = 90000
# Written first into the staging folder: it marks a root as ours, so a rerun may replace it.
MARKER_NAME = ".idc_synth_demo.json"
# Optical-density stain vectors (R, G, B), close to common estimates for H&E scans.
HEMATOXYLIN = np.array([0.65, 0.70, 0.29])
EOSIN = np.array([0.20, 0.88, 0.43])
COLUMNS = ["path", "patient", "x", "y", "label", "width", "height"]


@dataclass(frozen=True)
class DemoSpec:
    n_patients: int
    patches_per_patient: int  # mean; each patient's count varies around it
    idc_fraction: float  # target share of class-1 patches over the whole set
    edge_patch_fraction: float  # share of patches cut short at the tissue border
    seed: int

    def __post_init__(self) -> None:
        if not 1 <= self.n_patients <= 9999:
            raise ValueError(f"n_patients must be in 1..9999, got {self.n_patients}")
        if self.patches_per_patient < 4:
            raise ValueError(f"patches_per_patient must be >= 4, got {self.patches_per_patient}")
        if not 0.0 < self.idc_fraction < 1.0:
            raise ValueError(f"idc_fraction must be in (0, 1), got {self.idc_fraction}")
        if not 0.0 <= self.edge_patch_fraction < 0.5:
            raise ValueError(
                f"edge_patch_fraction must be in [0, 0.5), got {self.edge_patch_fraction}"
            )


@dataclass(frozen=True)
class PatientPlan:
    """What one patient gets; drawn up front so patients can render independently."""

    index: int
    patient: str
    n_patches: int
    idc_fraction: float
    edge_patch_fraction: float
    seed: int


@dataclass(frozen=True)
class Stain:
    """A patient's staining: stain colours, strengths and the slide's background tint."""

    hematoxylin: np.ndarray
    eosin: np.ndarray
    h_strength: float
    e_strength: float
    background_od: np.ndarray


def generate_demo_dataset(root: Path, spec: DemoSpec, workers: int = 1) -> pd.DataFrame:
    """Write the demo set under ``root`` in the IDC layout; return one row per written file.

    Files are rendered into ``<root>.partial`` and renamed into place at the end, so a killed
    run never leaves a half-finished set at ``root``. Output is byte-identical for a seed,
    whatever ``workers`` is.
    """
    root = Path(root)
    staging = root.with_name(root.name + ".partial")
    _check_replaceable(root)
    _check_replaceable(staging)
    if staging.exists():  # left by a killed run
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    (staging / MARKER_NAME).write_text(json.dumps(asdict(spec), indent=2) + "\n")
    jobs = [(plan, staging) for plan in plan_patients(spec)]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            tables = list(pool.map(_write_patient, jobs))
    else:
        tables = [_write_patient(job) for job in jobs]
    if root.exists():
        shutil.rmtree(root)
    staging.rename(root)
    return pd.concat(tables, ignore_index=True)


def _check_replaceable(path: Path) -> None:
    """Refuse to touch ``path`` unless it is absent, an empty folder, or a set we wrote."""
    if not path.exists() or (path / MARKER_NAME).is_file():
        return
    if not (path.is_dir() and not any(path.iterdir())):
        raise FileExistsError(
            f"{path} exists and is not a demo data set written by this workflow; "
            "refusing to overwrite it. Move it away or choose another output folder."
        )


def plan_patients(spec: DemoSpec) -> list[PatientPlan]:
    """Draw each patient's size and IDC share so that the whole set meets the target share."""
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed))
    sizes = np.maximum(
        4, np.round(spec.patches_per_patient * rng.lognormal(0, 0.3, spec.n_patients))
    )
    concentration = 5.0
    shares = rng.beta(
        spec.idc_fraction * concentration, (1 - spec.idc_fraction) * concentration, spec.n_patients
    )
    shares = _rescale_shares(shares, sizes, spec.idc_fraction)
    return [
        PatientPlan(
            index=i,
            patient=str(PATIENT_ID_BASE + i + 1),
            n_patches=int(sizes[i]),
            idc_fraction=float(shares[i]),
            edge_patch_fraction=spec.edge_patch_fraction,
            seed=spec.seed,
        )
        for i in range(spec.n_patients)
    ]


def _rescale_shares(shares: np.ndarray, sizes: np.ndarray, target: float) -> np.ndarray:
    """Scale per-patient IDC shares so their size-weighted mean hits ``target``.

    Bounds keep every patient with both classes, as in the real set (about 5% to 60% IDC).
    """
    low, high = min(0.05, target), max(0.6, target)
    for _ in range(20):
        shares = np.clip(shares * target / np.average(shares, weights=sizes), low, high)
    return shares


def _write_patient(job: tuple[PatientPlan, Path]) -> pd.DataFrame:
    plan, root = job
    rows = []
    for name, tile in render_patient(plan):
        path = root / name.relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(tile).save(path, format="PNG")
        height, width = tile.shape[:2]
        rows.append(
            (name.relative_path.as_posix(), name.patient, name.x, name.y, name.label, width, height)
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def render_patient(plan: PatientPlan) -> list[tuple[PatchName, np.ndarray]]:
    """Render one patient's tissue canvas and cut it into named uint8 RGB tiles."""
    rng = np.random.default_rng(np.random.SeedSequence(plan.seed, spawn_key=(plan.index,)))
    tissue_tiles, tissue_score, threshold = _tissue_grid(rng, plan.n_patches)
    rows, cols = tissue_tiles.shape
    shape = (rows * PATCH_SIZE, cols * PATCH_SIZE)
    tumour_field = _smooth_field(rng, shape, 110) + 0.35 * _smooth_field(rng, shape, 18)
    labels, tumour_cut = _label_tiles(tumour_field, tissue_tiles, plan.idc_fraction)
    # Soft tumour intensity: tiles near the cut carry tumour features on both sides of it.
    tumour = _sigmoid((tumour_field - tumour_cut) / rng.uniform(0.18, 0.3))
    tissue = _upsample(tissue_score, shape, cell=PATCH_SIZE) > threshold - 0.25
    rgb = _render_canvas(rng, shape, tumour, tissue)
    return _cut_tiles(rng, rgb, tissue_tiles, labels, plan)


def _tissue_grid(rng: np.random.Generator, n_patches: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Pick ``n_patches`` tiles forming a blob-shaped tissue section on a slightly larger grid."""
    aspect = rng.uniform(0.7, 1.4)
    cells = n_patches / 0.75
    cols = max(2, int(np.ceil(np.sqrt(cells * aspect))))
    rows = max(2, int(np.ceil(cells / cols)))
    yy, xx = np.mgrid[0:rows, 0:cols]
    radial = np.hypot((yy + 0.5) / rows - 0.5, (xx + 0.5) / cols - 0.5)
    score = _smooth_field(rng, (rows, cols), 3) - 3.0 * radial
    threshold = np.sort(score, axis=None)[-n_patches]
    return score >= threshold, score, float(threshold)


def _label_tiles(
    field: np.ndarray, tissue_tiles: np.ndarray, share: float
) -> tuple[np.ndarray, float]:
    """Call the tiles with the highest mean tumour field IDC, so IDC forms contiguous regions."""
    rows, cols = tissue_tiles.shape
    means = field.reshape(rows, PATCH_SIZE, cols, PATCH_SIZE).mean(axis=(1, 3))
    ranked = np.sort(means[tissue_tiles])[::-1]
    n_idc = min(len(ranked) - 1, max(1, round(share * len(ranked))))
    cut = float((ranked[n_idc - 1] + ranked[n_idc]) / 2)
    return means > cut, cut


def _render_canvas(
    rng: np.random.Generator, shape: tuple[int, int], tumour: np.ndarray, tissue: np.ndarray
) -> np.ndarray:
    """Paint stain concentrations for stroma, fat, white space and nuclei; return uint8 RGB."""
    stain = _patient_stain(rng)
    fat_cells = _fat_cells(rng, shape, tumour)
    white = (_smooth_field(rng, shape, 40) + 0.3 * _smooth_field(rng, shape, 6)) > rng.uniform(
        1.2, 1.7
    )
    empty = fat_cells | white | ~tissue
    solid = ~empty
    stroma = _stroma_texture(rng, shape)
    nests = _sigmoid(_smooth_field(rng, shape, 7) * 2.5 + 0.5)
    benign = _sigmoid(3.0 * (_smooth_field(rng, shape, 30) - rng.uniform(0.7, 1.3)))
    benign *= 1 - tumour

    eosin = np.where(solid, stroma * (1 - 0.35 * tumour * nests), 0.03)
    hema = np.where(solid, 0.06 + 0.32 * tumour * nests + 0.15 * benign, 0.01)
    hema += _nuclei(rng, shape, solid, tumour * nests, benign)
    od = (
        stain.h_strength * hema[..., None] * stain.hematoxylin
        + stain.e_strength * eosin[..., None] * stain.eosin
        + stain.background_od
    )
    od = ndimage.gaussian_filter(od, sigma=(0.6, 0.6, 0))  # scanner optics soften edges
    rgb = 255.0 * np.exp(-od) + rng.normal(0, 2.0, od.shape)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _patient_stain(rng: np.random.Generator) -> Stain:
    """Per-patient stain shifts: staining protocols and scanners vary between slides."""

    def jitter(vector: np.ndarray) -> np.ndarray:
        shifted = np.abs(vector + rng.normal(0, 0.04, 3))
        return shifted / np.linalg.norm(shifted)

    return Stain(
        hematoxylin=jitter(HEMATOXYLIN),
        eosin=jitter(EOSIN),
        h_strength=rng.uniform(0.8, 1.3),
        e_strength=rng.uniform(0.9, 1.5),
        background_od=rng.uniform(0.03, 0.07) + np.abs(rng.normal(0, 0.01, 3)),
    )


def _fat_cells(rng: np.random.Generator, shape: tuple[int, int], tumour: np.ndarray) -> np.ndarray:
    """White interiors of polygonal fat cells; their borders stay tissue (thin or tumour-filled).

    Fat cells are the Voronoi cells of jittered grid points; a pixel is inside a cell unless it is
    near the border with the next cell. Tumour infiltrating fat widens the borders into cords.
    """
    region = _smooth_field(rng, shape, 60) + 0.3 * _smooth_field(rng, shape, 10)
    fat_region = region - 1.1 * tumour > rng.uniform(-0.6, 0.5)
    spacing = rng.uniform(14, 21)
    gy, gx = np.mgrid[0 : shape[0] + spacing : spacing, 0 : shape[1] + spacing : spacing]
    centres = np.column_stack([gy.ravel(), gx.ravel()])
    centres += rng.uniform(-0.4, 0.4, centres.shape) * spacing
    ys, xs = np.nonzero(fat_region)
    distances, _ = cKDTree(centres).query(np.column_stack([ys, xs]), k=2)
    border = 0.7 + 5.0 * tumour[ys, xs]
    cells = np.zeros(shape, dtype=bool)
    cells[ys, xs] = distances[:, 1] - distances[:, 0] > border
    return cells


def _stroma_texture(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Eosin concentration of collagen: wavy fibre bundles with thin pale clefts between them.

    Fibres follow the level lines of a tilted ramp plus a smooth random field: mostly parallel
    bundles that bend and swirl; a fine mask breaks the clefts into short strands.
    """
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    potential = (xx * np.cos(angle) + yy * np.sin(angle)) / 60 + 0.8 * _smooth_field(rng, shape, 70)
    frequency = rng.uniform(25, 40)
    fibres = np.sin(frequency * potential + 1.5 * _smooth_field(rng, shape, 8))
    clefts = _sigmoid(10 * (fibres - 0.8)) * _sigmoid(3 * _smooth_field(rng, shape, 4) + 1)
    density = 0.6 + 0.15 * _smooth_field(rng, shape, 25) + 0.1 * rng.standard_normal(shape)
    return np.clip(density * (1 - 0.6 * clefts), 0.05, None)


def _nuclei(
    rng: np.random.Generator,
    shape: tuple[int, int],
    solid: np.ndarray,
    tumour: np.ndarray,
    benign: np.ndarray,
) -> np.ndarray:
    """Hematoxylin from stamped nuclei: sparse stromal and immune cells, dense benign clusters,
    and in tumour crowded, larger, pleomorphic, darker nuclei."""
    area = shape[0] * shape[1]
    kinds = [
        # (density per px where present, presence map, radius range, elongation, darkness)
        (0.004, solid, (0.7, 1.1), 2.5, (0.8, 1.2)),  # fibroblasts
        (0.002, solid, (0.7, 1.0), 1.0, (1.1, 1.5)),  # lymphocytes
        (0.09, benign * solid, (0.8, 1.3), 1.2, (0.8, 1.4)),  # benign epithelium
        (0.11, tumour * solid, (0.9, 1.8), 1.6, (1.0, 1.7)),  # carcinoma cells
    ]
    hema = np.zeros(area)
    for density, presence, radii, elongation, darkness in kinds:
        count = rng.poisson(density * area)
        ys, xs = rng.uniform(0, shape[0], count), rng.uniform(0, shape[1], count)
        # Thinning a uniform process by the presence map gives a Poisson process with that density.
        keep = rng.uniform(size=count) < presence[ys.astype(int), xs.astype(int)]
        _stamp_ellipses(rng, hema, shape, ys[keep], xs[keep], radii, elongation, darkness)
    return hema.reshape(shape) * (1 + 0.2 * rng.standard_normal(shape))  # chromatin texture


def _stamp_ellipses(
    rng: np.random.Generator,
    canvas: np.ndarray,
    shape: tuple[int, int],
    ys: np.ndarray,
    xs: np.ndarray,
    radii: tuple[float, float],
    elongation: float,
    darkness: tuple[float, float],
) -> None:
    """Add soft-edged ellipses to the flat ``canvas`` in one vectorised pass."""
    n = len(ys)
    radius = rng.uniform(*radii, n)
    stretch = rng.uniform(1.0, elongation, n)
    angle = rng.uniform(0, np.pi, n)
    value = rng.uniform(*darkness, n)
    reach = int(np.ceil(radii[1] * elongation)) + 1
    dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1].reshape(2, 1, -1)
    py = np.floor(ys)[:, None, None] + dy
    px = np.floor(xs)[:, None, None] + dx
    oy, ox = (py + 0.5 - ys[:, None, None])[:, 0], (px + 0.5 - xs[:, None, None])[:, 0]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    along = (ox * cos + oy * sin) / (radius * stretch)[:, None]
    across = (oy * cos - ox * sin) / (radius / np.sqrt(stretch))[:, None]
    inside = _sigmoid(3.0 * (1 - np.hypot(along, across)) * radius[:, None]) * value[:, None]
    py, px = py[:, 0], px[:, 0]
    on_canvas = (py >= 0) & (py < shape[0]) & (px >= 0) & (px < shape[1])
    flat = (py * shape[1] + px)[on_canvas].astype(np.int64)
    canvas += np.bincount(flat, weights=inside[on_canvas], minlength=canvas.size)


def _cut_tiles(
    rng: np.random.Generator,
    rgb: np.ndarray,
    tissue_tiles: np.ndarray,
    labels: np.ndarray,
    plan: PatientPlan,
) -> list[tuple[PatchName, np.ndarray]]:
    """Cut tissue tiles in row-major order; crop some border tiles as at real slide edges."""
    origin_x, origin_y = rng.integers(4, 40, 2)  # real grids start at x, y = 1 + 50k
    edge_tiles = _pick_edge_tiles(rng, tissue_tiles, plan.edge_patch_fraction)
    tiles = []
    for row, col in zip(*np.nonzero(tissue_tiles), strict=True):
        top, left = row * PATCH_SIZE, col * PATCH_SIZE
        height = width = PATCH_SIZE
        if (row, col) in edge_tiles:
            short = int(rng.integers(20, PATCH_SIZE))
            height, width = (short, PATCH_SIZE) if rng.uniform() < 0.5 else (PATCH_SIZE, short)
        name = PatchName(
            patient=plan.patient,
            x=1 + PATCH_SIZE * int(origin_x + col),
            y=1 + PATCH_SIZE * int(origin_y + row),
            label=int(labels[row, col]),
        )
        tiles.append((name, np.ascontiguousarray(rgb[top : top + height, left : left + width])))
    return tiles


def _pick_edge_tiles(
    rng: np.random.Generator, tissue_tiles: np.ndarray, fraction: float
) -> set[tuple[int, int]]:
    """Choose tiles whose right or lower neighbour is outside the tissue, where scans end."""
    padded = np.pad(tissue_tiles, ((0, 1), (0, 1)))
    on_border = tissue_tiles & ~(padded[1:, :-1] & padded[:-1, 1:])
    candidates = np.argwhere(on_border)
    n_edge = min(len(candidates), round(fraction * tissue_tiles.sum()))
    chosen = rng.choice(len(candidates), size=n_edge, replace=False)
    return {(int(r), int(c)) for r, c in candidates[chosen]}


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Standardised random field with features about ``scale`` px across.

    Drawn coarse and upsampled: much cheaper than filtering full-resolution noise at large scales.
    The coarse grid has a margin of two cells so the cubic interpolation never sees its border.
    """
    coarse_shape = (int(np.ceil(shape[0] / scale)) + 4, int(np.ceil(shape[1] / scale)) + 4)
    coarse = ndimage.gaussian_filter(rng.standard_normal(coarse_shape), 0.8)
    field = _upsample(coarse, shape, cell=scale, margin=2)
    return (field - field.mean()) / (field.std() + 1e-9)


def _upsample(
    coarse: np.ndarray, shape: tuple[int, int], *, cell: float, margin: int = 0
) -> np.ndarray:
    """Cubic-interpolate ``coarse`` (one value per ``cell`` px, centred) onto a ``shape`` grid."""
    y = (np.arange(shape[0]) + 0.5) / cell - 0.5 + margin
    x = (np.arange(shape[1]) + 0.5) / cell - 0.5 + margin
    return ndimage.map_coordinates(
        coarse, np.meshgrid(y, x, indexing="ij"), order=3, mode="nearest"
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
