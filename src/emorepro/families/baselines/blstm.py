"""BLSTM regression on frame-level features (the BLSTM rows of Tzirakis et al., Table III).

The paper gives no BLSTM hyper-parameters (experiments.md §1.10 item 4). What this module does:

* input: one row per (item_id, time_s) at the 40 ms label rate, feature columns (e.g. LLD means
  from :func:`emorepro.features.opensmile_features.lld_at_label_rate`) and one column per target;
* standardisation: one global z-score per feature, mean and population std over **all training
  frames** (not per speaker or per recording); a constant feature gets std 1. The statistics
  are buffers of the model, so they are saved and applied with its weights;
* model: bidirectional LSTM (``layers`` x ``hidden`` cells per direction) -> dropout -> one
  linear layer per time step to the targets (no output activation);
* training: windows of ``seq_len`` frames every ``hop`` frames (default ``seq_len // 2``) cut
  from each training recording, shuffled each epoch, Adam, loss ``ccc`` (batch-pooled, see
  :mod:`emorepro.training.losses`) or ``mse``;
* model selection: after every epoch the model predicts each dev recording whole; the kept
  weights are those of the epoch with the best dev CCC (pooled over the partition, population
  moments, mean of the targets); ties keep the earlier epoch;
* prediction: each recording is run through the BLSTM as **one whole sequence** (no windows
  stitched back), so every frame sees its full left and right context.

The epochs, checkpoints (resume after a kill) and dev selection are those of the shared
:func:`emorepro.training.trainer.train`; the BLSTM supplies its windows and a whole-recording
dev prediction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset

from emorepro import metrics as M
from emorepro.errors import ConfigError
from emorepro.training import trainer as T
from emorepro.training.losses import LOSSES
from emorepro.training.runtime import pick_device, seed_everything

log = logging.getLogger("emorepro")

TARGETS = ("arousal", "valence")
_KEYS = ("item_id", "time_s")


class BLSTMRegressor(nn.Module):
    """``(B, T, n_features)`` raw features -> ``(B, T, n_targets)`` predictions.

    ``z = (x - feat_mean) / feat_std`` (buffers, set by :meth:`set_scaler`), then a
    bidirectional LSTM, dropout ``dropout`` between LSTM layers and before the head, and a
    linear layer ``2 * hidden -> n_targets`` applied at every time step.
    """

    def __init__(
        self, n_features: int, *, hidden: int, layers: int, n_targets: int = 2, dropout: float = 0.0
    ) -> None:
        super().__init__()
        for name, value in (
            ("n_features", n_features),
            ("hidden", hidden),
            ("layers", layers),
            ("n_targets", n_targets),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"BLSTMRegressor: {name} must be a positive int, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"BLSTMRegressor: dropout must be in [0, 1), got {dropout!r}")
        self.register_buffer("feat_mean", torch.zeros(n_features))
        self.register_buffer("feat_std", torch.ones(n_features))
        self.lstm = nn.LSTM(
            n_features,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, n_targets)

    def set_scaler(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Store the training-set feature mean and std used to standardise every input."""
        self.feat_mean.copy_(torch.as_tensor(mean, dtype=self.feat_mean.dtype))
        self.feat_std.copy_(torch.as_tensor(std, dtype=self.feat_std.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm((x - self.feat_mean) / self.feat_std)
        return self.head(self.drop(h))


def fit_scaler(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and population std of ``x`` (frames x features); std 0 -> 1."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"fit_scaler: need a non-empty (frames, features) array, got {x.shape}")
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    return mean, np.where(std > 1e-12, std, 1.0)


def feature_columns(table: pd.DataFrame, targets: Sequence[str] = TARGETS) -> list[str]:
    """All columns except ``item_id``, ``time_s`` and the targets (the svr_on_partition rule)."""
    cols = [c for c in table.columns if c not in (*_KEYS, *targets)]
    bad = [c for c in cols if not pd.api.types.is_numeric_dtype(table[c])]
    if bad:
        raise ValueError(f"frame table: non-numeric feature columns {bad}; drop them first")
    if not cols:
        raise ValueError("frame table: no feature columns besides item_id, time_s and targets")
    return cols


def _check_table(table: pd.DataFrame, name: str, cols: Sequence[str]) -> None:
    if len(table) == 0:
        raise ValueError(f"{name}: frame table is empty; check the fold sheet's item ids")
    missing = [c for c in (*_KEYS, *cols) if c not in table.columns]
    if missing:
        raise ValueError(f"{name}: frame table lacks columns {missing}")
    dup = table.duplicated(list(_KEYS))
    if dup.any():
        first = table.loc[dup, list(_KEYS)].iloc[0].tolist()
        raise ValueError(f"{name}: {int(dup.sum())} duplicate (item_id, time_s) rows, e.g. {first}")
    nan_cols = [c for c in cols if table[c].isna().any()]
    if nan_cols:
        raise ValueError(f"{name}: NaN in columns {nan_cols[:5]}; impute or drop those frames")


def _recordings(
    table: pd.DataFrame, items: Sequence[str] | None, cols: Sequence[str]
) -> list[tuple[str, pd.DataFrame]]:
    groups = {str(k): g for k, g in table.groupby("item_id", sort=False)}
    if items is None:
        items = list(groups)
    missing = [i for i in items if str(i) not in groups]
    if missing:
        raise ValueError(f"frame table has no rows for items {missing[:5]}")
    out = []
    for item in items:
        g = groups[str(item)].sort_values("time_s", kind="stable")
        out.append((str(item), g[["time_s", *cols]]))
    return out


def make_sequences(
    table: pd.DataFrame,
    feature_cols: Sequence[str],
    targets: Sequence[str],
    *,
    items: Sequence[str],
    seq_len: int,
    hop: int,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Cut each item's frames (sorted by time) into windows of ``seq_len`` every ``hop``.

    Returns ``X`` ``(N, seq_len, n_features)`` and ``Y`` ``(N, seq_len, n_targets)`` as
    float32, and an index with ``item_id`` and ``start`` (first frame) per window. Windows
    start at 0, hop, 2*hop, ...; if that misses the tail, one more window ends at the last
    frame. An item shorter than ``seq_len`` frames -> ``ValueError``.
    """
    if seq_len < 1 or hop < 1:
        raise ConfigError(f"seq_len and hop must be >= 1, got seq_len={seq_len}, hop={hop}")
    if len(items) == 0:
        raise ValueError("make_sequences: no items given")
    _check_table(table, "make_sequences", [*feature_cols, *targets])
    xs, ys, index = [], [], []
    for item, g in _recordings(table, items, [*feature_cols, *targets]):
        n = len(g)
        if n < seq_len:
            raise ValueError(
                f"make_sequences: item {item} has {n} frames, fewer than seq_len={seq_len}; "
                "lower seq_len"
            )
        starts = list(range(0, n - seq_len + 1, hop))
        if starts[-1] + seq_len < n:
            starts.append(n - seq_len)
        x = g[list(feature_cols)].to_numpy(np.float32)
        y = g[list(targets)].to_numpy(np.float32)
        for s in starts:
            xs.append(x[s : s + seq_len])
            ys.append(y[s : s + seq_len])
            index.append((item, s))
    return (
        np.stack(xs),
        np.stack(ys),
        pd.DataFrame(index, columns=["item_id", "start"]),
    )


@torch.no_grad()
def predict_recordings(
    model: BLSTMRegressor,
    table: pd.DataFrame,
    *,
    targets: Sequence[str] = TARGETS,
    feature_cols: Sequence[str] | None = None,
    items: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Predict every recording of ``table`` as one whole sequence (eval mode, no dropout).

    Returns ``item_id``, ``time_s`` and one prediction column per target, rows in ``items``
    order (default: order of first appearance) and time order within an item. Feature columns
    default to every column but ``item_id``, ``time_s`` and ``targets``.
    """
    cols = list(feature_cols) if feature_cols is not None else feature_columns(table, targets)
    _check_table(table, "predict_recordings", cols)
    if len(cols) != model.feat_mean.numel():
        raise ValueError(
            f"predict_recordings: model expects {model.feat_mean.numel()} features, "
            f"table has {len(cols)}"
        )
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    parts = []
    for item, g in _recordings(table, items, cols):
        x = torch.from_numpy(g[cols].to_numpy(np.float32, copy=True)).to(device)
        y = model(x.unsqueeze(0))[0].double().cpu().numpy()
        part = pd.DataFrame({"item_id": item, "time_s": g["time_s"].to_numpy()})
        for k, t in enumerate(targets):
            part[t] = y[:, k]
        parts.append(part)
    model.train(was_training)
    return pd.concat(parts, ignore_index=True)


def _pooled_ccc(pred: pd.DataFrame, gold: pd.DataFrame, targets: Sequence[str]) -> dict[str, float]:
    """Pooled CCC per target; ``pred`` and ``gold`` rows aligned (item, time order)."""
    return {t: M.ccc(gold[t].to_numpy(), pred[t].to_numpy()) for t in targets}


@dataclass(frozen=True)
class BLSTMSettings:
    """Scientific settings of one BLSTM run (the paper states none; README, Decisions).

    ``hop``: training windows start every ``hop`` frames (default ``seq_len // 2``, 50 %
    overlap). Invalid values raise ``ConfigError`` naming the field.
    """

    loss: str
    epochs: int
    lr: float
    batch_size: int
    seq_len: int
    hidden: int
    layers: int
    hop: int | None = None
    dropout: float = 0.0
    log_every: int = 1
    targets: tuple[str, ...] = TARGETS

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(
                f"BLSTMSettings.loss must be one of {sorted(LOSSES)}, got {self.loss!r}"
            )
        for name in ("epochs", "batch_size", "seq_len", "log_every", "hidden", "layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"BLSTMSettings.{name} must be a positive int, got {value!r}")
        if not (isinstance(self.lr, int | float) and self.lr > 0):
            raise ConfigError(f"BLSTMSettings.lr must be > 0, got {self.lr!r}")

    @property
    def effective_hop(self) -> int:
        return max(1, self.seq_len // 2) if self.hop is None else self.hop


@dataclass(frozen=True)
class BLSTMRun:
    """How one BLSTM run executes: the seed (weights, shuffling, dropout), the torch device
    and the checkpoint it saves every epoch and resumes from (none: no checkpoint)."""

    seed: int
    device: str | torch.device = "cpu"
    checkpoint: Path | str | None = None


def train_blstm(
    train: pd.DataFrame, dev: pd.DataFrame, cfg_s: BLSTMSettings, run: BLSTMRun
) -> tuple[BLSTMRegressor, dict[str, Any]]:
    """Train a :class:`BLSTMRegressor`; return the best-dev-epoch model and the history.

    ``train``/``dev``: frame tables (``item_id``, ``time_s``, features, targets). History:
    ``{"epochs": [{"epoch", "train_loss", "dev_ccc", "dev_ccc.<target>"...}], "best_epoch",
    "best_dev_ccc"}`` where dev_ccc is the mean over targets of the pooled dev CCC.
    With ``checkpoint``, the full state (weights, optimiser, best weights, RNG states) is saved
    atomically after every epoch and a rerun resumes after the last saved epoch, giving the
    same result as an uninterrupted run; a checkpoint from other settings -> ``ConfigError``.
    """
    targets = list(cfg_s.targets)
    cols = feature_columns(train, targets)
    _check_table(train, "train_blstm(train)", [*cols, *targets])
    _check_table(dev, "train_blstm(dev)", [*cols, *targets])

    dev_t = pick_device(run.device)
    seed_everything(run.seed, device=dev_t)  # the weights' initialisation
    train_items = list(dict.fromkeys(train["item_id"].astype(str)))
    x_np, y_np, index = make_sequences(
        train, cols, targets, items=train_items, seq_len=cfg_s.seq_len, hop=cfg_s.effective_hop
    )
    mean, std = fit_scaler(train[cols].to_numpy(np.float64))
    model = BLSTMRegressor(
        len(cols),
        hidden=cfg_s.hidden,
        layers=cfg_s.layers,
        n_targets=len(targets),
        dropout=cfg_s.dropout,
    )
    model.set_scaler(mean, std)
    dev_set = _WholeRecordings(dev, cols, targets)
    cfg = T.TrainConfig(
        loss=cfg_s.loss,
        epochs=cfg_s.epochs,
        lr=float(cfg_s.lr),
        batch_size=cfg_s.batch_size,
        seed=int(run.seed),
        device=str(dev_t),
        log_every=cfg_s.log_every,
        name="blstm",
    )
    wrapped, history = T.train(
        T.DictInput(model, ("features",)),
        _Windows(x_np, y_np, index),
        dev_set,
        cfg,
        checkpoint=run.checkpoint,
        predict_fn=dev_set.predict,
    )
    history.pop("timing", None)  # wall-clock: not part of the reproducible history
    return wrapped.model, history


class _Windows(Dataset):
    """Training windows of :func:`make_sequences` as trainer items (``features``, ``target``)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, index: pd.DataFrame) -> None:
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.item = index["item_id"].astype(str).tolist()
        self.start = index["start"].astype(int).tolist()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {
            "features": self.x[i],
            "target": self.y[i],
            "item": self.item[i],
            "start": self.start[i],
        }


class _WholeRecordings:
    """Dev set for the trainer: whole recordings predicted in one pass each
    (:func:`predict_recordings`), gold per item in first-appearance order."""

    def __init__(self, table: pd.DataFrame, cols: Sequence[str], targets: Sequence[str]) -> None:
        self.table, self.cols, self.targets = table, list(cols), tuple(targets)
        recs = _recordings(table, None, list(targets))
        self.items = [item for item, _ in recs]
        self.labels = {item: g[list(targets)].to_numpy(np.float32) for item, g in recs}

    def __len__(self) -> int:
        return len(self.items)

    def predict(self, model: nn.Module, ds: Any, device: torch.device) -> dict[str, np.ndarray]:
        inner = model.model if isinstance(model, T.DictInput) else model
        pred = predict_recordings(
            inner, self.table, targets=self.targets, feature_cols=self.cols, items=self.items
        )
        return {
            item: g[list(self.targets)].to_numpy(np.float64)
            for item, g in pred.groupby("item_id", sort=False)
        }


def _role_items(sheet: pd.DataFrame, role: str) -> list[str]:
    items = sheet.loc[sheet["role"] == role, "item_id"].astype(str).tolist()
    if not items:
        raise ValueError(
            f"fold sheet has no {role!r} items; blstm_on_partition needs train/dev/test"
        )
    return items


def split_partition(
    frames: pd.DataFrame, sheet: pd.DataFrame
) -> tuple[dict[str, list[str]], dict[str, pd.DataFrame]]:
    """Item ids and frame rows per role of a one-fold sheet; missing items -> ``ValueError``."""
    required = {"fold", "item_id", "role"}
    if not required <= set(sheet.columns):
        raise ValueError(f"fold sheet lacks columns {sorted(required - set(sheet.columns))}")
    if sheet["fold"].nunique() != 1:
        raise ValueError(
            f"blstm_on_partition expects one fixed partition, the sheet has folds "
            f"{sorted(sheet['fold'].unique().tolist())}"
        )
    if len(frames) == 0:
        raise ValueError("blstm_on_partition: frame table is empty")
    ids = frames["item_id"].astype(str)
    items = {r: _role_items(sheet, r) for r in ("train", "dev", "test")}
    missing = sorted(set().union(*items.values()) - set(ids))
    if missing:
        raise ValueError(
            f"blstm_on_partition: no frames for {len(missing)} sheet items, e.g. {missing[:5]}; "
            "rebuild the frame table for this corpus"
        )
    return items, {r: frames[ids.isin(set(v))] for r, v in items.items()}


def predict_partition(
    model: BLSTMRegressor,
    parts: dict[str, pd.DataFrame],
    items: dict[str, list[str]],
    *,
    targets: Sequence[str],
    cols: Sequence[str],
) -> pd.DataFrame:
    """Long prediction table (``item_id, time_s, role, target, y_true, y_pred``) of dev and
    test, every recording predicted whole."""
    preds = []
    for role in ("dev", "test"):
        pred = predict_recordings(
            model, parts[role], targets=targets, feature_cols=cols, items=items[role]
        )
        gold = pd.concat(
            [g for _, g in _recordings(parts[role], items[role], targets)], ignore_index=True
        )
        for t in targets:
            preds.append(
                pred[["item_id", "time_s"]].assign(
                    role=role, target=t, y_true=gold[t].to_numpy(), y_pred=pred[t].to_numpy()
                )
            )
    return pd.concat(preds, ignore_index=True)


def blstm_on_partition(
    frames: pd.DataFrame, sheet: pd.DataFrame, cfg_s: BLSTMSettings, run: BLSTMRun
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Train on the sheet's train items, select the epoch on dev, predict dev and test.

    Returns the long prediction table (:func:`predict_partition`) and the parameters of the
    run (settings, ``best_epoch``, ``history``); the metrics are the shared
    :func:`emorepro.evaluation.summarise_regression` of that table.
    """
    targets = list(cfg_s.targets)
    items, parts = split_partition(frames, sheet)
    model, history = train_blstm(parts["train"], parts["dev"], cfg_s, run)
    cols = feature_columns(frames, targets)
    table = predict_partition(model, parts, items, targets=targets, cols=cols)
    params = {
        **{k: v for k, v in asdict(cfg_s).items() if k not in ("log_every", "targets")},
        "hop": cfg_s.effective_hop,
        "seed": run.seed,
        "n_features": len(cols),
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
        "standardisation": "global z-score, mean/std over all training frames",
        "model_selection": "epoch with the best mean dev CCC (pooled) over targets",
        "prediction": "whole recording as one sequence",
        "best_epoch": history["best_epoch"],
        "best_dev_ccc": history["best_dev_ccc"],
        "history": history["epochs"],
    }
    return table, params
