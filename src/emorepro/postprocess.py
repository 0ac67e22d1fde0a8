"""The RECOLA post-processing chain of Tzirakis et al. (000/001) and Han et al. (003).

The grids (which windows and shifts to try) belong to the paper families that use them
(:meth:`emorepro.families.base.Family.grids`; :func:`emorepro.families.find_grid`).

Four steps, applied per recording to the predictions of one target (experiments.md §0.2):

1. **median filter** of the prediction; a window of ``W`` seconds is ``round(W / frame_s)``
   frames, made odd by adding one frame if even (0.4 s -> 11 frames); edges are padded with the
   edge value (``scipy.ndimage.median_filter(mode="nearest")``).
2. **centring**: ``p + (mean_gold_train - mean(p))``, the mean taken over the whole partition
   being processed (all its recordings pooled).
3. **scaling**: ``m + (p - m) * std_gold_train / std(p)`` with ``m = mean(p)`` and the
   population std (ddof=0), both over the partition being processed.
4. **time shift**: the prediction is *delayed* by ``k = round(D / frame_s)`` frames within each
   recording, ``p'[t] = p[t - k]``, and the first ``k`` frames repeat ``p[0]``. The gold
   standard lags the signal (annotators react late), so delaying the prediction compensates
   that lag. A shift never carries values across recordings.

Selection (decided here; the papers' order is ambiguous, §1.10 item 10): greedy and sequential
in the order median -> centring -> scaling -> shift. Each step is tried on the output of the
previous kept steps; the median window and the shift each take the best value of their grid;
a step is kept only if it raises the pooled dev CCC (:func:`emorepro.metrics.ccc_partition`,
pooled, ddof=0) by more than ``min_gain`` (1e-9, so floating-point noise is no
"improvement"). The chosen configuration is applied unchanged to test; centring and scaling use
the training-set gold mean/std and the moments of the processed partition's own predictions
(the AVEC practice), so they need no dev statistics.

Consequence of the prescribed order: on predictions that are not yet aligned, a long median
window (the 0.4-20 s grid) also raises dev CCC by smearing the signal over the lag, so a window
of several seconds is often kept and the shift chosen afterwards is less precise (on synthetic
2 s lags: 1.92-2.12 s instead of 2.00 s). ``fit(order=...)`` accepts another permutation
(e.g. shift first) to measure that effect; the default stays median -> centring -> scaling ->
shift, the order in which experiments.md §0.2 lists the steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from emorepro import metrics as M
from emorepro.errors import ConfigError

VARIANT = "ccc[pooled over partition, population moments (ddof=0)], post-processed (grid {})"
STEPS: tuple[str, ...] = ("median", "centring", "scaling", "shift")
_COLUMNS = ("item_id", "time_s", "role", "target", "y_true", "y_pred")


def ladder(start: float, stop: float, step: float) -> tuple[float, ...]:
    """``start, start + step, ..., stop`` (rounded to 1e-6), e.g. a post-processing grid."""
    n = round((stop - start) / step) + 1
    return tuple(round(start + i * step, 6) for i in range(n))


@dataclass(frozen=True)
class Grid:
    """Search grid of one paper. ``label_shift_s`` is only recorded: it is the gold-standard
    back-shift applied *before training* (003: 2.4 s), never applied by this module."""

    name: str
    median_windows_s: tuple[float, ...]
    shifts_s: tuple[float, ...]
    frame_s: float = 0.04
    label_shift_s: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.frame_s) and self.frame_s > 0):
            raise ValueError(f"Grid {self.name!r}: frame_s must be > 0, got {self.frame_s}")
        for label, values in (
            ("median_windows_s", self.median_windows_s),
            ("shifts_s", self.shifts_s),
        ):
            bad = [v for v in values if not (math.isfinite(v) and v >= self.frame_s / 2)]
            if bad:
                raise ValueError(
                    f"Grid {self.name!r}: {label} must be >= half a frame "
                    f"({self.frame_s / 2} s), got {bad}"
                )

    @property
    def n_points(self) -> int:
        """Candidates evaluated by :func:`fit`: windows + centring + scaling + shifts."""
        return len(self.median_windows_s) + 2 + len(self.shifts_s)


@dataclass
class Params:
    """Fitted chain: ``None``/``False`` means the step was rejected on dev.

    ``trace`` holds one dict per step (``step``, ``value``, ``n_candidates``,
    ``dev_ccc_candidate``: best candidate's dev CCC, ``kept``, ``dev_ccc``: dev CCC after the
    step), preceded by ``{"step": "raw", "dev_ccc": ...}``.
    """

    median_window_s: float | None
    centring: bool
    scaling: bool
    shift_s: float | None
    train_mean: float
    train_std: float
    frame_s: float = 0.04
    grid: str = ""
    order: list[str] = field(default_factory=lambda: list(STEPS))
    trace: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Params:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def window_frames(window_s: float, frame_s: float = 0.04) -> int:
    """Odd number of frames of a median window: ``round(window_s / frame_s)``, +1 if even."""
    w = round(window_s / frame_s)
    if w < 1:
        raise ValueError(f"median window {window_s} s is shorter than one frame ({frame_s} s)")
    return w if w % 2 == 1 else w + 1


def shift_frames(shift_s: float, frame_s: float = 0.04) -> int:
    """Frames of a time shift: ``round(shift_s / frame_s)``."""
    return round(shift_s / frame_s)


def median_step(preds: Sequence[np.ndarray], frames: int) -> list[np.ndarray]:
    """Per-recording running median over ``frames`` (odd) values, edge-padded."""
    if frames % 2 != 1:
        raise ValueError(f"median window must be an odd number of frames, got {frames}")
    # imported here, not at the top: every snakemake start imports this module
    from scipy.ndimage import median_filter

    return [median_filter(p, size=frames, mode="nearest") for p in preds]


def centring_step(preds: Sequence[np.ndarray], train_mean: float) -> list[np.ndarray]:
    """``p + (train_mean - mean(p))`` with the mean pooled over all recordings."""
    bias = train_mean - float(np.concatenate(preds).mean())
    return [p + bias for p in preds]


def scaling_step(preds: Sequence[np.ndarray], train_std: float) -> list[np.ndarray]:
    """``m + (p - m) * train_std / std(p)``, m and std (ddof=0) pooled over the partition.

    A constant partition (std 0) is returned unchanged (there is no deviation to scale).
    """
    pooled = np.concatenate(preds)
    m, s = float(pooled.mean()), float(pooled.std())
    if s == 0.0:
        return [p.copy() for p in preds]
    ratio = train_std / s
    return [m + (p - m) * ratio for p in preds]


def shift_step(preds: Sequence[np.ndarray], frames: int) -> list[np.ndarray]:
    """Delay each recording by ``frames``: ``p'[t] = p[t - frames]``, ``p'[:frames] = p[0]``."""
    if frames < 0:
        raise ValueError(f"shift must be >= 0 frames, got {frames}")
    out = []
    for p in preds:
        q = np.empty_like(p)
        k = min(frames, p.size)
        q[:k] = p[0]
        q[k:] = p[: p.size - k]
        out.append(q)
    return out


def _shift_scores(
    trues: Sequence[np.ndarray], preds: Sequence[np.ndarray], ks: Sequence[int]
) -> np.ndarray:
    """Pooled CCC (ddof=0) of every delay in ``ks`` from running sums, without materialising
    the shifted predictions. Both series are offset by the same constant (CCC is invariant to
    that) to limit cancellation."""
    c = float(np.concatenate(trues).mean())
    ts = [t - c for t in trues]
    ps = [p - c for p in preds]
    n_tot = sum(t.size for t in ts)
    st = sum(float(t.sum()) for t in ts)
    st2 = sum(float(np.dot(t, t)) for t in ts)
    cs = [np.concatenate(([0.0], np.cumsum(p))) for p in ps]
    cs2 = [np.concatenate(([0.0], np.cumsum(p * p))) for p in ps]
    ct = [np.concatenate(([0.0], np.cumsum(t))) for t in ts]
    out = np.empty(len(ks))
    for j, k in enumerate(ks):
        sp = sp2 = stp = 0.0
        for t, p, c1, c2, c3 in zip(ts, ps, cs, cs2, ct, strict=True):
            n = p.size
            kk = min(k, n)
            sp += kk * p[0] + c1[n - kk]
            sp2 += kk * p[0] * p[0] + c2[n - kk]
            stp += p[0] * c3[kk] + float(np.dot(t[kk:], p[: n - kk]))
        mt, mp = st / n_tot, sp / n_tot
        vt, vp = st2 / n_tot - mt * mt, sp2 / n_tot - mp * mp
        cov = stp / n_tot - mt * mp
        den = vt + vp + (mt - mp) ** 2
        out[j] = 2.0 * cov / den if den > 0 else 0.0
    return out


def _as_partition(
    trues: Sequence[np.ndarray] | None, preds: Sequence[np.ndarray], name: str
) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
    p = [np.asarray(x, dtype=np.float64).reshape(-1) for x in preds]
    if not p:
        raise ValueError(f"{name}: no recordings given")
    for i, x in enumerate(p):
        if x.size == 0:
            raise ValueError(f"{name}: recording {i} is empty")
        if not np.isfinite(x).all():
            raise ValueError(f"{name}: recording {i} has NaN/inf predictions")
    if trues is None:
        return None, p
    t = [np.asarray(x, dtype=np.float64).reshape(-1) for x in trues]
    if len(t) != len(p):
        raise ValueError(f"{name}: {len(t)} gold-standard vs {len(p)} predicted recordings")
    for i, (a, b) in enumerate(zip(t, p, strict=True)):
        if a.size != b.size:
            raise ValueError(f"{name}: recording {i} has {a.size} gold vs {b.size} predicted")
        if not np.isfinite(a).all():
            raise ValueError(f"{name}: recording {i} has NaN/inf in the gold standard")
    return t, p


def fit(
    dev_true: Sequence[np.ndarray],
    dev_pred: Sequence[np.ndarray],
    *,
    grid: Grid,
    train_mean: float,
    train_std: float,
    min_gain: float = 1e-9,
    order: Sequence[str] = STEPS,
) -> Params:
    """Choose the chain on dev (one array per recording), greedily in ``order`` (default
    median -> centring -> scaling -> shift); see the module docstring. Another permutation of
    :data:`STEPS` (e.g. shift first) is accepted for studying the ambiguity and is recorded in
    :attr:`Params.order`."""
    if sorted(order) != sorted(STEPS):
        raise ValueError(f"order must be a permutation of {list(STEPS)}, got {list(order)}")
    if not (math.isfinite(train_mean) and math.isfinite(train_std) and train_std > 0):
        raise ValueError(
            f"train_mean/train_std must be finite with train_std > 0, got "
            f"{train_mean}/{train_std}; pass the training-set gold-standard moments"
        )
    trues, cur = _as_partition(dev_true, dev_pred, "fit(dev_true, dev_pred)")
    assert trues is not None
    best = M.ccc_partition(trues, cur)
    trace: list[dict[str, Any]] = [{"step": "raw", "dev_ccc": best}]
    chosen: dict[str, Any] = {"median": None, "centring": False, "scaling": False, "shift": None}

    def record(step: str, value: Any, n: int, score: float, cand: list[np.ndarray]) -> None:
        nonlocal best, cur
        kept = score > best + min_gain
        if kept:
            best, cur = score, cand
            chosen[step] = value
        trace.append(
            {
                "step": step,
                "value": value,
                "n_candidates": n,
                "dev_ccc_candidate": score,
                "kept": kept,
                "dev_ccc": best,
            }
        )

    for step in order:
        tried = _best_candidate(step, cur, trues, grid, train_mean, train_std)
        if tried is None:
            continue
        value, n, score, cand = tried
        if cand is None:
            trace.append(
                {
                    "step": step,
                    "value": value,
                    "n_candidates": 0,
                    "dev_ccc_candidate": None,
                    "kept": False,
                    "dev_ccc": best,
                    "note": "constant predictions: scaling undefined",
                }
            )
        else:
            record(step, value, n, score, cand)

    return Params(
        median_window_s=chosen["median"],
        centring=bool(chosen["centring"]),
        scaling=bool(chosen["scaling"]),
        shift_s=chosen["shift"],
        train_mean=float(train_mean),
        train_std=float(train_std),
        frame_s=grid.frame_s,
        grid=grid.name,
        order=list(order),
        trace=trace,
    )


Candidate = tuple[Any, int, float | None, list[np.ndarray] | None]


def _best_candidate(
    step: str,
    cur: list[np.ndarray],
    trues: list[np.ndarray],
    grid: Grid,
    train_mean: float,
    train_std: float,
) -> Candidate | None:
    """``(value, n_candidates, dev CCC, predictions)`` of the best setting of one step on the
    current predictions; ``None`` when the grid has no value for the step; predictions
    ``None`` when the step is undefined (scaling of constant predictions)."""
    if step == "median" and grid.median_windows_s:
        cands = [
            (w, median_step(cur, window_frames(w, grid.frame_s))) for w in grid.median_windows_s
        ]
        scores = [M.ccc_partition(trues, c) for _, c in cands]
        j = int(np.argmax(scores))  # ties -> the smallest window
        return cands[j][0], len(cands), scores[j], cands[j][1]
    if step == "centring":
        cand = centring_step(cur, train_mean)
        return True, 1, M.ccc_partition(trues, cand), cand
    if step == "scaling":
        if float(np.concatenate(cur).std()) == 0.0:
            return True, 0, None, None
        cand = scaling_step(cur, train_std)
        return True, 1, M.ccc_partition(trues, cand), cand
    if step == "shift" and grid.shifts_s:
        # scored from running sums, the winner re-scored exactly; ties -> the smallest shift
        ks = [shift_frames(s, grid.frame_s) for s in grid.shifts_s]
        j = int(np.argmax(_shift_scores(trues, cur, ks)))
        cand = shift_step(cur, ks[j])
        return grid.shifts_s[j], len(ks), M.ccc_partition(trues, cand), cand
    return None


def apply(preds: Sequence[np.ndarray], params: Params) -> list[np.ndarray]:
    """Apply a fitted chain to one whole partition (one array per recording). Centring and
    scaling use the moments of ``preds`` pooled, so pass all recordings of the partition."""
    _, cur = _as_partition(None, preds, "apply(preds)")
    if sorted(params.order) != sorted(STEPS):
        raise ValueError(f"Params.order must be a permutation of {list(STEPS)}: {params.order}")
    for step in params.order:
        if step == "median" and params.median_window_s is not None:
            cur = median_step(cur, window_frames(params.median_window_s, params.frame_s))
        elif step == "centring" and params.centring:
            cur = centring_step(cur, params.train_mean)
        elif step == "scaling" and params.scaling:
            cur = scaling_step(cur, params.train_std)
        elif step == "shift" and params.shift_s is not None:
            cur = shift_step(cur, shift_frames(params.shift_s, params.frame_s))
    return cur


def _recordings(rows: pd.DataFrame, label: str) -> tuple[list[np.ndarray], list[np.ndarray], list]:
    """Per-item arrays sorted by time, plus the row labels to write results back."""
    trues, preds, index = [], [], []
    for item, g in rows.groupby("item_id", sort=True):
        g = g.sort_values("time_s", kind="stable")
        if g["time_s"].duplicated().any():
            raise ValueError(
                f"predictions ({label}): item {item!r} has duplicated time_s values; "
                "keep one row per (item_id, time_s, role, target)"
            )
        trues.append(g["y_true"].to_numpy(dtype=np.float64))
        preds.append(g["y_pred"].to_numpy(dtype=np.float64))
        index.append(g.index)
    return trues, preds, index


def postprocess_table(
    predictions: pd.DataFrame,
    *,
    grid: Grid,
    train_reference: Mapping[str, tuple[float, float]],
    order: Sequence[str] = STEPS,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Fit the chain per target on ``role == "dev"`` and apply it to dev and test.

    ``predictions``: long table with columns item_id, time_s, role, target, y_true, y_pred.
    ``train_reference``: target -> (mean, std) of the training gold standard.
    Returns the table with ``y_pred`` replaced (rows of other roles untouched) and the raw value
    in ``y_pred_raw``, and ``{"metrics", "metrics_raw", "params", "metric_variants"}``.
    ``order`` is passed to :func:`fit`.
    """
    missing = [c for c in _COLUMNS if c not in predictions.columns]
    if missing:
        raise ValueError(f"predictions table lacks columns {missing}; expected {list(_COLUMNS)}")
    if "y_pred_raw" in predictions.columns:
        raise ValueError(
            "predictions table already has y_pred_raw (already post-processed); "
            "pass the raw predictions table"
        )
    if not predictions.index.is_unique:
        predictions = predictions.reset_index(drop=True)
    out = predictions.copy()
    out["y_pred"] = out["y_pred"].astype(np.float64)
    out["y_pred_raw"] = out["y_pred"]
    metrics: dict[str, float] = {}
    metrics_raw: dict[str, float] = {}
    params: dict[str, Any] = {}
    for target in pd.unique(predictions["target"]):
        if target not in train_reference:
            raise ConfigError(
                f"train_reference has no (mean, std) for target {target!r}; "
                f"known targets: {sorted(train_reference)}. Add the training-set gold-standard "
                "mean and std of that target"
            )
        mean, std = (float(v) for v in train_reference[target])
        rows = predictions[predictions["target"] == target]
        dev = rows[rows["role"] == "dev"]
        if dev.empty:
            raise ValueError(f"predictions: target {target!r} has no role == 'dev' rows to fit on")
        dt, dp, _ = _recordings(dev, f"{target}, dev")
        fitted = fit(dt, dp, grid=grid, train_mean=mean, train_std=std, order=order)
        params[str(target)] = fitted.to_dict()
        for role in ("dev", "test"):
            part = rows[rows["role"] == role]
            if part.empty:
                continue
            t, p, idx = _recordings(part, f"{target}, {role}")
            new = apply(p, fitted)
            out.loc[np.concatenate([np.asarray(i) for i in idx]), "y_pred"] = np.concatenate(new)
            key = f"{target}.{role}.ccc"
            metrics[key] = M.ccc_partition(t, new)
            metrics_raw[key] = M.ccc_partition(t, p)
    return out, {
        "metrics": metrics,
        "metrics_raw": metrics_raw,
        "params": params,
        "metric_variants": {k: VARIANT.format(grid.name) for k in metrics},
    }
