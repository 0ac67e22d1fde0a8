"""What the speech network's LSTM cells track (Tzirakis et al. 2017, Sec. V-B1 and Fig. 2).

The paper takes the 256-unit hidden state of the speech model's second LSTM layer on one unseen
recording, picks the three hidden units most correlated with the gold-standard arousal, and
correlates them with openSMILE features, reporting range of RMS energy (rho = 0.83), loudness
(rho = 0.73) and mean of the fundamental frequency (rho = 0.72). This module reproduces that
analysis from arrays, so it can run on any trained model's hidden states:

* :func:`pearson` — Pearson's r with NaN-masking and explicit degenerate cases;
* :func:`top_units` — the ``k`` hidden units with the largest ``|r|`` with the gold standard;
* :func:`cell_feature_correlations` — the JSON-able analysis behind Fig. 2;
* :func:`fig2_figure` — the figure itself (one panel per feature, z-scored traces).

Decisions where the paper is silent (documented once here, repeated where they apply):

* **Sign.** A hidden unit's sign is arbitrary (the regression head can flip it), so units are
  selected by ``|r|`` and the reported ``<key>.pcc`` is ``|r|``; the signed r is kept as
  ``signed_r``. The paper prints only positive rho values, consistent with this.
* **Which unit goes with which feature.** The paper does not say; each feature is paired with
  the one of the ``k`` selected units that has the largest ``|r|`` with it (ties: the unit
  ranked higher by ``|r|`` with the gold standard). A unit may be the best for several features.
* **Feature columns.** The features are openSMILE ComParE_2016 functionals computed per time
  step (AVEC-style sliding windows, one row per hidden-state frame); see :data:`FIG2_FEATURES`.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from emorepro.errors import EmoreproError

__all__ = [
    "FIG2_FEATURES",
    "FIG2_LABELS",
    "MissingFeatureColumnError",
    "cell_feature_correlations",
    "fig2_figure",
    "pearson",
    "top_units",
]

FIG2_FEATURES: dict[str, str] = {
    "range_rms_energy": "pcm_RMSenergy_sma_range",
    "loudness": "audspec_lengthL1norm_sma_amean",
    "mean_f0": "F0final_sma_amean",
}
"""Paper-card key -> openSMILE ComParE_2016 functional (``FeatureLevel.Functionals``) column.

Verified against ``opensmile.Smile(feature_set=ComParE_2016,
feature_level=Functionals).feature_names`` (opensmile 2.6.0, 6373 names). In paper order
(Fig. 2, top to bottom):

* ``range_rms_energy`` -> ``pcm_RMSenergy_sma_range``: range (max - min) of the smoothed
  frame RMS energy.
* ``loudness`` -> ``audspec_lengthL1norm_sma_amean``: ComParE_2016 has **no** ``pcm_loudness``
  LLD (that one belongs to the IS09/IS10 sets); its loudness descriptor is the sum (L1 norm)
  of the auditory spectrum, ``audspec_lengthL1norm_sma`` (listed under "Energy / loudness" in
  the ComParE config and as "sum of auditory spectrum (loudness)" in the ComParE LLD table).
  Its arithmetic mean (``amean``) is the mean-type functional, matching the paper's plain
  "loudness". The RASTA-filtered variant (``audspecRasta_lengthL1norm_sma``) is not used.
* ``mean_f0`` -> ``F0final_sma_amean``: arithmetic mean of the smoothed final F0 contour.
  ComParE_2016 computes F0 functionals with ``nonZeroFuncts = 1``, i.e. over voiced
  (non-zero) frames only, so unvoiced stretches do not pull the mean towards 0.
"""

FIG2_LABELS: dict[str, str] = {
    "range_rms_energy": "range of RMS energy",
    "loudness": "loudness",
    "mean_f0": "mean of F0",
}
"""Panel labels for :func:`fig2_figure`, in the paper's wording."""

_META = {"Software": None, "Creation Time": None}


class MissingFeatureColumnError(EmoreproError, KeyError):
    """A feature column named by the feature map is absent from the features table.

    A :class:`KeyError` (so ``except KeyError`` works) whose ``str()`` is the full message
    (``KeyError`` would otherwise show the message quoted).
    """

    def __init__(self, key: str, column: str, available: list[str]) -> None:
        shown = ", ".join(available[:5]) + (", ..." if len(available) > 5 else "")
        msg = (
            f"feature {key!r}: column {column!r} is not in the features table "
            f"({len(available)} columns, e.g. {shown or 'none'}). Fix: compute ComParE_2016 "
            "functionals per frame or pass a feature_map naming existing columns"
        )
        super().__init__(msg)
        self.key, self.column = key, column

    def __str__(self) -> str:
        return str(self.args[0])


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation coefficient of two 1-D arrays, ignoring non-finite pairs.

    With ``m`` the positions where both ``x`` and ``y`` are finite (NaN and ±inf are treated as
    missing) and ``dx = x[m] - mean(x[m])``, ``dy = y[m] - mean(y[m])``::

        r = sum(dx * dy) / sqrt(sum(dx**2) * sum(dy**2))      (clipped to [-1, 1])

    Degenerate cases return ``nan`` instead of raising: fewer than 3 finite pairs, or either
    side constant over those pairs. Raises :class:`ValueError` when the inputs are not 1-D or
    their lengths differ.

    >>> pearson(np.array([1.0, 2.0, 3.0, np.nan]), np.array([2.0, 4.0, 7.0, 1.0]))
    0.9933992677987828
    >>> math.isnan(pearson(np.ones(5), np.arange(5.0)))
    True
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"pearson expects 1-D arrays, got shapes {a.shape} and {b.shape}")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"pearson: length mismatch, x has {a.shape[0]} and y has {b.shape[0]}")
    mask = np.isfinite(a) & np.isfinite(b)
    a, b = a[mask], b[mask]
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    dx = a - a.mean()
    dy = b - b.mean()
    denom = math.sqrt(float(np.dot(dx, dx)) * float(np.dot(dy, dy)))
    if denom == 0.0:  # underflow on tiny but non-constant values
        return math.nan
    return float(np.clip(np.dot(dx, dy) / denom, -1.0, 1.0))


def top_units(hidden: np.ndarray, gold: np.ndarray, k: int = 3) -> list[tuple[int, float]]:
    """The ``k`` hidden units most correlated with the gold standard, best first.

    ``hidden`` is ``(T, H)`` (time steps x units), ``gold`` is ``(T,)``. Each unit ``j`` is
    scored by ``r_j = pearson(hidden[:, j], gold)`` (NaN time steps ignored, see
    :func:`pearson`) and ranked by ``|r_j|`` descending, ties broken by the lower index. Units
    whose r is NaN (constant over the usable frames) are never chosen. Returns
    ``[(unit, signed r), ...]`` of length ``k``.

    Raises :class:`ValueError` if ``k < 1``, the shapes do not match (message shows both
    shapes), or fewer than ``k`` units have a finite r.
    """
    h = np.asarray(hidden, dtype=np.float64)
    g = np.asarray(gold, dtype=np.float64)
    if h.ndim != 2 or g.ndim != 1 or h.shape[0] != g.shape[0]:
        raise ValueError(
            f"top_units expects hidden (T, H) and gold (T,), got hidden {h.shape} and gold "
            f"{g.shape}"
        )
    if k < 1:
        raise ValueError(f"top_units: k must be >= 1, got {k}")
    scored = [(j, pearson(h[:, j], g)) for j in range(h.shape[1])]
    usable = [(j, r) for j, r in scored if not math.isnan(r)]
    if len(usable) < k:
        raise ValueError(
            f"top_units: only {len(usable)} of {h.shape[1]} units have a finite correlation "
            f"with gold (hidden {h.shape}, gold {g.shape}), need k={k}"
        )
    usable.sort(key=lambda jr: (-abs(jr[1]), jr[0]))
    return usable[:k]


def _json_float(r: float) -> float | None:
    return None if math.isnan(r) else float(r)


def cell_feature_correlations(
    hidden: np.ndarray,
    gold: np.ndarray,
    features: pd.DataFrame,
    *,
    k: int = 3,
    feature_map: Mapping[str, str] = FIG2_FEATURES,
) -> dict[str, Any]:
    """The Fig. 2 analysis: top-``k`` gold-correlated units vs hand-crafted features.

    Steps: ``units = top_units(hidden, gold, k)``; for every ``key -> column`` of
    ``feature_map`` compute ``r_u = pearson(hidden[:, u], features[column])`` for each selected
    unit ``u`` (rows where the feature is NaN are ignored) and keep the unit with the largest
    ``|r_u|`` (ties: the earlier unit in ``units``). ``features`` has one row per time step of
    ``hidden``, in the same order (its index is ignored).

    Returns a JSON-able dict (``None`` stands for an undefined correlation, e.g. a constant
    feature)::

        {"units": [{"unit": j, "r_gold": r}, ...],                 # best first
         "features": {key: {"column": col, "unit": u, "pcc": |r_u|, "signed_r": r_u,
                            "r_units": [{"unit": j, "r": r}, ...]}, ...},
         "metrics": {"<key>.pcc": |r_u|, ...},
         "k": k, "n_frames": T}

    ``pcc`` is ``|r|`` because a hidden unit's sign is arbitrary; ``signed_r`` keeps the sign.

    Raises :class:`ValueError` on shape mismatches (see :func:`top_units`; also when
    ``len(features) != T``) and :class:`MissingFeatureColumnError` (a ``KeyError``) naming the
    first missing column and a few available ones.
    """
    h = np.asarray(hidden, dtype=np.float64)
    units = top_units(h, gold, k)
    if len(features) != h.shape[0]:
        raise ValueError(
            f"features has {len(features)} rows but hidden has {h.shape[0]} time steps "
            f"(hidden {h.shape}, features {features.shape}); align them frame by frame"
        )
    available = [str(c) for c in features.columns]
    for key, column in feature_map.items():
        if column not in features.columns:
            raise MissingFeatureColumnError(key, column, available)

    out_features: dict[str, dict[str, Any]] = {}
    metrics: dict[str, float | None] = {}
    for key, column in feature_map.items():
        values = pd.to_numeric(features[column], errors="coerce").to_numpy(dtype=np.float64)
        per_unit = [(j, pearson(h[:, j], values)) for j, _ in units]
        finite = [(j, r) for j, r in per_unit if not math.isnan(r)]
        if finite:
            best_unit, best_r = max(finite, key=lambda jr: abs(jr[1]))  # first max wins ties
            entry = {
                "column": column,
                "unit": best_unit,
                "pcc": abs(best_r),
                "signed_r": best_r,
            }
        else:
            entry = {"column": column, "unit": None, "pcc": None, "signed_r": None}
        entry["r_units"] = [{"unit": j, "r": _json_float(r)} for j, r in per_unit]
        out_features[key] = entry
        metrics[f"{key}.pcc"] = entry["pcc"]
    return {
        "units": [{"unit": j, "r_gold": r} for j, r in units],
        "features": out_features,
        "metrics": metrics,
        "k": k,
        "n_frames": int(h.shape[0]),
    }


def _zscore(x: np.ndarray) -> np.ndarray:
    """``(x - nanmean) / nanstd``; a constant or all-NaN trace becomes zeros (NaN kept)."""
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        return np.where(finite, 0.0, np.nan)
    mu = x[finite].mean()
    sd = x[finite].std()
    z = (x - mu) / sd if sd > 0 else np.zeros_like(x)
    return np.where(finite, z, np.nan)


def fig2_figure(
    path: Path | str,
    time_s: np.ndarray,
    hidden: np.ndarray,
    features: pd.DataFrame,
    analysis: Mapping[str, Any],
    *,
    title: str | None = None,
) -> Path:
    """Draw Fig. 2: each feature with its chosen unit's activation, both z-scored.

    One panel per entry of ``analysis["features"]`` (from :func:`cell_feature_correlations`),
    in its order — for :data:`FIG2_FEATURES` the paper's order, top to bottom: range of RMS
    energy, loudness, mean F0. The legend gives the unit index and rho (``pcc`` = ``|r|``, signed
    r after it); a unit with negative r is drawn sign-flipped (legend ``-unit j``) so the two
    traces overlay. A feature without a usable unit is drawn alone. The PNG is written to a
    temporary file in the destination folder and moved into place with :func:`os.replace`, so
    ``path`` is either complete or untouched. Returns ``Path(path)``.
    """
    out = Path(path)
    t = np.asarray(time_s, dtype=np.float64)
    h = np.asarray(hidden, dtype=np.float64)
    if h.ndim != 2 or t.shape != (h.shape[0],) or len(features) != h.shape[0]:
        raise ValueError(
            f"fig2_figure: time_s {t.shape}, hidden {h.shape} and features {features.shape} "
            "must share the number of time steps"
        )
    feats = analysis["features"]
    if not feats:
        raise ValueError("fig2_figure: analysis has no features to draw")
    fig, axes = plt.subplots(len(feats), 1, figsize=(7, 2.0 * len(feats)), squeeze=False)
    for ax, (key, entry) in zip(axes[:, 0], feats.items(), strict=True):
        label = FIG2_LABELS.get(key, key)
        values = pd.to_numeric(features[entry["column"]], errors="coerce").to_numpy(float)
        unit = entry.get("unit")
        if unit is not None:
            sign = -1.0 if entry["signed_r"] < 0 else 1.0
            name = f"{'-' if sign < 0 else ''}unit {unit}"
            ax.plot(
                t,
                sign * _zscore(h[:, unit]),
                color="tab:red",
                lw=1.0,
                label=f"{name} (rho = {entry['pcc']:.2f}, r = {entry['signed_r']:+.2f})",
            )
        ax.plot(t, _zscore(values), color="black", lw=1.0, label=label)
        ax.set_ylabel("z-score")
        ax.set_title(f"{label} · {entry['column']}", fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("time (s)")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png", metadata=_META)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)
    return out
