"""Mirror result files into MLflow with deterministic run identity.

Result files (``metrics.json``) are the source of truth; MLflow is a view on them. Each
result becomes one *parent* run (tag ``emorepro.run_key`` = paper/experiment/corpus/
protocol/seed) in the MLflow experiment of its paper, with one *child* run per fold
(``emorepro.run_key`` = parent key + ``/fold=<k>``). Mirroring again finds the runs by that
tag and updates them instead of adding new ones; if the recorded parameters changed (MLflow
params are immutable) the old run is deleted and recreated.

A run is marked FINISHED only after all its data is logged; any exception marks it FAILED
and re-raises. One Snakemake job does all mirroring in a run. Several runs may still share one
SQLite store (``mlflow.tracking_uri`` is configurable): :func:`mirror_results` holds an
exclusive lock on ``<store>.lock`` while it writes, so concurrent mirrors wait for each other
instead of failing with "database is locked" or racing to create the schema or an experiment.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from emorepro.provenance import code_version

RUN_KEY_TAG = "emorepro.run_key"
log = logging.getLogger(__name__)


@contextlib.contextmanager
def store_lock(tracking_uri: str) -> Iterator[None]:
    """Exclusive lock on a SQLite store (``sqlite:///<path>`` -> ``<path>.lock``, flock) for
    the duration of the block; other stores (an MLflow server) need none. SQLite has one
    writer at a time, and MLflow's first connection creates the schema: two mirrors writing
    at once would otherwise fail with "database is locked" or race on the schema."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        yield
        return
    path = Path(tracking_uri[len(prefix) :].split("?", 1)[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another mirror to release %s.lock", path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_key(result: Mapping[str, Any]) -> str:
    """Stable identity of a result:
    ``paper/family/experiment[/pp=<grid>]/corpus/protocol/seed=<s>``."""
    parts = [str(result["paper"]), str(result["family"]), str(result["experiment"])]
    if result.get("postprocess"):
        parts.append(f"pp={result['postprocess']}")
    parts += [str(result["corpus"]), str(result["protocol"]), f"seed={result['source']['seed']}"]
    return "/".join(parts)


def _flat_params(params: Mapping[str, Any]) -> dict[str, str]:
    return {k: json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in params.items()}


def _numeric(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}


def epoch_metrics(history: Iterable[Mapping[str, Any]]) -> list[Any]:
    """Training curves as MLflow metrics ``epoch.<key>`` with ``step`` = epoch (timestamp 0,
    so mirroring twice logs the same points)."""
    from mlflow.entities import Metric

    out = []
    for entry in history:
        step = int(entry["epoch"])
        for k, v in sorted(entry.items()):
            if k != "epoch" and isinstance(v, int | float) and math.isfinite(v):
                out.append(Metric(f"epoch.{k}", float(v), 0, step))
    return out


class _Mirror:
    def __init__(self, tracking_uri: str, artifact_root: str | None = None) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.artifact_root = artifact_root

    def experiment_id(self, name: str) -> str:
        exp = self.client.get_experiment_by_name(name)
        if exp is None:
            location = None
            if self.artifact_root:
                location = Path(self.artifact_root, name.replace("/", "_")).resolve().as_uri()
            return self.client.create_experiment(name, artifact_location=location)
        if exp.lifecycle_stage == "deleted":
            self.client.restore_experiment(exp.experiment_id)
        return exp.experiment_id

    def upsert(
        self,
        exp_id: str,
        key: str,
        *,
        name: str,
        params: dict[str, str],
        metrics: dict[str, float],
        tags: dict[str, str],
        parent: str | None = None,
    ) -> str:
        from mlflow.entities import Metric, Param, RunTag

        found = self.client.search_runs(
            [exp_id], filter_string=f"tags.`{RUN_KEY_TAG}` = '{key}'", max_results=10
        )
        run_id = None
        for run in found:
            if run_id is None and run.data.params == params:
                run_id = run.info.run_id
            else:  # stale duplicate or changed params: replace
                self.client.delete_run(run.info.run_id)
        all_tags = {**tags, RUN_KEY_TAG: key, "mlflow.runName": name}
        if parent is not None:
            all_tags["mlflow.parentRunId"] = parent
        if run_id is None:
            run_id = self.client.create_run(exp_id, run_name=name, tags=all_tags).info.run_id
        else:
            self.client.update_run(run_id, status="RUNNING")
        try:
            self.client.log_batch(
                run_id,
                metrics=[Metric(k, v, 0, 0) for k, v in sorted(metrics.items())],
                params=[Param(k, v) for k, v in sorted(params.items())],
                tags=[RunTag(k, v) for k, v in sorted(all_tags.items())],
            )
        except Exception:
            self.client.set_terminated(run_id, status="FAILED")
            raise
        return run_id

    def finish(self, run_id: str) -> None:
        self.client.set_terminated(run_id, status="FINISHED")


def mirror_results(
    results: Iterable[Mapping[str, Any]],
    *,
    tracking_uri: str,
    artifact_root: str | None = None,
) -> list[list[str]]:
    """Mirror each result dict (the content of a ``metrics.json``) into MLflow.

    A result goes into the experiment ``emorepro/<paper>`` of every paper listed in its
    optional ``papers`` key (the paper cards that use it), else of its ``paper``. Returns, per
    result, its parent run ids. Parent runs carry the result's params, aggregate metrics, tags
    (rule, fold-sheet hash, corpus source, scale, code version) and the files listed in its
    optional ``artifacts`` key; child runs carry per-fold metrics.
    """
    parents = []
    with store_lock(tracking_uri):
        mirror = _Mirror(tracking_uri, artifact_root)
        for result in results:
            parents.append(
                [
                    _mirror_one(mirror, {**result, "paper": paper})
                    for paper in result.get("papers") or [result["paper"]]
                ]
            )
    return parents


def _mirror_one(mirror: _Mirror, result: Mapping[str, Any]) -> str:
    version = code_version()
    exp_id = mirror.experiment_id(f"emorepro/{result['paper']}")
    key = run_key(result)
    tags = {
        "emorepro.rule": str(result.get("rule", "")),
        "emorepro.fold_sheet_sha256": str(result.get("fold_sheet_sha256", "")),
        "emorepro.corpus_source": str(result["source"]["kind"]),
        "emorepro.scale": str(result["source"].get("scale") or ""),
        "emorepro.task": str(result["task"]),
        "emorepro.family": str(result["family"]),
        "emorepro.settings_sha256": str(result.get("settings_sha256", "")),
        "emorepro.code_version": version,
        "emorepro.metric_variants": json.dumps(result.get("metric_variants", {})),
    }
    if result.get("replicate"):  # seed replicates (emorepro.replicates)
        tags["emorepro.replicate"] = str(result["replicate"]["index"])
        tags["emorepro.training_seed"] = str(result["replicate"]["training_seed"])
    pp = f"+pp-{result['postprocess']}" if result.get("postprocess") else ""
    name = f"{result['experiment']}{pp}:{result['corpus']}:{result['protocol']}"
    params = dict(result.get("params", {}))
    history = params.pop("history", None) or []  # per-epoch curves: step metrics, not a param
    parent = mirror.upsert(
        exp_id,
        key,
        name=name,
        params=_flat_params(params),
        metrics=_numeric(result.get("metrics", {})),
        tags=tags,
    )
    try:
        if history:
            mirror.client.log_batch(parent, metrics=epoch_metrics(history))
        for path in result.get("artifacts", []):
            mirror.client.log_artifact(parent, str(path))
        for fold in result.get("folds", []):
            child = mirror.upsert(
                exp_id,
                f"{key}/fold={fold['fold']}",
                name=f"{name}:fold{fold['fold']}",
                params=_flat_params(fold.get("params", {})),
                metrics=_numeric(fold.get("metrics", {})),
                tags=tags,
                parent=parent,
            )
            mirror.finish(child)
    except Exception:
        mirror.client.set_terminated(parent, status="FAILED")
        raise
    mirror.finish(parent)
    return parent
