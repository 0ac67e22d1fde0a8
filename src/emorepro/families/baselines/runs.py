"""How each baseline experiment runs (called by :meth:`Baselines.run`).

* :func:`svm_run` — linear one-vs-one C-SVM (libsvm) per fold (:func:`run_over_folds`),
  features z-scored with the fold's training statistics; metrics as Zhang et al. (002) report
  them (:func:`emorepro.evaluation.summarise_classification`).
* :func:`svr_run` — :func:`svr_on_partition`: linear ε-SVR per target on frame-level
  features, C chosen on dev by CCC, then applied unchanged to test (AVEC 2016 baseline).
* :func:`blstm_run` — :func:`emorepro.families.baselines.blstm.blstm_on_partition`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emorepro import metrics as M
from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index
from emorepro.evaluation import (
    Fold,
    Summary,
    run_over_folds,
    summarise_classification,
    summarise_regression,
)
from emorepro.families.base import RunContext
from emorepro.families.baselines.svm import select_c, train_linear_svc, train_svr
from emorepro.protocols import role_items
from emorepro.results import Outcome

log = logging.getLogger("emorepro")
TARGETS = ("arousal", "valence")
NORMALISATION_TEXT = {
    "fold": "z-score with the fold's training statistics",
    "speaker": "per-speaker z-score (each speaker's own statistics), then the fold's z-score",
}
#: the BLSTM settings a job's params carry (BLSTMSettings fields)
BLSTM_KEYS = ("loss", "epochs", "lr", "batch_size", "seq_len", "hidden", "layers")


def speaker_zscore(features: pd.DataFrame, subjects: pd.Series) -> pd.DataFrame:
    """Each speaker's items z-scored with that speaker's own mean and population standard
    deviation (a constant feature of a speaker becomes 0): ``(x - mean_s) / std_s``.

    The statistics use every item of the speaker and no label, so a held-out test speaker is
    normalised with its own (unlabelled) items, the usual speaker normalisation of speech
    emotion recognition. ``subjects`` maps ``item_id`` to speaker.
    """
    groups = subjects.loc[features.index].to_numpy()
    mean = features.groupby(groups).transform("mean")
    std = features.groupby(groups).transform(lambda x: x.std(ddof=0))
    return (features - mean) / std.where(std > 0, np.inf)


def svm_over_folds(
    features: pd.DataFrame,
    sheet: pd.DataFrame,
    labels: pd.Series,
    *,
    C: float,
    classes: Sequence[str],
) -> tuple[pd.DataFrame, Summary]:
    """Train/test a linear SVM on every fold of ``sheet``.

    ``features``: one row per item (index ``item_id``), numeric columns only (normalised
    beforehand if wanted, e.g. :func:`speaker_zscore`); ``labels``: emotion per ``item_id``;
    ``classes`` fixes the label order of the metrics. Returns the predictions (``fold,
    subject, item_id, y_true, y_pred``) and their summary.
    """

    def fit_predict(fold: Fold) -> pd.DataFrame:
        # the model z-scores with statistics of this fold's training items only
        x_train, y_train = features.loc[fold.train].to_numpy(), labels.loc[fold.train].tolist()
        model = train_linear_svc(x_train, y_train, C=C)
        y_pred = model.predict(features.loc[fold.test].to_numpy())
        return pd.DataFrame(
            {"item_id": fold.test, "y_true": labels.loc[fold.test].to_numpy(), "y_pred": y_pred}
        )

    table = run_over_folds(sheet, fit_predict)
    return table, summarise_classification(table, classes)


def svm_run(ctx: RunContext) -> Outcome:
    """Linear SVM over the folds of a categorical corpus."""
    feats = pd.read_parquet(ctx.path("features")).set_index("item_id")
    index = read_index(ctx.path("index")).set_index("item_id")
    classes = get_adapter(ctx.corpus).labels
    C = float(ctx.settings["C"])
    normalisation = ctx.settings.get("normalisation", "fold")
    if normalisation == "speaker":
        feats = speaker_zscore(feats, index["subject"])
    table, summary = svm_over_folds(feats, ctx.sheet(), index["emotion"], C=C, classes=classes)
    params = {
        "C": C,
        "feature_set": ctx.settings["feature_set"],
        "normalisation": NORMALISATION_TEXT[normalisation],
        "kernel": "linear",
        "svm": "libsvm C-SVC",
    }
    return summary.outcome("classification", table, params=params, labels=classes)


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


def _role_frames(
    frames: pd.DataFrame | Path, items: Sequence[str], meta_cols: list[str], step: int = 1
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of ``items`` (in that order, every ``step``-th row of each): the ``meta_cols``
    as a DataFrame and the feature columns (all others but ``item_id``/``time_s``/targets) as
    one C-ordered matrix in the columns' own float precision (float32 for openSMILE).

    ``frames`` is a DataFrame or a parquet file; a file is read one item at a time, so the
    peak is the returned matrix plus one recording's rows (not the whole table, as
    ``pd.read_parquet`` would: 1.8 GB for ComParE on recola_full at small).
    """
    if isinstance(frames, pd.DataFrame):
        part = _stack(frames, list(items), step)
        feats = [c for c in part.columns if c not in ("item_id", "time_s", *meta_cols)]
        return part[meta_cols].reset_index(drop=True), np.ascontiguousarray(part[feats])
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(frames)
    feats = [c for c in schema.names if c not in ("item_id", "time_s", *meta_cols)]
    dtype = np.result_type(*(schema.field(c).type.to_pandas_dtype() for c in feats))
    ids = pq.read_table(frames, columns=["item_id"])["item_id"].to_numpy()
    counts = [len(range(0, int(np.count_nonzero(ids == item)), step)) for item in items]
    del ids
    X = np.empty((sum(counts), len(feats)), dtype=dtype)
    metas, r0 = [], 0
    for item, count in zip(items, counts, strict=True):
        t = pq.read_table(frames, filters=[("item_id", "==", item)])
        rows = np.arange(0, t.num_rows, step)
        for j, c in enumerate(feats):
            X[r0 : r0 + count, j] = t.column(c).to_numpy()[rows]
        metas.append(t.select(meta_cols).to_pandas().iloc[rows])
        r0 += count
        del t
    pa.default_memory_pool().release_unused()  # hand the per-recording buffers back
    meta = pd.concat(metas, ignore_index=True) if metas else pd.DataFrame(columns=meta_cols)
    return meta, X


def svr_on_partition(
    frames: pd.DataFrame | Path,
    sheet: pd.DataFrame,
    *,
    targets: Sequence[str] = TARGETS,
    C_grid: Sequence[float],
    epsilon: float,
    train_frame_step: int = 1,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """ε-SVR per target with C selected on dev (CCC), predictions for dev and test.

    ``frames``: one row per (item_id, time_s) with feature columns and one column per target
    (the gold standard at that frame); feature columns are all the others. A DataFrame or its
    parquet file (read role by role, one recording at a time: :func:`_role_frames`). Returns
    the long prediction table (``item_id, time_s, role, target, y_true, y_pred``) and the
    chosen parameters (``<target>.C``, ``<target>.dev_ccc_by_C``).

    Every (target, C) model is trained first, from the training rows alone; the training
    matrix is then freed and dev read to score the models (``select_c``'s rule: best pooled
    CCC, ties to the smaller C); the best model, the very one trained in the grid (training is
    deterministic), predicts dev and test. So training and dev/test features are never held
    together, and the final model is not trained twice. Models keep weights, not rows.
    """
    meta_cols = ["item_id", "time_s", *targets]
    train, x_train = _role_frames(frames, role_items(sheet, "train"), meta_cols, train_frame_step)
    grid = tuple(C_grid)
    fitted: dict[tuple[str, float], Any] = {}
    for target in targets:
        for c in grid:
            t0 = time.perf_counter()
            model = train_svr(x_train, train[target].to_numpy(), C=c, epsilon=epsilon)
            log.info(
                "svr %s C=%g: %s, %s iterations, %.1f s (%d x %d)", target, c, model.solver,
                model.iterations, time.perf_counter() - t0, *x_train.shape,
            )  # fmt: skip
            fitted[(target, c)] = model
    del x_train, train
    dev, x_dev = _role_frames(frames, role_items(sheet, "dev"), meta_cols)
    models, params = {}, {}
    for target in targets:

        def trained(_x, _y, *, C, target=target):
            return fitted[(target, C)]

        def score(y_true, y_pred):
            table = dev[["item_id"]].assign(y_true=y_true, y_pred=y_pred)
            return _ccc_by_item(table)

        best_c, scores = select_c(
            trained, None, None, x_dev, dev[target].to_numpy(), grid=grid, score_fn=score
        )
        models[target] = fitted[(target, best_c)]
        params[f"{target}.C"] = best_c
        params[f"{target}.dev_ccc_by_C"] = {str(c): s for c, s in scores.items()}
    params["svm"] = "; ".join(sorted({m.solver for m in models.values()}))
    fitted.clear()  # the other C models
    preds = {("dev", t): models[t].predict(x_dev) for t in targets}
    del x_dev
    test, x_test = _role_frames(frames, role_items(sheet, "test"), meta_cols)
    preds.update({("test", t): models[t].predict(x_test) for t in targets})
    del x_test
    parts = {"dev": dev, "test": test}
    table = [
        parts[role][["item_id", "time_s"]].assign(
            role=role, target=target, y_true=parts[role][target].to_numpy(), y_pred=pred
        )
        for target in targets
        for role in ("dev", "test")
        for pred in [preds[(role, target)]]
    ]
    return pd.concat(table, ignore_index=True), params


def svr_run(ctx: RunContext) -> Outcome:
    """ε-SVR on the fixed partition of a continuous corpus."""
    s = ctx.settings
    table, chosen = svr_on_partition(
        ctx.path("frames"),
        ctx.sheet(),
        C_grid=s["C_grid"],
        epsilon=s["epsilon"],
        train_frame_step=s["train_frame_step"],
    )
    summary = summarise_regression(table, targets=TARGETS)
    params = {
        **chosen,
        **s,
        "C_grid": list(s["C_grid"]),
        "kernel": "linear",
    }
    return summary.outcome("regression", table, params=params, targets=TARGETS)


def blstm_run(ctx: RunContext) -> Outcome:
    """BLSTM on LLD frames; resumes from the job's checkpoint."""
    from emorepro.families.baselines.blstm import BLSTMRun, BLSTMSettings, blstm_on_partition
    from emorepro.training.runtime import torch_device

    s = ctx.settings
    device = torch_device(ctx.execution)
    log.info(
        "BLSTM %s/%s %s loss=%s on %s",
        ctx.corpus,
        ctx.protocol,
        s["feature_set"],
        s["loss"],
        device,
    )
    settings = BLSTMSettings(**{k: s[k] for k in BLSTM_KEYS})
    run = BLSTMRun(ctx.seed, device, ctx.checkpoint)
    table, params = blstm_on_partition(
        pd.read_parquet(ctx.path("frames")), ctx.sheet(), settings, run
    )
    summary = summarise_regression(
        table, targets=TARGETS, fold_params={"best_epoch": params["best_epoch"]}
    )
    return summary.outcome(
        "regression",
        table,
        params={**params, "feature_set": s["feature_set"]},
        targets=TARGETS,
        device=str(device),
    )
