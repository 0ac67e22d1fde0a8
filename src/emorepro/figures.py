"""Figures from result files (matplotlib, Agg backend, deterministic metadata).

* :func:`confusion_figure` — row-normalised confusion matrix (% of each true class, as
  Zhang et al. Figs. 6–8) from a categorical result's ``confusion`` block.
* :func:`trace_figure` — prediction vs gold standard over time for one recording of a
  continuous result (as Tzirakis et al. Fig. 3), raw and post-processed when available.

Every figure's title names the corpus source (real or synthetic, scale, seed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from emorepro.results import source_of

_META = {"Software": None, "Creation Time": None}


def _source(result: Mapping[str, Any]) -> str:
    return source_of(result).describe()


def row_normalised(matrix: Sequence[Sequence[float]]) -> np.ndarray:
    """Each row as % of its true class; an empty row (class absent) stays 0."""
    m = np.asarray(matrix, dtype=float)
    totals = m.sum(axis=1, keepdims=True)
    return np.divide(100.0 * m, totals, out=np.zeros_like(m), where=totals > 0)


def confusion_figure(result: Mapping[str, Any], out: Path | str) -> None:
    """Heat map of the row-normalised confusion matrix, annotated with the percentages."""
    labels = result["confusion"]["labels"]
    pct = row_normalised(result["confusion"]["matrix"])
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(labels), 0.8 + 0.7 * len(labels)))
    ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            colour = "white" if pct[i, j] > 60 else "black"
            ax.text(j, i, f"{pct[i, j]:.1f}", ha="center", va="center", fontsize=7, color=colour)
    ax.set_title(
        f"{result['experiment']} · {result['corpus']}/{result['protocol']}\n({_source(result)})",
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(out, metadata=_META)
    plt.close(fig)


def trace_figure(
    result: Mapping[str, Any],
    predictions: pd.DataFrame,
    out: Path | str,
    *,
    role: str = "test",
    item: str | None = None,
) -> str:
    """Gold standard and prediction per target for one recording; returns the item shown.

    ``item`` defaults to the first recording of ``role`` in sorted order.
    """
    part = predictions[predictions["role"] == role]
    if part.empty:
        raise ValueError(f"no predictions with role {role!r} to plot")
    item = item or sorted(part["item_id"].unique())[0]
    rec = part[part["item_id"] == item]
    targets = sorted(rec["target"].unique())
    fig, axes = plt.subplots(len(targets), 1, figsize=(7, 2.2 * len(targets)), squeeze=False)
    for ax, target in zip(axes[:, 0], targets, strict=True):
        t = rec[rec["target"] == target].sort_values("time_s")
        ax.plot(t["time_s"], t["y_true"], color="black", lw=1.2, label="gold standard")
        if "y_pred_raw" in t:
            ax.plot(t["time_s"], t["y_pred_raw"], color="0.6", lw=0.8, label="raw prediction")
        ax.plot(t["time_s"], t["y_pred"], color="tab:red", lw=1.0, label="prediction")
        ax.set_ylabel(target)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].set_title(
        f"{result['experiment']} · {result['corpus']}/{result['protocol']} · {role} {item}\n"
        f"({_source(result)})",
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(out, metadata=_META)
    plt.close(fig)
    return str(item)
