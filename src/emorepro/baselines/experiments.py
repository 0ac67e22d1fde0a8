"""Classical-baseline experiments over fold sheets.

* :func:`svm_over_folds` — linear one-vs-one C-SVM (libsvm) on utterance-level functionals,
  one model per fold (LOSO/LOGSO), standardisation fitted on the fold's training items.
  Reported as in Zhang et al. (002): accuracy averaged over folds ("average accuracy in the
  test-runs"), plus UAR and macro-F1 over the pooled test predictions.
* :func:`svr_on_partition` — linear ε-SVR (libsvm) per target on frame-level windowed
  functionals, C chosen on dev by CCC, then applied unchanged to test (AVEC 2016 baseline).

Both return ``(predictions, result)``: a long predictions table that others can re-score,
and a JSON-ready result with per-fold and aggregate metrics and the metric variants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from emorepro import metrics as M
from emorepro.baselines.svm import select_c, train_linear_svc, train_svr

CCC_VARIANT = {"ccc": "ccc[pooled over partition, population moments (ddof=0)]"}


def svm_over_folds(
    features: pd.DataFrame,
    sheet: pd.DataFrame,
    labels: pd.Series,
    *,
    C: float,
    classes: Sequence[str],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Train/test a linear SVM on every fold of ``sheet``.

    ``features``: one row per item (index ``item_id``), numeric columns only.
    ``labels``: emotion per ``item_id``. ``classes`` fixes the label order of the metrics.
    """
    preds, folds = [], []
    for fold, part in sheet.groupby("fold", sort=True):
        train = part.loc[part["role"] == "train", "item_id"].tolist()
        test = part.loc[part["role"] == "test", "item_id"].tolist()
        # the model z-scores with statistics of this fold's training items only
        model = train_linear_svc(features.loc[train].to_numpy(), labels.loc[train].tolist(), C=C)
        y_pred = model.predict(features.loc[test].to_numpy())
        y_true = labels.loc[test].to_numpy()
        subjects = part.set_index("item_id").loc[test, "subject"].to_numpy()
        preds.append(
            pd.DataFrame(
                {
                    "fold": fold,
                    "item_id": test,
                    "subject": subjects,
                    "y_true": y_true,
                    "y_pred": y_pred,
                }
            )
        )
        folds.append(
            {
                "fold": int(fold),
                "params": {"test_subjects": " ".join(sorted(set(subjects)))},
                "metrics": {
                    "accuracy": M.accuracy(y_true, y_pred),
                    "uar": M.uar(y_true, y_pred, labels=classes),
                    "n_test": len(test),
                },
            }
        )
    table = pd.concat(preds, ignore_index=True)
    y_true, y_pred = table["y_true"].to_numpy(), table["y_pred"].to_numpy()
    result = {
        "metrics": {
            "accuracy_fold_mean": float(np.mean([f["metrics"]["accuracy"] for f in folds])),
            "accuracy_pooled": M.accuracy(y_true, y_pred),
            "uar_pooled": M.uar(y_true, y_pred, labels=classes),
            "macro_f1_pooled": M.macro_f1(y_true, y_pred, labels=classes),
            "n_folds": len(folds),
            "n_items": len(table),
        },
        "metric_variants": {
            "accuracy_fold_mean": "accuracy averaged over test folds (Zhang et al. 2018)",
            "accuracy_pooled": "accuracy over all test predictions pooled",
            "uar_pooled": "unweighted average recall over classes present, pooled",
            "macro_f1_pooled": "macro F1 over the fixed class list, pooled",
        },
        "confusion": {
            "labels": list(classes),
            "matrix": M.confusion(y_true, y_pred, labels=classes).tolist(),
        },
        "folds": folds,
    }
    return table, result


def _role_items(sheet: pd.DataFrame, role: str) -> list[str]:
    return sheet.loc[sheet["role"] == role, "item_id"].tolist()


def _stack(frames: pd.DataFrame, items: list[str], step: int = 1) -> pd.DataFrame:
    parts = [frames[frames["item_id"] == i].iloc[::step] for i in items]
    return pd.concat(parts, ignore_index=True)


def _ccc_by_item(table: pd.DataFrame) -> float:
    groups = [g for _, g in table.groupby("item_id", sort=True)]
    return M.ccc_partition(
        [g["y_true"].to_numpy() for g in groups],
        [g["y_pred"].to_numpy() for g in groups],
        pooling="pooled",
    )


def svr_on_partition(
    frames: pd.DataFrame,
    sheet: pd.DataFrame,
    *,
    targets: Sequence[str] = ("arousal", "valence"),
    C_grid: Sequence[float],
    epsilon: float,
    train_frame_step: int = 1,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """ε-SVR per target with C selected on dev (CCC), evaluated on dev and test.

    ``frames``: one row per (item_id, time_s) with feature columns and one column per target
    (the gold standard at that frame). Feature columns are all columns except ``item_id``,
    ``time_s`` and the targets.
    """
    feat_cols = [c for c in frames.columns if c not in ("item_id", "time_s", *targets)]
    train = _stack(frames, _role_items(sheet, "train"), train_frame_step)
    parts = {r: _stack(frames, _role_items(sheet, r)) for r in ("dev", "test")}
    x = {r: p[feat_cols].to_numpy() for r, p in parts.items()}
    x_train = train[feat_cols].to_numpy()  # train_svr z-scores with training statistics
    preds, metrics, params = [], {}, {}
    for target in targets:

        def fit(xx, yy, *, C):
            return train_svr(xx, yy, C=C, epsilon=epsilon)

        def score(y_true, y_pred):
            table = parts["dev"][["item_id"]].assign(y_true=y_true, y_pred=y_pred)
            return _ccc_by_item(table)

        best_c, scores = select_c(
            fit,
            x_train,
            train[target].to_numpy(),
            x["dev"],
            parts["dev"][target].to_numpy(),
            grid=tuple(C_grid),
            score_fn=score,
        )
        model = train_svr(x_train, train[target].to_numpy(), C=best_c, epsilon=epsilon)
        params[f"{target}.C"] = best_c
        params[f"{target}.dev_ccc_by_C"] = {str(c): s for c, s in scores.items()}
        for role in ("dev", "test"):
            table = parts[role][["item_id", "time_s"]].assign(
                role=role,
                target=target,
                y_true=parts[role][target].to_numpy(),
                y_pred=model.predict(x[role]),
            )
            metrics[f"{target}.{role}.ccc"] = _ccc_by_item(table)
            preds.append(table)
    result = {
        "metrics": metrics,
        "metric_variants": {k: CCC_VARIANT["ccc"] for k in metrics},
        "params": params,
        "folds": [{"fold": 0, "metrics": metrics, "params": {}}],
    }
    return pd.concat(preds, ignore_index=True), result
