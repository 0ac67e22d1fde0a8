"""Fold loops and result summaries shared by every experiment, whatever model it trains.

* :func:`run_over_folds` — one ``fit_predict(fold)`` call per fold of a fold sheet (LOSO,
  LOGSO, a fixed partition), predictions concatenated with their fold and subject.
* :func:`summarise_classification` — the metrics of a categorical result as Zhang et al.
  (002) report them: accuracy averaged over test folds ("average accuracy in the
  test-runs"), plus pooled accuracy, UAR, macro-F1 and the confusion matrix over a fixed
  class list (a fold can lack a class).
* :func:`summarise_regression` — CCC per target and role, pooled over the partition with
  population moments (the AVEC 2016 convention, :data:`emorepro.metrics.CCC_POOLED`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from emorepro import metrics as M
from emorepro.errors import EmoreproError
from emorepro.protocols import ROLES
from emorepro.results import Outcome, Task


@dataclass(frozen=True)
class Fold:
    """One fold of a sheet: item ids per role and the subject of every item."""

    index: int
    train: list[str]
    dev: list[str]
    test: list[str]
    subjects: dict[str, str] = field(default_factory=dict)


def folds_of(sheet: pd.DataFrame) -> list[Fold]:
    """The folds of a sheet (``fold, item_id, subject, role``), in fold order."""
    out = []
    for fold, part in sheet.groupby("fold", sort=True):
        roles = {r: part.loc[part["role"] == r, "item_id"].tolist() for r in ROLES}
        subjects = dict(zip(part["item_id"], part["subject"], strict=True))
        out.append(Fold(int(fold), roles["train"], roles["dev"], roles["test"], subjects))
    return out


FitPredict = Callable[[Fold], pd.DataFrame]


def run_over_folds(sheet: pd.DataFrame, fit_predict: FitPredict) -> pd.DataFrame:
    """Call ``fit_predict(fold)`` for every fold; concatenate what it returns.

    ``fit_predict`` trains on ``fold.train`` (and ``fold.dev`` if it wants) and returns one
    row per test item with at least ``item_id``, ``y_true`` and ``y_pred``. The result gets
    ``fold`` and ``subject`` columns in front; a fold that predicts other items than its test
    items raises :class:`EmoreproError`.
    """
    parts = []
    for fold in folds_of(sheet):
        table = fit_predict(fold)
        if sorted(map(str, table["item_id"])) != sorted(fold.test):
            raise EmoreproError(
                f"fold {fold.index}: predictions cover other items than the fold's "
                f"{len(fold.test)} test items"
            )
        table = table.reset_index(drop=True)
        table.insert(0, "subject", [fold.subjects[str(i)] for i in table["item_id"]])
        table.insert(0, "fold", fold.index)
        parts.append(table)
    if not parts:
        raise EmoreproError("the fold sheet has no folds")
    return pd.concat(parts, ignore_index=True)


def fold_curves(
    curves: Mapping[int, Sequence[float]], key: str = "train_loss"
) -> list[dict[str, Any]]:
    """Per-fold training curves as epoch entries ``{"epoch": e, "fold<k>.<key>": value}``
    (one entry per epoch, 1-based; a fold without a curve adds nothing): the shape of a
    result's ``history`` that the MLflow mirror logs as step metrics."""
    by_epoch: dict[int, dict[str, Any]] = {}
    for fold, values in sorted(curves.items()):
        for epoch, value in enumerate(values, start=1):
            entry = by_epoch.setdefault(epoch, {"epoch": epoch})
            entry[f"fold{fold}.{key}"] = float(value)
    return [by_epoch[e] for e in sorted(by_epoch)]


@dataclass
class Summary:
    """Metrics, their variants, per-fold records and (classification) the confusion matrix."""

    metrics: dict[str, float]
    metric_variants: dict[str, str]
    folds: list[dict[str, Any]]
    confusion: dict[str, Any] | None = None

    def outcome(self, task: Task, predictions: pd.DataFrame, **fields: Any) -> Outcome:
        """The :class:`~emorepro.results.Outcome` of a run with these metrics; ``fields`` are
        the other outcome fields (``params``, ``labels`` or ``targets``, ``profile``, ...)."""
        return Outcome(
            task,
            predictions,
            self.metrics,
            self.metric_variants,
            self.folds,
            confusion=self.confusion,
            **fields,
        )


CLASSIFICATION_VARIANTS = {
    "accuracy_fold_mean": "accuracy averaged over test folds (Zhang et al. 2018)",
    "accuracy_pooled": "accuracy over all test predictions pooled",
    "uar_pooled": "unweighted average recall over classes present, pooled",
    "macro_f1_pooled": "macro F1 over the fixed class list, pooled",
}


def summarise_classification(table: pd.DataFrame, classes: Sequence[str]) -> Summary:
    """Metrics of a categorical result from its predictions (``fold, subject, y_true, y_pred``).

    Per fold: accuracy, UAR (classes present in the fold), the number of test items and the
    fold's test subjects. Over the result: ``accuracy_fold_mean`` (mean of the fold
    accuracies), ``accuracy_pooled``, ``uar_pooled``, ``macro_f1_pooled`` (over all
    ``classes``), ``precision.<class>``, ``recall.<class>``, ``fscore.<class>`` (pooled over
    the test folds; 0/0 -> 0), ``n_folds``, ``n_items`` and the confusion matrix in
    ``classes`` order.
    """
    folds = []
    for fold, part in table.groupby("fold", sort=True):
        y_true, y_pred = part["y_true"].to_numpy(), part["y_pred"].to_numpy()
        folds.append(
            {
                "fold": int(fold),
                "params": {"test_subjects": " ".join(sorted(set(part["subject"])))},
                "metrics": {
                    "accuracy": M.accuracy(y_true, y_pred),
                    "uar": M.uar(y_true, y_pred, labels=classes),
                    "n_test": len(part),
                },
            }
        )
    y_true, y_pred = table["y_true"].to_numpy(), table["y_pred"].to_numpy()
    metrics = {
        "accuracy_fold_mean": float(np.mean([f["metrics"]["accuracy"] for f in folds])),
        "accuracy_pooled": M.accuracy(y_true, y_pred),
        "uar_pooled": M.uar(y_true, y_pred, labels=classes),
        "macro_f1_pooled": M.macro_f1(y_true, y_pred, labels=classes),
        **per_class_metrics(y_true, y_pred, classes),
        "n_folds": len(folds),
        "n_items": len(table),
    }
    variants = {
        **CLASSIFICATION_VARIANTS,
        **dict.fromkeys((k for k in metrics if k.split(".")[0] in PER_CLASS), PER_CLASS_VARIANT),
    }
    confusion = {
        "labels": list(classes),
        "matrix": M.confusion(y_true, y_pred, labels=classes).tolist(),
    }
    return Summary(metrics, variants, folds, confusion)


PER_CLASS = ("precision", "recall", "fscore")
PER_CLASS_VARIANT = "per class, test predictions pooled over folds (0/0 -> 0)"


def per_class_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]
) -> dict[str, float]:
    """``precision.<c>``, ``recall.<c>``, ``fscore.<c>`` (F1 = 2PR/(P+R)) of every class."""
    prf = M.per_class_prf(y_true, y_pred, labels=classes)
    columns = {"precision": "precision", "recall": "recall", "fscore": "f1"}
    return {f"{k}.{c}": float(prf.loc[c, col]) for k, col in columns.items() for c in classes}


def summarise_regression(
    table: pd.DataFrame,
    *,
    targets: Sequence[str],
    roles: Sequence[str] = ("dev", "test"),
    fold_params: dict[str, Any] | None = None,
) -> Summary:
    """``<target>.<role>.ccc`` of a continuous result on one fixed partition.

    ``table`` has ``role, target, y_true, y_pred`` rows; the CCC of a (target, role) is one
    CCC over its rows in table order (pooled over the partition, population moments). One
    fold record (fold 0) carries the same metrics and ``fold_params``.
    """
    metrics: dict[str, float] = {}
    for target in targets:
        for role in roles:
            part = table[(table["target"] == target) & (table["role"] == role)]
            if part.empty:
                raise EmoreproError(f"no {role} predictions for {target}")
            metrics[f"{target}.{role}.ccc"] = M.ccc(part["y_true"], part["y_pred"])
    variant = M.CCC_POOLED.describe()
    fold = {"fold": 0, "metrics": dict(metrics), "params": dict(fold_params or {})}
    return Summary(metrics, dict.fromkeys(metrics, variant), [fold])


def confusion_rates(confusion: Mapping[str, Any]) -> dict[str, float]:
    """``confusion.<true>.<predicted>``: the share of the true class's test items predicted
    as each class (row-normalised confusion matrix, as Zhang et al.'s Figs. 6-8 print it in
    percent); the diagonal equals ``recall.<class>``. An absent class's row is all 0."""
    labels = list(confusion["labels"])
    m = np.asarray(confusion["matrix"], dtype=np.float64)
    totals = m.sum(axis=1, keepdims=True)
    rates = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
    return {f"confusion.{t}.{p}": float(rates[i, j]) for i, t in enumerate(labels)
            for j, p in enumerate(labels)}  # fmt: skip
