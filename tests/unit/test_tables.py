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
from emorepro.stats import compare_correlations_dependent

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


def _ess_brute(x: np.ndarray, y: np.ndarray) -> float:
    """Bartlett's effective n written out: lag-k autocorrelations (divisor n), K = n // 5."""
    n = len(x)

    def r(v: np.ndarray, k: int) -> float:
        d = v - v.mean()
        return sum(d[i] * d[i + k] for i in range(n - k)) / sum(d * d)

    s = sum(r(x, k) * r(y, k) for k in range(1, n // 5 + 1))
    return min(max(n / (1 + 2 * s), 3.0), n)


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + rng.standard_normal()
    return x


def test_frame_metrics_are_tested_with_the_effective_n_per_recording(
    results: Path, make_result
) -> None:
    """Autocorrelated frames: the test n is the Bartlett effective n summed over recordings
    (in time order, whatever the row order), and the frame-n p value is kept beside it."""
    rng = np.random.default_rng(11)
    parts, blocks = [], []
    for rec, n in (("r1", 150), ("r2", 120)):
        gold = _ar1(rng, n, 0.95)
        pred = 0.6 * gold + _ar1(rng, n, 0.9)
        blocks.append((gold, pred))
        for role in ("test", "dev"):
            parts.append(
                pd.DataFrame(
                    {"item_id": rec, "time_s": np.arange(n) * 0.04, "role": role,
                     "target": "arousal", "y_true": gold, "y_pred": pred}
                )
            )  # fmt: skip
    preds = pd.concat(parts).sample(frac=1.0, random_state=0)  # rows out of time order
    path = results / "experiments/baselines/a/c/p"
    preds.to_parquet(path / "predictions.parquet")
    n_eff = sum(_ess_brute(g, q) for g, q in blocks)
    assert 8 < n_eff < 120  # strongly autocorrelated: far below the 270 frames

    size = tables.sample_size(path, "arousal.test.ccc")
    assert size.frames and size.n == 270
    assert size.n_test == pytest.approx(n_eff, rel=1e-9)
    row = tables.compare_table(CARD, "t1", results_root=results).set_index(["row", "column"])
    row = row.loc[("classic", "Arousal [test]")]
    assert row["n"] == 270 and row["n (test)"] == pytest.approx(n_eff, abs=0.05)

    def fisher_p(n: float) -> float:  # reproduced .52 vs reported .50, same n both sides
        z = (math.atanh(0.52) - math.atanh(0.5)) / math.sqrt(2 / (n - 3))
        return 2 * ss.norm.sf(abs(z))

    assert row["p (vs reported)"] == pytest.approx(fisher_p(n_eff), rel=1e-6)
    assert row["p (n = frames)"] == pytest.approx(fisher_p(270))
    assert row["p (vs reported)"] > row["p (n = frames)"]  # the honest n is less certain
    md = tables.to_markdown(
        tables.compare_table(CARD, "t1", results_root=results), title="t", caption_text="c"
    )
    assert "| n | n (test) | p (vs reported) | p (n = frames) |" in md
    assert f"| 270 | {n_eff:,.0f} |" in md


def test_items_are_independent_so_both_p_values_agree(results: Path) -> None:
    size = tables.sample_size(results / "experiments/baselines/svm/rml/loso", "accuracy_fold_mean")
    assert (size.n, size.n_test, size.frames) == (200, 200.0, False)
    row = tables.compare_table(CARD, "t2", results_root=results).iloc[0]
    assert row["n"] == 200 and row["n (test)"] == 200
    assert row["p (vs reported)"] == row["p (n = frames)"]


def test_unrun_cells_have_no_sample_size(results: Path) -> None:
    frame = tables.compare_table(CARD, "t1", results_root=results).set_index(["row", "column"])
    later = frame.loc[("later", "Arousal [test]")]
    assert pd.isna(later["n"]) and pd.isna(later["n (test)"]) and pd.isna(later["p (n = frames)"])


def _frames(gold: np.ndarray, pred: np.ndarray) -> pd.DataFrame:
    n = len(gold)
    return pd.DataFrame(
        {"item_id": "r1", "time_s": np.arange(n) * 0.04, "role": "test", "target": "arousal",
         "y_true": gold, "y_pred": pred}
    )  # fmt: skip


def test_paired_steiger_mark_beside_the_papers_fisher_mark(results: Path) -> None:
    """Two systems on the same frames with strongly correlated predictions: the paired test
    (Steiger, r_23 from the two prediction series) finds the gain the independent Fisher test
    of the paper misses, and the table says they disagree."""
    rng = np.random.default_rng(5)
    gold = rng.standard_normal(500)  # white: effective n = frames
    base = gold + 0.9 * rng.standard_normal(500)
    better = base + 0.05 * rng.standard_normal(500)
    root = results / "experiments/baselines"
    _frames(gold, base).to_parquet(root / "a/c/p/predictions.parquet")
    _frames(gold, better).to_parquet(root / "b/c/p/predictions.parquet")
    card = copy.deepcopy(CARD)
    card["tables"][0]["rows"][1]["cells"]["a_test"] = ".560"  # .56 vs .52 reproduced
    for run, value in (("a", 0.52), ("b", 0.56)):
        path = root / run / "c/p/metrics.json"
        result = json.loads(path.read_text())
        result["metrics"]["arousal.test.ccc"] = value
        path.write_text(json.dumps(result))
    row = tables.compare_table(card, "t1", results_root=results).set_index(["row", "column"])
    row = row.loc[("better", "Arousal [test]")]
    n_a = tables.sample_size(root / "a/c/p", "arousal.test.ccc").n_test
    n_b = tables.sample_size(root / "b/c/p", "arousal.test.ccc").n_test
    assert min(n_a, n_b) > 350  # white noise: close to the 500 frames
    fisher = (math.atanh(0.56) - math.atanh(0.52)) / math.sqrt(1 / (n_b - 3) + 1 / (n_a - 3))
    assert ss.norm.sf(fisher) > 0.05 and row["mark (recomputed)"] == "-"
    r23 = ss.pearsonr(base, better).statistic
    steiger = compare_correlations_dependent(0.56, 0.52, r23, min(n_a, n_b), alternative="greater")
    assert steiger.p_value < 0.05
    assert row["mark (paired)"] == f"* (Steiger, p={steiger.p_value:.3g})"
    assert row["marks agree"] == "no"


def test_paired_test_needs_the_same_frames(results: Path) -> None:
    rng = np.random.default_rng(6)
    gold = rng.standard_normal(300)
    root = results / "experiments/baselines"
    _frames(gold, gold + rng.standard_normal(300)).to_parquet(root / "a/c/p/predictions.parquet")
    _frames(gold[:200], gold[:200]).to_parquet(root / "b/c/p/predictions.parquet")
    row = tables.compare_table(CARD, "t1", results_root=results).set_index(["row", "column"])
    assert row.loc[("better", "Arousal [test]"), "mark (paired)"] == "n/a (different frames)"
    assert row.loc[("better", "Arousal [test]"), "marks agree"] == ""


def test_paired_mcnemar_mark_for_classifiers(results: Path, make_result) -> None:
    """Two classifiers on the same 200 items: McNemar on each item's correctness, one-tailed,
    against the binomial tail written out (b = 26 only the new one right, c = 4 the reverse)."""
    items = [f"i{k}" for k in range(200)]
    truth = np.array(["a", "b"] * 100)
    wrong = np.where(truth == "a", "b", "a")
    old = truth.copy()
    old[:30] = wrong[:30]  # old wrong on items 0-29
    new = truth.copy()
    new[16:20] = wrong[16:20]  # new wrong on 16-19 (both wrong) ...
    new[30:34] = wrong[30:34]  # ... and on 30-33 (only new wrong)
    b, c = 26, 4  # new right & old wrong: 0-15 and 20-29; old right & new wrong: 30-33
    card = copy.deepcopy(CARD)
    svm = card["tables"][1]["rows"][0]
    new_row = copy.deepcopy(svm) | {"id": "svm2", "label": "SVM 2", "compare_to": "svm"}
    new_row["reproduce"] = svm["reproduce"] | {"experiment": "baselines/svm2"}
    card["tables"][1]["rows"].append(new_row)
    for name, pred in (("svm", old), ("svm2", new)):
        path = results / f"experiments/baselines/{name}/rml/loso"
        path.mkdir(parents=True, exist_ok=True)
        acc = float((pred == truth).mean())
        result = make_result(metrics={"accuracy_fold_mean": acc}, task="classification")
        (path / "metrics.json").write_text(json.dumps(result))
        frame = pd.DataFrame({"fold": 0, "item_id": items, "y_true": truth, "y_pred": pred})
        frame.sample(frac=1.0, random_state=1).to_parquet(path / "predictions.parquet")
    row = tables.compare_table(card, "t2", results_root=results).set_index("row").loc["svm2"]
    p = sum(math.comb(b + c, k) for k in range(b, b + c + 1)) / 2 ** (b + c)
    assert p < 0.05
    assert row["mark (paired)"] == f"* (McNemar, p={p:.3g})"
    # the paper's test: pooled two-proportion z on 192 vs 170 right of 200, one-tailed
    pooled = (192 + 170) / 400
    z = (192 / 200 - 170 / 200) / math.sqrt(pooled * (1 - pooled) * (2 / 200))
    assert row["mark (recomputed)"] == ("*" if ss.norm.sf(z) < 0.05 else "-")
    assert row["marks agree"] == ("yes" if ss.norm.sf(z) < 0.05 else "no")


def test_a_results_note_is_shown_beside_its_cell(results: Path) -> None:
    path = results / "experiments/baselines/a/c/p/metrics.json"
    result = json.loads(path.read_text())
    result["notes"] = {"arousal.test.ccc": "constant predictions (0 on all 500 frames): ..."}
    path.write_text(json.dumps(result))
    frame = tables.compare_table(CARD, "t1", results_root=results).set_index(["row", "column"])
    assert frame.loc[("classic", "Arousal [test]"), "note"].startswith("constant predictions")
    assert frame.loc[("classic", "Arousal (dev)"), "note"] == ""


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


def test_partial_tables_mark_failed_cells_with_the_job_log(results: Path) -> None:
    """Issue 15 §1.3: in the tables of a run that failed, a planned cell whose job failed
    says so with the log, one whose experiment (before post-processing) failed says which,
    a planned cell that was not reached says "not run", and nothing raises or reads pending."""
    card = copy.deepcopy(CARD)
    rows = card["tables"][0]["rows"]
    rows[0]["reproduce"]["experiment"] = "baselines/gone"
    rows[1]["reproduce"]["experiment"] = "baselines/later"
    rows[1]["reproduce"]["postprocess"] = "g"
    planned = {
        "experiments/baselines/gone/c/p",
        "experiments/baselines/later/c/p/pp-g",
        "experiments/baselines/svm/rml/loso",
    }
    failed = {"experiments/baselines/gone/c/p": "results/logs/gone.log"}
    frame = tables.compare_table(card, "t1", results_root=results, available=planned,
                                 failed=failed).set_index("row")  # fmt: skip
    assert set(frame.loc[["classic"], "verdict"]) == {"failed (log: results/logs/gone.log)"}
    assert set(frame.loc[["better"], "verdict"]) == {
        "not run: the run stopped before it, or a job it needs failed"
    }
    failed["experiments/baselines/later/c/p"] = "results/logs/later.log"
    frame = tables.compare_table(card, "t1", results_root=results, available=planned,
                                 failed=failed).set_index("row")  # fmt: skip
    assert set(frame.loc[["better"], "verdict"]) == {
        "failed: its experiment experiments/baselines/later/c/p failed "
        "(log: results/logs/later.log)"
    }
    assert frame.loc[["classic", "better"], "reproduced"].isna().all()
    assert frame.loc["later", "verdict"] == "not yet reproduced (issue 4)"  # pending stays
    # a result that exists is compared as in a complete run
    done = tables.compare_table(CARD, "t2", results_root=results, available=planned, failed=failed)
    assert list(done["verdict"]) == ["outside tolerance"]


# --- derived cells: computed from the reproduced cells they name ------------------------------


def _derived_card(cells: dict, exprs: dict, **derive) -> dict:
    """CARD plus a text table whose one derived row prints ``cells`` and computes ``exprs``."""
    card = copy.deepcopy(CARD)
    card["tables"].append(
        {
            "id": "text",
            "label": "Text, Sec. 5",
            "kind": "text",
            "caption": "Sec. 5, paragraph 1.",
            "metric": "ccc",
            "unit": "fraction",
            "columns": [
                {"id": "test", "header": "gain (test)"},
                {"id": "dev", "header": "gain (dev)"},
            ],
            "rows": [
                {
                    "id": "gain",
                    "label": "Better over Classic",
                    "origin": "derived",
                    "cells": cells,
                    "derive": {"cells": exprs, "tolerance": 0.05, **derive},
                }
            ],
        }
    )
    return card


GAIN = {"op": "difference", "of": ["t1.better.a_test", "t1.classic.a_test"]}


def test_a_derived_difference_is_computed_from_the_two_reproduced_results(results: Path) -> None:
    card = _derived_card({"test": ".200"}, {"test": GAIN})
    row = tables.compare_table(card, "text", results_root=results).iloc[0]
    # hand computation: runs give .68 and .52 -> .16; the paper prints .200 (= .700 - .500)
    assert row["origin"] == "derived"
    assert row["reproduced"] == pytest.approx(0.68 - 0.52)
    assert row["difference"] == pytest.approx(0.16 - 0.200)
    assert row["verdict"] == "within tolerance"  # |-.04| <= .05
    assert row["derived from"] == (
        "TABLE 1 better/a_test - TABLE 1 classic/a_test (printed cells give 0.2)"
    )
    # no test of a difference of two numbers: said, not silently blank
    assert pd.isna(row["p (vs reported)"]) and pd.isna(row["n"]) and pd.isna(row["n (test)"])
    assert (
        row["note"] == "test: not applicable (a difference of two numbers has no sample of its own)"
    )
    assert row["corpus source"].startswith("synthetic twin (scale tiny")
    card["tables"][2]["rows"][0]["cells"]["test"] = ".100"  # .16 vs .10: outside
    row = tables.compare_table(card, "text", results_root=results).iloc[0]
    assert row["verdict"] == "outside tolerance" and row["difference"] == pytest.approx(0.06)


def test_a_derived_cell_reads_percent_inputs_in_the_tables_unit(results: Path) -> None:
    card = _derived_card(
        {"test": "about 5%"},
        {"test": {"op": "difference", "of": ["t2.svm.acc", {"printed": "t2.svm.acc"}]}},
    )
    card["tables"][1]["rows"][0]["origin"] = "quoted"  # a re-run quoted cell may be printed
    card["tables"][1]["rows"][0]["source"] = "[1]"
    card["tables"][2]["unit"] = "percent"
    row = tables.compare_table(card, "text", results_root=results).iloc[0]
    assert row["reproduced"] == pytest.approx(55.0 - 60.0)  # run 0.55 -> 55 %, printed 60.00
    assert row["reported"] == 5.0 and row["reported (printed)"] == "about 5%"


def test_a_missing_input_gives_pending_not_zero(results: Path) -> None:
    card = _derived_card(
        {"test": ".300", "dev": ".100"},
        {
            "test": {"op": "difference", "of": ["t1.later.a_test", "t1.classic.a_test"]},
            "dev": {"op": "difference", "of": ["t1.better.a_dev", "t1.classic.a_dev"]},
        },
    )
    frame = tables.compare_table(card, "text", results_root=results).set_index("column")
    later = frame.loc["gain (test)"]
    assert np.isnan(later["reproduced"]) and np.isnan(later["difference"])
    assert later["verdict"] == "pending (not yet reproduced (issue 4): t1.later.a_test)"
    assert frame.loc["gain (dev)", "reproduced"] == pytest.approx(0.70 - 0.40)
    # inputs not configured in this run: pending, named, and the table still renders
    frame = tables.compare_table(card, "text", results_root=results, available=set())
    assert list(frame["verdict"]) == [
        "pending (not yet reproduced (issue 4): t1.later.a_test; "
        "not run in this configuration: t1.classic.a_test)",
        "pending (not run in this configuration: t1.better.a_dev, t1.classic.a_dev)",
    ]
    assert frame["reproduced"].isna().all()
    assert tables.summary({"text": frame}).iloc[0]["pending"] == 2
    many = {"op": "count", "of": [
        {"op": "greater", "of": [f"t1.{a}.{c}", f"t1.{b}.{c}"]}
        for a, b in (("better", "classic"), ("classic", "better")) for c in ("a_test", "a_dev")
    ]}  # fmt: skip
    card["tables"][2].update(metric="count", unit="count")
    card["tables"][2]["rows"][0]["derive"]["cells"] = {"test": many, "dev": many}
    card["tables"][2]["rows"][0]["cells"] = {"test": "two", "dev": "two"}
    frame = tables.compare_table(card, "text", results_root=results, available=set())
    assert frame["verdict"].iloc[0] == (
        "pending (not run in this configuration: t1.better.a_test, t1.classic.a_test, "
        "t1.better.a_dev and 1 more)"
    )
    # with the runs: .68 > .52 (test) and .70 > .40 (dev), the reverse comparisons fail
    assert list(tables.compare_table(card, "text", results_root=results)["reproduced"]) == [2, 2]


def test_a_selected_parameter_is_read_from_the_result(results: Path, make_result) -> None:
    for run, beta in (("a", 0.4), ("b", 0.4)):
        path = results / f"experiments/baselines/{run}/c/p/metrics.json"
        result = json.loads(path.read_text())
        result["params"]["arousal.beta"] = beta
        path.write_text(json.dumps(result))

    def beta(row: str) -> dict:
        return {"op": "param", "of": [f"t1.{row}.a_test"], "key": "arousal.beta"}

    card = _derived_card(
        {"test": "0.4"}, {"test": {"op": "same", "of": [beta("classic"), beta("better")]}}
    )
    card["tables"][2].update(metric="hyperparameter", unit="scalar")
    row = tables.compare_table(card, "text", results_root=results).iloc[0]
    assert row["reproduced"] == 0.4 and row["verdict"] == "within tolerance"
    assert "arousal.beta chosen by the run of TABLE 1 classic/a_test" in row["derived from"]
    path = results / "experiments/baselines/b/c/p/metrics.json"
    result = json.loads(path.read_text())
    result["params"]["arousal.beta"] = 1.0
    path.write_text(json.dumps(result))
    row = tables.compare_table(card, "text", results_root=results).iloc[0]
    assert row["verdict"] == "outside tolerance: inputs differ (0.4, 1)" and np.isnan(
        row["reproduced"]
    )
    del result["params"]["arousal.beta"]
    path.write_text(json.dumps(result))
    with pytest.raises(KeyError, match=r"no params key 'arousal\.beta'"):
        tables.compare_table(card, "text", results_root=results)


def test_a_derived_cell_no_run_can_give_says_why(results: Path) -> None:
    card = _derived_card(
        {"test": ".200", "dev": ".1"},
        {"test": GAIN},
        not_reproducible={"dev": "the text compares with a run it does not report"},
    )
    frame = tables.compare_table(card, "text", results_root=results).set_index("column")
    cell = frame.loc["gain (dev)"]
    assert cell["verdict"] == "not reproducible: the text compares with a run it does not report"
    assert np.isnan(cell["reproduced"]) and cell["derived from"] == ""


def test_derived_from_is_rendered_only_where_a_table_has_derived_cells(results: Path) -> None:
    card = _derived_card({"test": ".200"}, {"test": GAIN})
    text = tables.compare_table(card, "text", results_root=results)
    plain = tables.compare_table(card, "t1", results_root=results)
    assert list(text.columns) == list(plain.columns) == tables.COLUMNS  # CSVs keep one layout
    assert (plain["derived from"] == "").all()
    md = tables.to_markdown(text, title="t", caption_text="c")
    assert "| derived from |" in md and "TABLE 1 better/a_test - TABLE 1 classic/a_test" in md
    assert "derived from" not in tables.to_markdown(plain, title="t", caption_text="c")
    tex = tables.to_latex(text, caption_text="c", label="tab:x")
    assert "derived from" in tex and tex.count("\\\\") == len(text) + 1


def test_a_derived_cell_of_a_failed_run_names_the_failed_input(results: Path) -> None:
    card = _derived_card({"test": ".200"}, {"test": GAIN})
    card["tables"][0]["rows"][0]["reproduce"]["experiment"] = "baselines/gone"
    planned = {"experiments/baselines/gone/c/p", "experiments/baselines/b/c/p"}
    failed = {"experiments/baselines/gone/c/p": "results/logs/gone.log"}
    row = tables.compare_table(
        card, "text", results_root=results, available=planned, failed=failed
    ).iloc[0]
    assert pd.isna(row["reproduced"])
    assert row["verdict"] == "pending (failed (log: results/logs/gone.log): t1.classic.a_test)"


def _seeded(results: Path, make_result, values: dict[str, list[float]]) -> set[str]:
    """Replicates ``+seed1 ..`` of results a and b with the given test CCCs; the planned set."""
    available = {"experiments/baselines/a/c/p", "experiments/baselines/b/c/p"}
    for name, extra in values.items():
        for r, v in enumerate(extra, start=1):
            rel = f"experiments/baselines/{name}+seed{r}/c/p"
            _write(make_result, results, rel, {"arousal.test.ccc": v, "arousal.dev.ccc": v}, 500)
            available.add(rel)
    return available


def test_seed_replicates_give_mean_sd_and_a_t_test_over_seeds(results: Path, make_result) -> None:
    available = _seeded(results, make_result, {"a": [0.48, 0.56], "b": [0.70]})
    frame = tables.compare_table(CARD, "t1", results_root=results, available=available)
    classic = frame.set_index(["row", "column"]).loc[("classic", "Arousal [test]")]
    seeds = [0.52, 0.48, 0.56]  # replicate 0 (the fixture's run), then +seed1, +seed2
    assert classic["seeds"] == 3
    assert classic["reproduced"] == pytest.approx(np.mean(seeds))
    assert classic["sd (seeds)"] == pytest.approx(np.std(seeds, ddof=1))
    assert classic["difference"] == pytest.approx(np.mean(seeds) - 0.5)
    # independent reference: scipy's one-sample t on Fisher z, k - 1 = 2 degrees of freedom
    ref = ss.ttest_1samp(np.arctanh(seeds), math.atanh(0.5))
    assert classic["p (vs reported)"] == pytest.approx(ref.pvalue)
    assert classic["n (test)"] == 3 and classic["n"] == 500
    assert "one-sample t over 3 seeds on Fisher z" in classic["note"]
    # the frame-n test stays, on the mean
    z = (math.atanh(np.mean(seeds)) - math.atanh(0.5)) / math.sqrt(2 / 497)
    assert classic["p (n = frames)"] == pytest.approx(2 * ss.norm.sf(abs(z)))
    better = frame.set_index(["row", "column"]).loc[("better", "Arousal [test]")]
    assert better["seeds"] == 2 and better["reproduced"] == pytest.approx((0.68 + 0.70) / 2)
    md = tables.to_markdown(frame, title="t", caption_text="c")
    assert "| seeds | sd (seeds) |" in md and "0.040" in md  # sd of .52 .48 .56


def test_one_seed_shows_n_of_seeds_and_no_spread(results: Path) -> None:
    frame = tables.compare_table(CARD, "t1", results_root=results)
    row = frame.set_index(["row", "column"]).loc[("classic", "Arousal [test]")]
    assert row["seeds"] == 1 and pd.isna(row["sd (seeds)"])
    md = tables.to_markdown(frame, title="t", caption_text="c")
    assert "| seeds |" in md and "sd (seeds)" not in md


def test_seeds_that_agree_exactly_say_the_t_test_does_not_apply(results: Path, make_result) -> None:
    available = _seeded(results, make_result, {"a": [0.52]})
    frame = tables.compare_table(CARD, "t1", results_root=results, available=available)
    row = frame.set_index(["row", "column"]).loc[("classic", "Arousal [test]")]
    assert row["sd (seeds)"] == 0.0 and pd.isna(row["p (vs reported)"])
    assert "test over 2 seeds: not applicable (the seeds gave identical values" in row["note"]


def test_a_derived_cell_uses_the_mean_over_seeds(results: Path, make_result) -> None:
    available = _seeded(results, make_result, {"a": [0.48], "b": [0.72]})
    card = _derived_card({"test": ".200"}, {"test": GAIN})
    row = tables.compare_table(card, "text", results_root=results, available=available).iloc[0]
    assert row["reproduced"] == pytest.approx((0.68 + 0.72) / 2 - (0.52 + 0.48) / 2)


def test_a_planned_replicate_without_a_result_is_an_error_naming_it(
    results: Path, make_result
) -> None:
    available = _seeded(results, make_result, {"a": [0.48]})
    available.add("experiments/baselines/a+seed2/c/p")
    with pytest.raises(Exception, match=r"a\+seed2/c/p/metrics.json"):
        tables.compare_table(CARD, "t1", results_root=results, available=available)
