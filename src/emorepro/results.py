"""The result contract: what every experiment writes, and the one function that writes it.

A result is a folder ``experiments/<family>/<experiment>/<corpus>/<protocol>[/pp-<grid>]/``
holding ``predictions.parquet`` (one row per prediction, kept so that others can re-score
it) and ``metrics.json``, validated by ``schemas/result.schema.json``:

* identity: ``paper``, ``family``, ``experiment``, ``postprocess``, ``corpus``, ``protocol``;
* ``task``: ``regression`` (``targets``, CCC), ``classification`` (``labels``: the corpus
  adapter's class vocabulary, ``confusion``) or ``analysis`` (a measurement such as unit
  correlations, ``targets`` name what was measured);
* ``source``: ``{"kind": real | synthetic, "scale", "seed"}``; ``profile`` of a network;
  ``replicate`` (``{"index", "training_seed"}``) of a seed replicate
  (:mod:`emorepro.replicates`);
* ``settings`` (the job's scientific parameters) and their ``settings_sha256``;
  ``fold_sheet_sha256``; ``rule``; ``code_version``;
* ``metrics`` with a ``metric_variants`` entry for every key except counts (``n_*``), and
  ``folds`` (per-fold metrics and parameters).

Figures, the MLflow mirror and the tables read the task and the source from the result,
never from its path. :func:`write_result` writes the predictions first and ``metrics.json``
last (both atomically), so a ``metrics.json`` on disk marks a complete result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from emorepro import schemas
from emorepro.errors import CorruptInputError, EmoreproError
from emorepro.io import read_json, write_json, write_parquet
from emorepro.provenance import code_version

FORMAT = 1
Task = Literal["regression", "classification", "analysis"]
TASKS: tuple[str, ...] = ("regression", "classification", "analysis")


def result_schema() -> dict[str, Any]:
    """The JSON schema of ``metrics.json`` shipped with the package."""
    return schemas.load("result")


@dataclass(frozen=True)
class Source:
    """Where the data of a result came from: a real corpus or a synthetic twin."""

    kind: Literal["real", "synthetic"]
    scale: str | None
    seed: int

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Source:
        """From ``{"source" | "kind": ..., "scale": ..., "seed": ...}`` (a job's params)."""
        kind = data.get("kind", data.get("source"))
        if kind not in ("real", "synthetic"):
            raise EmoreproError(f"source must be 'real' or 'synthetic', got {kind!r}")
        scale = data.get("scale") if kind == "synthetic" else None
        return cls(kind, scale, int(data["seed"]))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "scale": self.scale, "seed": self.seed}

    def describe(self) -> str:
        """``real corpus`` or ``synthetic twin (scale tiny, seed 2017)``."""
        if self.kind == "real":
            return "real corpus"
        return f"synthetic twin (scale {self.scale}, seed {self.seed})"


def source_of(result: Mapping[str, Any]) -> Source:
    """The :class:`Source` recorded in a result."""
    return Source.from_mapping(result["source"])


def settings_hash(settings: Mapping[str, Any]) -> str:
    """SHA-256 of the settings as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Identity:
    """Who a result is: fixed by the job before it computes anything."""

    paper: str
    family: str
    experiment: str
    corpus: str
    protocol: str
    source: Source
    rule: str
    fold_sheet_sha256: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    postprocess: str | None = None
    #: seed replicate (:mod:`emorepro.replicates`): ``{"index": r, "training_seed": s}``
    replicate: Mapping[str, int] | None = None


@dataclass
class Outcome:
    """What a run computed. ``metric_variants`` must name a variant for every metric key
    except counts (``n_*``); ``files`` lists other files the run wrote into the result
    folder (complete before :func:`write_result` is called)."""

    task: Task
    predictions: pd.DataFrame
    metrics: dict[str, float]
    metric_variants: dict[str, str]
    folds: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    labels: Sequence[str] | None = None
    targets: Sequence[str] | None = None
    confusion: Mapping[str, Any] | None = None
    profile: str | None = None
    files: Sequence[str] = ()
    device: str | None = None
    timing: Sequence[Mapping[str, Any]] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    raw_metrics: Mapping[str, Any] | None = None


def build_result(identity: Identity, outcome: Outcome) -> dict[str, Any]:
    """The ``metrics.json`` content of a run (validated; see the module docstring)."""
    result: dict[str, Any] = {
        "format": FORMAT,
        "paper": identity.paper,
        "family": identity.family,
        "experiment": identity.experiment,
        "postprocess": identity.postprocess,
        "corpus": identity.corpus,
        "protocol": identity.protocol,
        "task": outcome.task,
        "source": identity.source.to_dict(),
        "profile": outcome.profile,
        "settings": dict(identity.settings),
        "settings_sha256": settings_hash(identity.settings),
        "rule": identity.rule,
        "fold_sheet_sha256": identity.fold_sheet_sha256,
        "code_version": code_version(),
        "metrics": dict(outcome.metrics),
        "metric_variants": dict(outcome.metric_variants),
        "folds": list(outcome.folds),
        "params": dict(outcome.params),
    }
    optional = {
        "labels": list(outcome.labels) if outcome.labels is not None else None,
        "targets": list(outcome.targets) if outcome.targets is not None else None,
        "confusion": dict(outcome.confusion) if outcome.confusion is not None else None,
        "files": list(outcome.files) or None,
        "device": outcome.device,
        "timing": list(outcome.timing) or None,
        "extra": dict(outcome.extra) or None,
        "raw_metrics": dict(outcome.raw_metrics) if outcome.raw_metrics is not None else None,
        "replicate": dict(identity.replicate) if identity.replicate is not None else None,
    }
    result.update({k: v for k, v in optional.items() if v is not None})
    notes = prediction_notes(outcome.predictions, outcome.metrics)
    if notes:
        result["notes"] = notes
    validate_result(result, where=f"{identity.family}/{identity.experiment}")
    return result


def prediction_notes(predictions: pd.DataFrame, metrics: Mapping[str, float]) -> dict[str, str]:
    """``<target>.<role>.<metric>`` -> a note for each such metric whose predictions (rows of
    that target and role) are constant: CCC is then 0 by definition (cov = 0) and PCC
    undefined, which a table must not present as a model's agreement."""
    if predictions is None or not {"target", "role", "y_pred"} <= set(predictions.columns):
        return {}
    notes: dict[str, str] = {}
    for key in metrics:
        parts = key.split(".")
        if len(parts) != 3:
            continue
        target, role, metric = parts
        rows = predictions[(predictions["target"] == target) & (predictions["role"] == role)]
        pred = pd.to_numeric(rows["y_pred"], errors="coerce").to_numpy(dtype=float)
        if pred.size >= 2 and np.all(pred == pred[0]):
            notes[key] = (
                f"constant predictions ({pred[0]:.4g} on all {pred.size} frames): {metric} "
                "measures no agreement (CCC is 0 by definition, PCC undefined)"
            )
    return notes


def validate_result(result: Mapping[str, Any], *, where: str) -> None:
    """Check a result against the schema and the rules the schema cannot state; errors name
    ``where`` (a file or an experiment) and the offending key."""
    err = schemas.first_error(result, result_schema())
    if err is not None:
        key = schemas.key_of(err)
        raise EmoreproError(f"{where}: result key {key}: {err.message} (result.schema.json)")
    metrics = {k for k in result["metrics"] if not k.startswith("n_")}
    missing = sorted(metrics - set(result["metric_variants"]))
    if missing:
        raise EmoreproError(f"{where}: metrics {missing} have no metric_variants entry")
    confusion = result.get("confusion")
    if confusion is not None and list(confusion["labels"]) != list(result.get("labels", [])):
        raise EmoreproError(f"{where}: confusion labels differ from the result's labels")


def write_result(
    identity: Identity,
    outcome: Outcome,
    *,
    metrics_path: Path | str,
    predictions_path: Path | str,
) -> dict[str, Any]:
    """Validate, then write ``predictions.parquet`` and (last) ``metrics.json``; returns the
    result dict. Nothing is written when validation fails."""
    result = build_result(identity, outcome)
    write_parquet(predictions_path, outcome.predictions)
    write_json(metrics_path, result)
    return result


def read_result(path: Path | str) -> dict[str, Any]:
    """A ``metrics.json`` (or the folder holding it), validated; errors name the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.json"
    try:
        data = read_json(path)
    except (OSError, ValueError) as err:
        raise CorruptInputError(path, f"unreadable result ({err})", fix="rerun its job") from None
    try:
        validate_result(data, where=str(path))
    except EmoreproError as err:
        raise CorruptInputError(path, str(err), fix="rerun the job that writes it") from None
    return data
