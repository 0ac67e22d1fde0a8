"""Comparison tables: values, verdicts, tests, statuses, rendering; regression command."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as ss

from emorepro import tables
from emorepro.cli import main
from emorepro.figures import row_normalised
from emorepro.numerics import cpu_kernels
from emorepro.regression import (
    check,
    collect,
    kernel_mismatch,
    load_expected,
    snapshot,
    write_expected,
)

CARD = {
    "id": "mini",
    "document": "x.txt",
    "citation": "A. Author, Mini, 2020",
    "tables": [
        {
            "id": "t1",
            "label": "TABLE 1",
            "kind": "table",
            "caption": "CCC.",
            "metric": "ccc",
            "unit": "fraction",
            "columns": [
                {"id": "a_test", "header": "Arousal", "target": "arousal", "partition": "test"},
                {"id": "a_dev", "header": "Arousal (dev)", "target": "arousal", "partition": "dev"},
            ],
            "rows": [
                {
                    "id": "classic",
                    "label": "Classic",
                    "origin": "own",
                    "cells": {"a_test": ".500", "a_dev": "(.550)"},
                    "reproduce": {
                        "status": "dag",
                        "experiment": "baselines/a",
                        "corpus": "c",
                        "protocol": "p",
                        "metrics": {"a_test": "arousal.test.ccc", "a_dev": "arousal.dev.ccc"},
                        "tolerance": 0.05,
                    },
                },
                {
                    "id": "better",
                    "label": "Better",
                    "origin": "own",
                    "compare_to": "classic",
                    "cells": {"a_test": ".700", "a_dev": "(.750)"},
                    "marks": {"a_test": "*"},
                    "reproduce": {
                        "status": "dag",
                        "experiment": "baselines/b",
                        "corpus": "c",
                        "protocol": "p",
                        "metrics": {"a_test": "arousal.test.ccc", "a_dev": "arousal.dev.ccc"},
                        "tolerance": 0.05,
                    },
                },
                {
                    "id": "later",
                    "label": "Deep",
                    "origin": "own",
                    "cells": {"a_test": "0.800"},
                    "reproduce": {
                        "status": "pending",
                        "issue": 4,
                        "experiment": "deep/x",
                        "corpus": "c",
                        "protocol": "p",
                        "metrics": {"a_test": "arousal.test.ccc"},
                        "tolerance": 0.05,
                    },
                },
                {
                    "id": "other",
                    "label": "Other",
                    "origin": "quoted",
                    "source": "[3]",
                    "cells": {"a_test": "-", "a_dev": "(.400)"},
                },
            ],
        },
        {
            "id": "t2",
            "label": "TABLE 2",
            "kind": "table",
            "caption": "Accuracy.",
            "metric": "accuracy",
            "unit": "percent",
            "columns": [{"id": "acc", "header": "Acc."}],
            "rows": [
                {
                    "id": "svm",
                    "label": "SVM",
                    "origin": "own",
                    "cells": {"acc": "60.00"},
                    "reproduce": {
                        "status": "dag",
                        "experiment": "baselines/svm",
                        "corpus": "rml",
                        "protocol": "loso",
                        "metrics": {"acc": "accuracy_fold_mean"},
                        "tolerance": 2.0,
                    },
                }
            ],
        },
    ],
}


def _write(make_result, root: Path, rdir: str, metrics: dict, n: int, *, continuous=True) -> None:
    path = root / rdir
    path.mkdir(parents=True, exist_ok=True)
    task = "regression" if continuous else "classification"
    (path / "metrics.json").write_text(json.dumps(make_result(metrics=metrics, task=task)))
    if continuous:
        preds = pd.DataFrame(
            {
                "item_id": "r1",
                "time_s": np.arange(2 * n) * 0.04,
                "role": ["dev"] * n + ["test"] * n,
                "target": "arousal",
                "y_true": 0.0,
                "y_pred": 0.0,
            }
        )
    else:
        preds = pd.DataFrame({"item_id": [f"i{k}" for k in range(n)], "y_true": "a"})
    preds.to_parquet(path / "predictions.parquet")


@pytest.fixture
def results(tmp_path: Path, make_result) -> Path:
    def add(rdir: str, metrics: dict, n: int, **kw) -> None:
        _write(make_result, tmp_path, rdir, metrics, n, **kw)

    add("experiments/baselines/a/c/p", {"arousal.test.ccc": 0.52, "arousal.dev.ccc": 0.40}, 500)
    add("experiments/baselines/b/c/p", {"arousal.test.ccc": 0.68, "arousal.dev.ccc": 0.70}, 500)
    add("experiments/baselines/svm/rml/loso", {"accuracy_fold_mean": 0.55}, 200, continuous=False)
    return tmp_path


def test_compare_values_verdicts_and_tests(results: Path) -> None:
    frame = tables.compare_table(CARD, "t1", results_root=results).set_index(["row", "column"])
    classic = frame.loc[("classic", "Arousal [test]")]
    assert classic["reported"] == 0.5 and classic["reproduced"] == pytest.approx(0.52)
    assert classic["difference"] == pytest.approx(0.02)
    assert classic["verdict"] == "within tolerance"
    # independent reference: Fisher r-to-z, n = 500 on both sides, two-sided
    z = (math.atanh(0.52) - math.atanh(0.5)) / math.sqrt(2 / 497)
    assert classic["p (vs reported)"] == pytest.approx(2 * ss.norm.sf(abs(z)))
    assert frame.loc[("classic", "Arousal (dev)"), "verdict"] == "outside tolerance"
    assert frame.loc[("later", "Arousal [test]"), "verdict"] == "not yet reproduced (issue 4)"
    assert np.isnan(frame.loc[("later", "Arousal [test]"), "reproduced"])
    assert frame.loc[("other", "Arousal [test]"), "verdict"] == "quoted (not re-run)"
    assert frame.loc[("other", "Arousal [test]"), "reported (printed)"] == "-"
    source = frame.loc[("better", "Arousal [test]"), "corpus source"]
    assert source.startswith("synthetic twin (scale tiny")
    # printed mark beside the mark recomputed from the two runs: .68 vs .52 with n=500 each
    assert frame.loc[("better", "Arousal [test]"), "mark (printed)"] == "*"
    z = (math.atanh(0.68) - math.atanh(0.52)) / math.sqrt(2 / 497)
    expected = "*" if ss.norm.sf(z) < 0.05 else "-"
    assert frame.loc[("better", "Arousal [test]"), "mark (recomputed)"] == expected == "*"
    assert frame.loc[("classic", "Arousal [test]"), "mark (recomputed)"] == ""


def test_percent_tables_scale_and_use_the_proportion_test(results: Path) -> None:
    row = tables.compare_table(CARD, "t2", results_root=results).iloc[0]
    assert row["reproduced"] == pytest.approx(55.0)
    assert row["difference"] == pytest.approx(-5.0)
    assert row["verdict"] == "outside tolerance"
    p = 0.55 * 200 / 200
    pooled = (110 + 120) / 400
    z = (p - 0.60) / math.sqrt(pooled * (1 - pooled) * (2 / 200))
    assert row["p (vs reported)"] == pytest.approx(2 * ss.norm.sf(abs(z)))


def test_missing_result_is_an_error_unless_not_configured(results: Path) -> None:
    card = copy.deepcopy(CARD)
    card["tables"][0]["rows"][0]["reproduce"]["experiment"] = "baselines/gone"
    with pytest.raises(FileNotFoundError, match="baselines/gone"):
        tables.compare_table(card, "t1", results_root=results)
    frame = tables.compare_table(card, "t1", results_root=results, available=set())
    assert set(frame.loc[frame["row"] == "classic", "verdict"]) == {"not run in this configuration"}


def test_own_cell_marked_not_compared_says_why(results: Path) -> None:
    card = copy.deepcopy(CARD)
    rep = card["tables"][0]["rows"][0]["reproduce"]
    del rep["metrics"]["a_dev"]
    rep["not_compared"] = {"a_dev": "the model was trained on the development set"}
    frame = tables.compare_table(card, "t1", results_root=results).set_index(["row", "column"])
    cell = frame.loc[("classic", "Arousal (dev)")]
    assert cell["verdict"] == "not compared: the model was trained on the development set"
    assert np.isnan(cell["reproduced"])
    assert frame.loc[("classic", "Arousal [test]"), "verdict"] == "within tolerance"


def test_unknown_metric_key_names_the_file(results: Path) -> None:
    card = copy.deepcopy(CARD)
    card["tables"][1]["rows"][0]["reproduce"]["metrics"]["acc"] = "accuracy_typo"
    with pytest.raises(KeyError, match="accuracy_typo"):
        tables.compare_table(card, "t2", results_root=results)


def test_rendering_carries_caption_and_every_cell(results: Path) -> None:
    frame = tables.compare_table(CARD, "t1", results_root=results)
    text = tables.caption(CARD, "t1", frame)
    assert "synthetic twin (scale tiny, seed 7)" in text and "TABLE 1" in text
    md = tables.to_markdown(frame, title="mini: TABLE 1", caption_text=text)
    assert md.count("\n| classic |") == 2 and "not yet reproduced (issue 4)" in md
    tex = tables.to_latex(frame, caption_text=text, label="tab:x")
    assert "\\toprule" in tex and "\\caption{" in tex and tex.count("\\\\") == len(frame) + 1
    assert tables.summary({"t1": frame}).iloc[0]["cells"] == len(frame)


def test_row_normalised_confusion() -> None:
    out = row_normalised([[2, 2], [0, 0]])
    assert out.tolist() == [[50.0, 50.0], [0.0, 0.0]]


def test_regression_passes_then_names_the_drifted_cell(results: Path, tmp_path: Path) -> None:
    expected = snapshot(results, scale="tiny", seed=7)
    assert len(expected["cells"]) == len(collect(results)) == 5
    failures, new, skipped = check(results, expected)
    assert failures == [] and new == [] and skipped == 0
    # perturb one reproduced number beyond its tolerance
    path = results / "experiments/baselines/b/c/p/metrics.json"
    data = json.loads(path.read_text())
    data["metrics"]["arousal.test.ccc"] += 0.05
    path.write_text(json.dumps(data))
    failures, _, _ = check(results, expected, cards={"mini": CARD})
    assert len(failures) == 1
    message = failures[0].message()
    assert "experiments/baselines/b/c/p :: arousal.test.ccc" in message
    assert "mini/t1/better/a_test" in message and "+0.0500" in message


def test_regress_command_exit_status(results: Path, tmp_path: Path, capsys) -> None:
    exp = tmp_path / "expected" / "tiny.yaml"
    write_expected(exp, snapshot(results, scale="tiny", seed=7))
    assert load_expected(exp)["seed"] == 7
    args = ["regress", "--results", str(results), "--expected", str(exp), "--cards", ""]
    assert main(args) == 0
    gone = results / "experiments/baselines/svm/rml/loso/metrics.json"
    gone.unlink()
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "MISSING experiments/baselines/svm/rml/loso :: accuracy_fold_mean" in out
    missing = str(tmp_path / "no.yaml")
    assert main(["regress", "--results", str(results), "--expected", missing]) == 2


def test_regress_names_other_cpu_kernels_on_drift(results: Path, tmp_path: Path, capsys) -> None:
    exp = tmp_path / "tiny.yaml"
    data = snapshot(results, scale="tiny", seed=7)
    assert data["cpu_kernels"] == cpu_kernels()
    assert kernel_mismatch(data) is None
    data["cpu_kernels"] = {**data["cpu_kernels"], "torch": "AVX512"}
    data["cells"][0]["expected"] += 1.0
    write_expected(exp, data)
    args = ["regress", "--results", str(results), "--expected", str(exp), "--cards", ""]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "recorded on" in out and "'torch': 'AVX512'" in out


def test_expectations_are_chosen_per_cpu_and_cpu_dependent_cells_skipped_elsewhere(
    results: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    import emorepro.regression as reg

    data = snapshot(results, scale="tiny", seed=7)
    data["cells"][0]["tolerance"] = 0.05  # a float32-trained number: CPU-dependent
    data["cells"][0]["expected"] += 1.0  # ... that this CPU would not reproduce
    write_expected(tmp_path / f"tiny.{data['cpu']['vendor']}.yaml", data)
    other = {**data, "cpu": {"vendor": "OtherVendor", "model": "x"}}
    write_expected(tmp_path / "tiny.OtherVendor.yaml", other)
    assert reg.expectations_for(tmp_path, "tiny") == (
        tmp_path / f"tiny.{data['cpu']['vendor']}.yaml",
        True,
    )
    args = ["regress", "--results", str(results), "--expectations", str(tmp_path), "--cards", ""]
    assert main(args) == 1  # this CPU's own file: every number compared
    monkeypatch.setattr(reg, "cpu_identity", lambda: {"vendor": "ThirdVendor", "model": "y"})
    _, same = reg.expectations_for(tmp_path, "tiny")
    assert not same
    capsys.readouterr()
    assert main(args) == 0  # no file for this CPU: the CPU-dependent cell is skipped, said so
    out = capsys.readouterr().out
    assert "1 CPU-dependent numbers (float32 training) not compared" in out
    assert "all 4 numbers within tolerance" in out


def test_expected_file_is_yaml_with_header(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    write_expected(path, {"scale": "tiny", "seed": 1, "cells": []})
    assert path.read_text().startswith("# Expected reproduced numbers")
    assert yaml.safe_load(path.read_text())["cells"] == []
