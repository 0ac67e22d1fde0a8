"""MLflow mirror: deterministic identity, parent/child runs, failures never FINISHED."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from emorepro.tracking import RUN_KEY_TAG, mirror_results


@pytest.fixture
def _result(make_result) -> Callable[..., dict]:
    def result(C: float = 0.01) -> dict:
        return make_result(
            task="classification",
            experiment="svm_eGeMAPSv02",
            corpus="rml",
            protocol="loso",
            seed=1,
            params={"C": C},
            metrics={"accuracy_fold_mean": 0.5, "n_folds": 2},
            folds=[{"fold": k, "metrics": {"accuracy": 0.4 + k / 10}} for k in range(2)],
        )

    return result


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def _runs(uri: str) -> list:
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("emorepro/baselines")
    return client.search_runs([exp.experiment_id])


def test_mirror_twice_updates_instead_of_adding(uri: str, _result) -> None:
    first = mirror_results([_result()], tracking_uri=uri)
    second = mirror_results([_result()], tracking_uri=uri)
    assert first == second
    runs = _runs(uri)
    assert len(runs) == 3  # one parent, two folds
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.tags["emorepro.fold_sheet_sha256"] == "ab" * 32
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == first[0][0]]
    assert sorted(r.data.metrics["accuracy"] for r in children) == [0.4, 0.5]
    assert all(r.data.tags[RUN_KEY_TAG].endswith(("fold=0", "fold=1")) for r in children)


def test_changed_params_replace_the_run(uri: str, _result) -> None:
    before = mirror_results([_result()], tracking_uri=uri)
    after = mirror_results([_result(C=1.0)], tracking_uri=uri)
    assert before != after
    parents = [r for r in _runs(uri) if "mlflow.parentRunId" not in r.data.tags]
    assert [p.data.params["C"] for p in parents] == ["1.0"]


def test_failure_is_not_recorded_as_finished(
    uri: str, monkeypatch: pytest.MonkeyPatch, _result
) -> None:
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    bad = _result()
    bad["experiment"] = "svm_other"
    monkeypatch.setattr(MlflowClient, "log_batch", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        mirror_results([bad], tracking_uri=uri)
    monkeypatch.undo()
    statuses = {
        r.info.status for r in _runs(uri) if r.data.tags[RUN_KEY_TAG].split("/")[2] == "svm_other"
    }
    assert statuses == {"FAILED"}


def test_tracking_store_path(tmp_path: Path, _result) -> None:
    uri = f"sqlite:///{tmp_path / 'x.db'}"
    mirror_results([_result()], tracking_uri=uri)
    assert (tmp_path / "x.db").stat().st_size > 0


def test_one_experiment_per_paper_with_artifacts(tmp_path: Path, _result) -> None:
    uri = f"sqlite:///{tmp_path / 'p.db'}"
    artifact = tmp_path / "metrics.json"
    artifact.write_text("{}")
    result = {**_result(), "papers": ["paper_a", "paper_b"], "artifacts": [str(artifact)]}
    ids = mirror_results([result], tracking_uri=uri, artifact_root=str(tmp_path / "art"))
    assert len(ids[0]) == 2 and ids[0][0] != ids[0][1]
    client = MlflowClient(tracking_uri=uri)
    for paper, run_id in zip(("paper_a", "paper_b"), ids[0], strict=True):
        exp = client.get_experiment_by_name(f"emorepro/{paper}")
        run = client.get_run(run_id)
        assert run.info.experiment_id == exp.experiment_id
        assert run.data.tags[RUN_KEY_TAG].startswith(f"{paper}/")
        assert [a.path for a in client.list_artifacts(run_id)] == ["metrics.json"]
    # mirroring again updates the same runs
    assert mirror_results([result], tracking_uri=uri, artifact_root=str(tmp_path / "art")) == ids


def test_training_curves_are_step_metrics_not_params(tmp_path: Path, _result) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    history = [
        {"epoch": e, "train_loss": 1.0 / e, "dev_ccc": 0.1 * e, "dev_ccc.arousal": float("nan")}
        for e in (1, 2, 3)
    ]
    result = {**_result(), "params": {"C": 0.1, "history": history}}
    for _ in range(2):  # mirroring twice keeps one point per epoch
        (parent,) = mirror_results([result], tracking_uri=uri)[0]
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(parent)
    assert "history" not in run.data.params and run.data.params["C"] == "0.1"
    curve = client.get_metric_history(parent, "epoch.train_loss")
    assert sorted((m.step, m.value) for m in curve) == [(1, 1.0), (2, 0.5), (3, 1.0 / 3)]
    assert client.get_metric_history(parent, "epoch.dev_ccc.arousal") == []  # NaN skipped
