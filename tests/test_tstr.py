"""tstr.tsv: synthetic-only rows headed by ROC AUC, next to the baseline, skipped arms named."""

import collect_metrics
import pandas as pd

from idc_synth.metrics import METRIC_COLUMNS


def per_seed(folder, arm: str, seed: int, auc: float):
    row = dict.fromkeys(METRIC_COLUMNS, 1)
    row.update(arm=arm, seed=seed, roc_auc=auc)
    path = folder / f"{arm}_{seed}.tsv"
    pd.DataFrame([row]).to_csv(path, sep="\t", index=False)
    return path


def test_tstr_table_heads_with_auc_keeps_the_baseline_and_names_skipped_arms(tmp_path):
    tstr = [per_seed(tmp_path, "dcgan_only", 0, 0.7)]
    baseline = [per_seed(tmp_path, "baseline", s, 0.9) for s in (0, 1)]
    out, classification = tmp_path / "tstr.tsv", tmp_path / "classification.tsv"
    collect_metrics.main(
        metric_paths=[*baseline, per_seed(tmp_path, "dcgan", 0, 0.8)],
        tstr_paths=tstr,
        baseline_paths=baseline,
        skipped={"diffusion_only": "no synthetic patches of class 0"},
        classification=classification,
        tstr=out,
        log=None,
    )
    # the same job writes the arms' table: every arm and seed, synthetic-only ones apart
    arms = pd.read_csv(classification, sep="\t")
    assert arms[["arm", "seed"]].values.tolist() == [["baseline", 0], ["baseline", 1], ["dcgan", 0]]
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns[:4]) == ["arm", "seed", "training_data", "roc_auc"]
    assert list(table.columns) == list(collect_metrics.TSTR_COLUMNS)
    rows = table.set_index("arm")
    assert rows.loc["dcgan_only", "roc_auc"] == 0.7
    assert "chosen on real val" in rows.loc["dcgan_only", "note"]
    assert (table.loc[table["arm"] == "baseline", "training_data"] == "real train").all()
    skipped = rows.loc["diffusion_only"]
    assert skipped["status"] == "skipped: no synthetic patches of class 0"
    assert pd.isna(skipped["roc_auc"]) and pd.isna(skipped["seed"])


def test_tstr_table_with_every_arm_skipped_still_has_its_columns(tmp_path):
    table = collect_metrics.tstr_table([], [], {"dcgan_only": "balance"})
    assert list(table.columns) == list(collect_metrics.TSTR_COLUMNS) and len(table) == 1
