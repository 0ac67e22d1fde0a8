"""The result contract: one writer, a schema, and errors that name the offending key."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from emorepro.errors import CorruptInputError, EmoreproError
from emorepro.results import (
    Identity,
    Outcome,
    Source,
    read_result,
    settings_hash,
    source_of,
    write_result,
)


def _identity(**kw) -> Identity:
    base = dict(
        paper="p",
        family="fam",
        experiment="exp_1",
        corpus="rml",
        protocol="loso",
        source=Source("synthetic", "tiny", 3),
        rule="experiment",
        fold_sheet_sha256="cd" * 32,
        settings={"C": 0.1, "grid": [1, 2]},
    )
    return Identity(**{**base, **kw})


def _classification(**kw) -> Outcome:
    base = dict(
        task="classification",
        predictions=pd.DataFrame(
            {"item_id": ["a", "b"], "y_true": ["x", "y"], "y_pred": ["x", "x"]}
        ),
        metrics={"accuracy_pooled": 0.5, "n_items": 2},
        metric_variants={"accuracy_pooled": "accuracy, pooled"},
        folds=[{"fold": 0, "metrics": {"accuracy": 0.5}}],
        labels=("x", "y"),
        confusion={"labels": ["x", "y"], "matrix": [[1, 0], [1, 0]]},
    )
    return Outcome(**{**base, **kw})


def test_write_then_read_round_trips_and_records_identity(tmp_path: Path) -> None:
    result = write_result(
        _identity(),
        _classification(),
        metrics_path=tmp_path / "m.json",
        predictions_path=tmp_path / "p.parquet",
    )
    assert read_result(tmp_path / "m.json") == result
    assert (result["format"], result["task"], result["family"]) == (1, "classification", "fam")
    assert result["settings_sha256"] == settings_hash({"grid": [1, 2], "C": 0.1})  # key order
    assert result["source"] == {"kind": "synthetic", "scale": "tiny", "seed": 3}
    assert source_of(result).describe() == "synthetic twin (scale tiny, seed 3)"
    assert pd.read_parquet(tmp_path / "p.parquet").shape == (2, 3)


def test_real_source_has_no_scale() -> None:
    src = Source.from_mapping({"source": "real", "scale": "tiny", "seed": 1})
    assert (src.scale, src.describe()) == (None, "real corpus")
    with pytest.raises(EmoreproError, match="'real' or 'synthetic'"):
        Source.from_mapping({"source": "twin", "seed": 1})


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"metric_variants": {}}, "['accuracy_pooled'] have no metric_variants"),
        ({"labels": None}, "'labels' is a required property"),
        ({"confusion": None}, "'confusion' is a required property"),
        ({"task": "ranking"}, "result key task"),
        ({"folds": []}, "result key folds"),
        ({"confusion": {"labels": ["y", "x"], "matrix": [[1, 0], [1, 0]]}}, "confusion labels"),
    ],
)
def test_invalid_outcomes_write_nothing_and_name_the_key(tmp_path: Path, change, words) -> None:
    with pytest.raises(EmoreproError, match="fam/exp_1") as err:
        write_result(
            _identity(),
            _classification(**change),
            metrics_path=tmp_path / "m.json",
            predictions_path=tmp_path / "p.parquet",
        )
    assert words in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_regression_needs_targets(tmp_path: Path) -> None:
    outcome = Outcome(
        "regression",
        pd.DataFrame(),
        {"arousal.dev.ccc": 0.3},
        {"arousal.dev.ccc": "ccc"},
        [{"fold": 0, "metrics": {}}],
    )
    with pytest.raises(EmoreproError, match="'targets' is a required property"):
        write_result(
            _identity(),
            outcome,
            metrics_path=tmp_path / "m.json",
            predictions_path=tmp_path / "p.parquet",
        )


def test_reading_a_broken_result_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text("{not json")
    with pytest.raises(CorruptInputError, match=r"metrics\.json: unreadable result"):
        read_result(tmp_path)
    path.write_text(json.dumps({"metrics": {"a": 1}}))
    with pytest.raises(CorruptInputError, match=r"metrics\.json.*required property.*rerun"):
        read_result(path)


def test_constant_predictions_get_a_note_with_their_ccc_of_zero(tmp_path: Path) -> None:
    """A diverged or dead model predicting one value: CCC 0 by definition, recorded as a note
    on exactly the (target, role) metrics whose predictions are constant."""
    import numpy as np

    from emorepro import metrics as M

    gold = np.sin(np.arange(50) / 5.0)
    frames = []
    for role, pred in (("dev", np.full(50, 0.25)), ("test", gold * 0.5)):
        frames.append(
            pd.DataFrame({"item_id": "r", "time_s": np.arange(50) * 0.04, "role": role,
                          "target": "arousal", "y_true": gold, "y_pred": pred})
        )  # fmt: skip
    preds = pd.concat(frames, ignore_index=True)
    dev = preds[preds["role"] == "dev"]
    metrics = {
        "arousal.dev.ccc": M.ccc(dev["y_true"], dev["y_pred"]),
        "arousal.test.ccc": 0.8,
    }
    assert metrics["arousal.dev.ccc"] == 0.0
    outcome = Outcome(
        "regression", preds, metrics, dict.fromkeys(metrics, "ccc"),
        [{"fold": 0, "metrics": metrics}], targets=("arousal",),
    )  # fmt: skip
    result = write_result(
        _identity(), outcome, metrics_path=tmp_path / "m.json", predictions_path=tmp_path / "p.pq"
    )
    assert set(result["notes"]) == {"arousal.dev.ccc"}
    assert result["notes"]["arousal.dev.ccc"].startswith("constant predictions (0.25 on all 50")
    assert read_result(tmp_path / "m.json")["notes"] == result["notes"]
    # a varying prediction gets no note, and the key is absent when nothing needs one
    varying = Outcome(
        "regression", preds.assign(y_pred=preds["y_true"]), metrics,
        dict.fromkeys(metrics, "ccc"), [{"fold": 0, "metrics": metrics}], targets=("arousal",),
    )  # fmt: skip
    again = write_result(
        _identity(), varying, metrics_path=tmp_path / "v.json", predictions_path=tmp_path / "v.pq"
    )
    assert "notes" not in again
