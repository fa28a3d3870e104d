"""results/summary.md: tables, cost per rule family and a conclusion from the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from idc_synth.statistics import TESTS_COLUMNS
from idc_synth.summary import benchmark_costs, build_summary, conclusion, markdown_table


def summary_ci() -> pd.DataFrame:
    rows = []
    for arm, shift in (("baseline", 0.0), ("dcgan", 0.03)):
        for metric in ("accuracy", "balanced_accuracy", "roc_auc"):
            mean = 0.8 + shift
            rows.append(
                {"arm": arm, "metric": metric, "mean": mean, "std": 0.01, "n_seeds": 3}
                | {"ci_low": mean - 0.02, "ci_high": mean + 0.02, "confidence_level": 0.95}
                | {"n_patients": 40}
            )
    return pd.DataFrame(rows)


def hand_made_tests(p_value: float) -> pd.DataFrame:
    base = {"comparison": "dcgan vs baseline", "arm_a": "dcgan", "arm_b": "baseline"}
    rows = [
        base
        | {"metric": "accuracy", "test": "mcnemar", "seed": "0", "statistic": 4.0}
        | {"p_value": 0.2, "p_holm": 0.4, "effect_size": 0.1, "effect_name": "cohens_g"}
        | {"mean_difference": 0.01, "ci_low": -0.01, "ci_high": 0.03, "n": 500, "note": ""},
        base
        | {"metric": "balanced_accuracy", "test": "paired_t", "seed": "all", "statistic": 9.0}
        | {"p_value": p_value, "p_holm": min(1.0, 2 * p_value), "effect_size": 5.2}
        | {"effect_name": "cohens_dz", "mean_difference": 0.03, "ci_low": 0.01}
        | {"ci_high": 0.05, "n": 3, "note": ""},
        base
        | {"metric": "roc_auc", "test": "wilcoxon", "seed": "all", "statistic": np.nan}
        | {"p_value": np.nan, "p_holm": np.nan, "effect_size": np.nan}
        | {"effect_name": "rank_biserial", "mean_difference": 0.0, "ci_low": 0.0}
        | {"ci_high": 0.0, "n": 3, "note": "undefined: every paired difference is zero"},
    ]
    return pd.DataFrame(rows, columns=TESTS_COLUMNS)


def test_conclusion_says_no_significant_difference_when_p_is_large():
    text = conclusion(hand_made_tests(0.4), summary_ci(), alpha=0.05, data_source="folder")
    assert "no significant difference" in text.lower()
    assert "Demo caveat" not in text
    assert "0.830 vs 0.800" in text  # the headline numbers are still given


def test_conclusion_names_the_significant_difference_with_direction_and_size():
    text = conclusion(hand_made_tests(0.001), summary_ci(), alpha=0.05, data_source="demo")
    assert "no significant difference" not in text.lower()
    assert "dcgan vs baseline, balanced accuracy" in text
    assert "dcgan higher than baseline by 0.030" in text
    assert "paired t-test" in text and "Holm p = 0.002" in text
    assert "Demo caveat" in text


def test_conclusion_with_a_single_arm():
    empty = pd.DataFrame(columns=TESTS_COLUMNS)
    text = conclusion(empty, summary_ci()[lambda t: t["arm"] == "baseline"])
    assert "no significant difference" in text.lower()


def test_benchmark_costs_sum_per_rule_family(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    files = {
        "train_classifier/baseline/seed0.tsv": "10.0\t0:00:10\t500\t1\t1\t1\t0\t0\t0\t9.0\n",
        "train_classifier/dcgan/seed0.tsv": "20.0\t0:00:20\t700\t1\t1\t1\t0\t0\t0\t18.0\n",
        "manifest.tsv": "1.5\t0:00:01\t-\t1\t1\t1\t0\t0\t0\t1.0\n",
    }
    for name, line in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + line)
    costs = benchmark_costs(tmp_path).set_index("rule")
    assert costs.loc["train_classifier", "jobs"] == 2
    assert costs.loc["train_classifier", "wall_s"] == 30.0
    assert costs.loc["train_classifier", "cpu_s"] == 27.0
    assert costs.loc["train_classifier", "peak_rss_mb"] == 700
    assert np.isnan(costs.loc["manifest", "peak_rss_mb"])  # '-' is unknown, not an error
    assert costs.loc["total", "wall_s"] == 31.5 and costs.loc["total", "jobs"] == 3
    assert benchmark_costs(tmp_path / "missing").empty


def test_summary_builds_from_tiny_tables(tmp_path):
    quality = pd.DataFrame(
        [
            {"feature_space": "inception", "generator": "dcgan", "label": "all", "fid": 50.0}
            | {"kid": 0.03, "precision": 0.5, "recall": 0.4, "status": "ok"},
            {"feature_space": "inception", "generator": "diffusion", "label": "all"}
            | {"fid": np.nan, "kid": np.nan, "precision": np.nan, "recall": np.nan}
            | {"status": "skipped: no weights"},
        ]
    )
    costs = pd.DataFrame(
        [{"rule": "predict", "jobs": 2, "wall_s": 3.0, "cpu_s": 2.5, "peak_rss_mb": 900.0}]
    )
    text = build_summary(
        summary_ci=summary_ci(),
        tests=hand_made_tests(0.4),
        image_quality=quality,
        costs=costs,
        alpha=0.05,
        data_source="demo",
    )
    for heading in ("## Conclusion", "## Tests", "## Image quality", "## Computational cost"):
        assert heading in text
    assert "| dcgan | 3 | 0.830 [0.810, 0.850]" in text
    assert "skipped: no weights" in text and "| predict | 2 | 3.0 | 2.5 | 900.0 |" in text
    assert "no significant difference" in text.lower() and "Demo caveat" in text
    no_quality = build_summary(
        summary_ci=summary_ci(),
        tests=hand_made_tests(0.4),
        image_quality=None,
        costs=costs.iloc[:0],
        alpha=0.05,
        data_source="folder",
    )
    assert "not computed" in no_quality


def test_markdown_table_escapes_pipes_and_formats_numbers():
    table = markdown_table(pd.DataFrame({"a": ["x|y"], "b": [0.123456], "c": [np.nan]}))
    assert table.splitlines()[2] == "| x\\|y | 0.123 | – |"
