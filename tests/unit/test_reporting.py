"""Reporting steps read the task and the source from the result, never from its path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emorepro.errors import EmoreproError
from emorepro.steps.reporting import figure_step, figures_step, results_table_step


def _write(tmp_path: Path, result: dict, predictions: pd.DataFrame) -> tuple[Path, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "metrics.json").write_text(json.dumps(result))
    predictions.to_parquet(tmp_path / "predictions.parquet")
    return tmp_path / "metrics.json", tmp_path / "predictions.parquet"


def _trace_predictions() -> pd.DataFrame:
    t = np.arange(50) * 0.04
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "item_id": "rec1",
                    "time_s": t,
                    "role": "test",
                    "target": target,
                    "y_true": np.sin(t),
                    "y_pred": np.cos(t),
                }
            )
            for target in ("arousal", "valence")
        ],
        ignore_index=True,
    )


def test_figure_kind_follows_the_recorded_task(tmp_path: Path, make_result) -> None:
    # a classification result in a folder whose name looks like a regression result
    clf = make_result(
        metrics={"accuracy_pooled": 0.5}, task="classification", experiment="svr_eGeMAPSv02"
    )
    metrics, preds = _write(tmp_path / "clf", clf, pd.DataFrame({"item_id": ["a"]}))
    figure_step("confusion", metrics, preds, tmp_path / "clf.png")
    assert (tmp_path / "clf.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(EmoreproError, match="a trace figure needs a regression result"):
        figure_step("trace", metrics, preds, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
    reg = make_result(metrics={"arousal.test.ccc": 0.5}, experiment="svm_eGeMAPSv02")
    metrics, preds = _write(tmp_path / "reg", reg, _trace_predictions())
    figure_step("trace", metrics, preds, tmp_path / "trace.png")
    assert (tmp_path / "trace.png").stat().st_size > 1000
    with pytest.raises(EmoreproError, match="baselines: no figure kind 'fig9'"):
        figure_step("fig9", metrics, preds, tmp_path / "x.png")


def test_one_job_draws_every_figure_of_a_family_into_its_folder(
    tmp_path: Path, make_result
) -> None:
    clf = make_result(metrics={"accuracy_pooled": 0.5}, task="classification")
    m1, p1 = _write(tmp_path / "in/clf", clf, pd.DataFrame({"item_id": ["a"]}))
    reg = make_result(metrics={"arousal.test.ccc": 0.5})
    m2, p2 = _write(tmp_path / "in/reg", reg, _trace_predictions())
    out = tmp_path / "figures/experiments/baselines"
    specs = [
        ["confusion", str(m1), str(p1), str(out / "svm/c/p/confusion.png")],
        ["trace", str(m2), str(p2), str(out / "svr/c/p/trace.png")],
        ["trace", str(m2), str(p2), str(out / "svr/c/p/pp-g/trace.png")],
    ]
    figures_step(specs, out)
    pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert pngs == ["svm/c/p/confusion.png", "svr/c/p/pp-g/trace.png", "svr/c/p/trace.png"]
    assert all((out / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)
    assert not list(out.rglob(".tmp-*"))
    with pytest.raises(EmoreproError, match="outside the job's output folder"):
        figures_step([["trace", str(m2), str(p2), str(tmp_path / "x.png")]], out)
    figures_step([], tmp_path / "empty")  # a family without figures still gets its folder
    assert (tmp_path / "empty").is_dir()


def test_results_table_lists_every_metric_with_task_and_source(tmp_path: Path, make_result) -> None:
    a = make_result(metrics={"arousal.test.ccc": 0.5, "n_frames": 3}, postprocess="han2018")
    b = make_result(metrics={"accuracy_pooled": 0.25}, task="classification", scale=None)
    paths = [_write(tmp_path / n, r, pd.DataFrame())[0] for n, r in (("a", a), ("b", b))]
    table = results_table_step(paths, out_md=tmp_path / "t.md", out_csv=tmp_path / "t.csv")
    assert list(table["metric"]) == ["arousal.test.ccc", "accuracy_pooled"]  # no counts
    assert list(table["task"]) == ["regression", "classification"]
    assert table["experiment"][0].endswith("+pp-han2018")
    assert list(table["corpus source"]) == ["synthetic twin (scale tiny, seed 7)", "real corpus"]
    assert "real corpus" in (tmp_path / "t.md").read_text()


def test_cross_corpus_table_is_method_by_corpus_saying_real_or_twin(
    tmp_path: Path, make_result
) -> None:
    from emorepro.steps.reporting import cross_corpus_step

    def clf(experiment: str, corpus: str, uar: float, scale: str | None) -> dict:
        return make_result(
            metrics={"uar_pooled": uar, "accuracy_fold_mean": uar + 0.01},
            task="classification",
            experiment=experiment,
            corpus=corpus,
            protocol="loso",
            scale=scale,
        )

    results = [
        clf("svm_eGeMAPSv02", "rml", 0.4, "tiny"),
        clf("svm_eGeMAPSv02", "emodb", 0.6, None),
        clf("svm_eGeMAPSv02_spkz", "emodb", 0.7, None),
        make_result(metrics={"arousal.test.ccc": 0.5}),  # regression: not in this table
    ]
    paths = [_write(tmp_path / str(i), r, pd.DataFrame())[0] for i, r in enumerate(results)]
    table = cross_corpus_step(paths, out_md=tmp_path / "c.md", out_csv=tmp_path / "c.csv")
    assert len(table) == 3 and set(table["corpus"]) == {"rml", "emodb"}
    md = (tmp_path / "c.md").read_text()
    assert "| method | emodb | rml |" in md
    assert (
        "| baselines/svm_eGeMAPSv02 | 0.600 / 0.610 (loso, real) | 0.400 / 0.410 (loso, twin) |"
        in md
    )
    assert "| baselines/svm_eGeMAPSv02_spkz | 0.700 / 0.710 (loso, real) |  |" in md
