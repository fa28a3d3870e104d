"""The data-efficiency sweep's parts: nested patient fractions, their packed copies, the
synthetic share of a ratio, and the efficiency table's inference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_statistics import fake_predictions

from idc_synth.batches import Part, synthetic_share
from idc_synth.figures import plot_efficiency, plot_learning_curve
from idc_synth.statistics import Settings
from idc_synth.sweep import (
    CONTRAST_COLUMNS,
    EFFICIENCY_COLUMNS,
    EXCLUDED,
    MEAN_EFFECT,
    SCARCITY,
    EfficiencyMap,
    SweepError,
    efficiency_contrasts,
    efficiency_table,
    fraction_patients,
    real_patient_equivalents,
    write_fraction,
)


def split_table(n_train=20, idc=(0, 30)) -> pd.DataFrame:
    patients = [f"p{i:02d}" for i in range(n_train)] + ["v0", "t0"]
    rng = np.random.default_rng(1)
    n_idc = rng.integers(*idc, len(patients)) if idc[1] > idc[0] else np.zeros(len(patients))
    return pd.DataFrame(
        {
            "patient": patients,
            "split": ["train"] * n_train + ["val", "test"],
            "n_patches": 40,
            "n_idc": n_idc.astype(int),
        }
    )


def test_fractions_are_nested_seeded_whole_patient_prefixes():
    split = split_table()
    by_fraction = {f: fraction_patients(split, f, seed=0) for f in (0.1, 0.25, 0.5, 1.0)}
    assert [len(p) for p in by_fraction.values()] == [2, 5, 10, 20]
    assert set(by_fraction[0.1]) < set(by_fraction[0.25]) < set(by_fraction[0.5])
    assert sorted(by_fraction[1.0]) == [f"p{i:02d}" for i in range(20)]  # only train patients
    assert fraction_patients(split, 0.25, seed=0) == by_fraction[0.25]
    assert fraction_patients(split, 0.25, seed=1) != by_fraction[0.25]


def test_a_fraction_without_a_class_stops_with_the_fix():
    with pytest.raises(SweepError, match="no class-1 patch.*sweep.real_fractions"):
        fraction_patients(split_table(idc=(0, 0)), 0.1, seed=0)


def test_a_fraction_is_packed_apart_with_only_its_patients(tmp_path):
    split = split_table(n_train=6)
    patients = np.repeat(split["patient"][:6].to_numpy(), 3)
    images = np.arange(len(patients) * 50 * 50 * 3, dtype=np.uint64).astype(np.uint8)
    images = images.reshape(len(patients), 50, 50, 3)
    table = pd.DataFrame({"row": np.arange(len(patients)), "patient": patients, "label": 1})
    np.save(tmp_path / "train.npy", images)
    table.to_parquet(tmp_path / "train.parquet")
    before = (tmp_path / "train.npy").read_bytes()
    kept = fraction_patients(split, 0.5, seed=0)
    out = tmp_path / "frac0.5"
    n = write_fraction(
        tmp_path / "train.npy",
        tmp_path / "train.parquet",
        split,
        kept,
        out / "train.npy",
        out / "train.parquet",
        out / "split.parquet",
    )
    subset, subset_images = pd.read_parquet(out / "train.parquet"), np.load(out / "train.npy")
    assert n == 9 and set(subset["patient"]) == set(kept)
    assert subset["row"].tolist() == list(range(9))
    source_rows = np.flatnonzero(np.isin(patients, kept))
    assert np.array_equal(subset_images, images[source_rows])
    fraction_split = pd.read_parquet(out / "split.parquet")
    assert set(fraction_split.loc[fraction_split["split"] == "train", "patient"]) == set(kept)
    assert (fraction_split["split"] == EXCLUDED).sum() == 3
    assert (tmp_path / "train.npy").read_bytes() == before  # the main packed split is untouched


def shard(labels, start=0) -> Part:
    labels = np.asarray(labels)
    images = np.full((len(labels), 2, 2, 3), start, dtype=np.uint8)
    return Part(images, labels)


def test_a_ratio_takes_the_first_patches_of_each_class_of_the_draw():
    real = np.array([0] * 10 + [1] * 4)
    parts = [shard([0] * 12, 0), shard([1] * 6, 1)]
    share = synthetic_share(parts, real, 0.5)
    assert [len(part) for part in share] == [5, 2]
    assert share[0].rows.tolist() == [0, 1, 2, 3, 4] and share[1].rows.tolist() == [0, 1]
    full = synthetic_share(parts, real, 1.0)
    assert [len(part) for part in full] == [10, 4]
    with pytest.raises(ValueError, match="sampled at the largest ratio"):
        synthetic_share(parts, real, 2.0)


def cells_and_predictions(shift_by_cell):
    """A baseline and the given generator cells per fraction, 3 seeds, 10 test patients."""
    cells, predictions = [], []
    for fraction in shift_by_cell:
        arms = {"baseline": 0.0, **shift_by_cell[fraction]}
        frame = fake_predictions(list(arms), [0, 1, 2], n_patients=10, shift=arms)
        for (arm, _seed), rows in frame.groupby(["arm", "seed"], sort=False):
            generator, _, ratio = arm.partition("@")
            cells.append(
                {
                    "arm": generator,
                    "real_fraction": fraction,
                    "synthetic_ratio": float(ratio or 0),
                    "train_patients": int(10 * fraction),
                    "real_train_patches": int(400 * fraction),
                }
            )
            predictions.append(rows.drop(columns="arm"))
    return cells, predictions


def test_efficiency_compares_each_cell_with_its_fractions_real_only_classifier():
    cells, predictions = cells_and_predictions(
        {0.5: {"dcgan@1": 0.3, "dcgan@2": 0.0}, 1.0: {"dcgan@1": 0.0, "dcgan@2": 0.0}}
    )
    table = efficiency_table(EfficiencyMap(cells, predictions, Settings()))
    assert list(table.columns) == EFFICIENCY_COLUMNS
    assert len(table) == 6 and table["seeds"].eq(3).all() and table["n_test_patients"].eq(10).all()
    baseline = table[table["arm"] == "baseline"].set_index("real_fraction")
    assert baseline["difference"].isna().all()
    generator = table[table["arm"] == "dcgan"].set_index(["real_fraction", "synthetic_ratio"])
    assert generator["difference"].to_numpy() == pytest.approx(
        generator["value"].to_numpy()
        - baseline.loc[generator.index.get_level_values(0), "value"].to_numpy()
    )
    planted = generator.loc[(0.5, 1.0)]
    assert planted["difference"] > 0.05 and planted["ci_low"] > 0  # unadjusted, descriptive
    assert "verdict" not in table  # a single cell decides nothing


def test_the_map_decides_through_its_declared_contrasts():
    cells, predictions = cells_and_predictions(
        {0.5: {"dcgan@1": 0.3, "dcgan@2": 0.3}, 1.0: {"dcgan@1": 0.0, "dcgan@2": 0.0}}
    )
    efficiency_map = EfficiencyMap(cells, predictions, Settings())
    table = efficiency_table(efficiency_map)
    contrasts = efficiency_contrasts(efficiency_map).set_index("contrast")
    assert list(efficiency_contrasts(efficiency_map).columns) == CONTRAST_COLUMNS
    assert set(contrasts.index) == {MEAN_EFFECT, SCARCITY}
    # what each contrast averages, as data (the summary words it): cells and real fractions
    averaged = contrasts[["n_cells", "smallest_fraction", "largest_fraction"]]
    assert averaged.loc[MEAN_EFFECT].tolist() == [4, 0.5, 1.0]
    assert averaged.loc[SCARCITY].tolist() == [4, 0.5, 1.0]
    assert (contrasts["family_size"] == 2).all()
    differences = table[table["arm"] == "dcgan"].set_index("real_fraction")["difference"]
    assert contrasts.loc[MEAN_EFFECT, "estimate"] == pytest.approx(differences.mean())
    assert contrasts.loc[SCARCITY, "estimate"] == pytest.approx(
        differences.loc[0.5].mean() - differences.loc[1.0].mean()
    )
    scarcity = contrasts.loc[SCARCITY]
    assert scarcity["verdict"] == "difference" and scarcity["ci_low"] > 0
    assert scarcity["p_adjusted"] == pytest.approx(2 * scarcity["p_value"])
    assert scarcity["decision_level"] == pytest.approx(0.975)


def test_the_scarcity_contrast_counts_only_the_cells_at_its_two_fractions():
    cells, predictions = cells_and_predictions(
        {fraction: {"dcgan@1": 0.0, "dcgan@2": 0.0} for fraction in (0.25, 0.5, 1.0)}
    )
    contrasts = efficiency_contrasts(EfficiencyMap(cells, predictions, Settings()))
    averaged = contrasts.set_index("contrast")[["n_cells", "smallest_fraction", "largest_fraction"]]
    assert averaged.loc[MEAN_EFFECT].tolist() == [6, 0.25, 1.0]
    assert averaged.loc[SCARCITY].tolist() == [4, 0.25, 1.0]


def test_one_fraction_declares_only_the_mean_effect():
    cells, predictions = cells_and_predictions({0.5: {"dcgan@1": 0.0}, 1.0: {"dcgan@1": 0.0}})
    kept = [i for i, cell in enumerate(cells) if cell["real_fraction"] == 1.0]
    efficiency_map = EfficiencyMap(
        [cells[i] for i in kept], [predictions[i] for i in kept], Settings()
    )
    contrasts = efficiency_contrasts(efficiency_map)
    assert contrasts["contrast"].tolist() == [MEAN_EFFECT]
    assert contrasts[["n_cells", "smallest_fraction", "largest_fraction"]].values.tolist() == [
        [1, 1.0, 1.0]
    ]
    without_baseline = [i for i in kept if cells[i]["arm"] != "baseline"]
    with pytest.raises(SweepError, match="no real-only classifier"):
        EfficiencyMap(
            [cells[i] for i in without_baseline],
            [predictions[i] for i in without_baseline],
            Settings(),
        )


def test_efficiency_figures_draw_the_map_and_the_learning_curve(tmp_path):
    cells, predictions = cells_and_predictions(
        {0.5: {"dcgan@1": 0.3, "diffusion@1": 0.0}, 1.0: {"dcgan@1": 0.0, "diffusion@1": 0.0}}
    )
    table = efficiency_table(EfficiencyMap(cells, predictions, Settings()))
    for plot, name in ((plot_efficiency, "map.png"), (plot_learning_curve, "curve.png")):
        path = plot(table, tmp_path / name)
        assert path.stat().st_size > 5000


def map_cells(baseline: list[float], generator: list[tuple[float, float, float]]) -> pd.DataFrame:
    """A map at fractions 0.25, 0.5, 1 (4, 8, 16 train patients): the baseline's values and a
    generator's (value, ci_low, ci_high) at ratio 1."""
    patients = {0.25: 4, 0.5: 8, 1.0: 16}
    rows = [
        {"arm": "baseline", "real_fraction": f, "synthetic_ratio": 0.0, "value": v}
        | {"value_ci_low": v - 0.02, "value_ci_high": v + 0.02}
        for f, v in zip(patients, baseline, strict=True)
    ] + [
        {"arm": "dcgan", "real_fraction": f, "synthetic_ratio": 1.0, "value": v}
        | {"value_ci_low": low, "value_ci_high": high}
        for f, (v, low, high) in zip(patients, generator, strict=True)
    ]
    frame = pd.DataFrame(rows)
    frame["train_patients"] = frame["real_fraction"].map(patients)
    return frame.assign(metric="balanced_accuracy")


def test_a_generator_cell_is_read_as_real_train_patients_on_the_baseline_curve():
    cells = map_cells([0.70, 0.80, 0.85], [(0.75, 0.72, 0.79), (0.84, 0.81, 0.90), (0.86, 0, 1)])
    table = real_patient_equivalents(cells).set_index("real_fraction")
    assert list(table.index) == [0.25, 0.5]  # full data has no larger baseline to compare with
    quarter = table.loc[0.25]
    assert quarter["equivalent_patients"] == pytest.approx(6.0)  # halfway from 4 to 8 patients
    assert quarter["gain_patients"] == pytest.approx(2.0)
    assert quarter["equivalent_low"] == pytest.approx(4.8)
    assert quarter["equivalent_high"] == pytest.approx(7.6)
    half = table.loc[0.5]
    assert half["equivalent_patients"] == pytest.approx(14.4) and half["gain_patients"] > 6
    assert np.isnan(half["equivalent_high"])  # 0.90 is beyond the curve's 0.85


def test_the_map_cannot_read_patients_off_a_curve_that_does_not_rise_or_beyond_it():
    flat = real_patient_equivalents(map_cells([0.8, 0.78, 0.85], [(0.75, 0.7, 0.8)] * 3))
    assert flat["equivalent_patients"].isna().all()
    assert flat["note"].str.contains("not increasing").all()
    beyond = real_patient_equivalents(map_cells([0.7, 0.8, 0.85], [(0.9, 0.88, 0.92)] * 3))
    assert beyond["note"].str.startswith("beyond the map").all()
    assert beyond["equivalent_patients"].isna().all()
