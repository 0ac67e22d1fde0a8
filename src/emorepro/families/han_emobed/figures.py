"""Figures of Han et al. (003) drawn from results:

* ``sweep`` (Figs. 5-7): dev score against α (joint runs) or β (triplet runs), one line per
  target, the chosen value marked; read from ``params.<target>.dev_*_by_<weight>``.
* ``tsne`` (Figs. 3-4): 2-D t-SNE of dev embeddings of both modalities, the two classic
  systems beside the EmoBed network, coloured by high/low target (RECOLA) or sad/neutral (OMG);
  the coordinates are computed by the run (:func:`tsne_panel`, seeded) and kept in the
  result's ``extra.tsne``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emorepro.errors import EmoreproError
from emorepro.results import source_of


def tsne_panel(
    groups: Sequence[tuple[str, np.ndarray, np.ndarray]], *, seed: int
) -> dict[str, list[Any]]:
    """One t-SNE over the points of every ``(modality, embeddings (n, E), labels (n,))``
    group together; returns ``x``, ``y`` (rounded to 4 decimals), ``modality``, ``label``."""
    from sklearn.manifold import TSNE

    points = np.concatenate([g[1] for g in groups]).astype(np.float64)
    n = len(points)
    if n < 5:
        raise EmoreproError(f"t-SNE needs at least 5 points, got {n}")
    xy = TSNE(
        n_components=2,
        perplexity=float(min(30.0, (n - 1) / 3)),
        init="pca",
        random_state=int(seed),
        max_iter=500,
    ).fit_transform(points)
    return {
        "x": np.round(xy[:, 0], 4).tolist(),
        "y": np.round(xy[:, 1], 4).tolist(),
        "modality": [g[0] for g in groups for _ in range(len(g[1]))],
        "label": np.concatenate([np.asarray(g[2], int) for g in groups]).tolist(),
    }


def _sweeps(
    result: Mapping[str, Any],
) -> dict[str, tuple[str, dict[str, float], float, float | None]]:
    """target -> (weight name, {value: dev score}, chosen value, classic dev score)."""
    out = {}
    params = result["params"]
    for key, values in params.items():
        parts = key.split(".")
        if len(parts) == 2 and parts[1].startswith("dev_") and "_by_" in parts[1]:
            stem, weight = parts[1].rsplit("_by_", 1)
            classic = params.get(f"{parts[0]}.{stem}_classic")
            out[parts[0]] = (weight, values, params[f"{parts[0]}.{weight}"], classic)
    return out


def draw_sweep(result: Mapping[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweeps = _sweeps(result)
    if not sweeps:
        raise EmoreproError(f"{result['experiment']}: the result holds no weight sweep")
    metric = "CCC" if result["task"] == "regression" else "F1(UAP, UAR)"
    fig, ax = plt.subplots(figsize=(5, 3.4))
    weight = next(iter(sweeps.values()))[0]
    for target, (_, values, chosen, classic) in sorted(sweeps.items()):
        xs = sorted(values, key=float)
        line = ax.plot([float(x) for x in xs], [values[x] for x in xs], "o-", label=target)[0]
        ax.plot([float(chosen)], [values[f"{float(chosen):g}"]], "*", ms=14, color=line.get_color())
        if classic is not None:  # weight 0: the classic monomodal system
            ax.plot([0.0, float(xs[0])], [classic, values[xs[0]]], ":", color=line.get_color())
            ax.plot([0.0], [classic], "s", color=line.get_color())
    ax.set_xlabel("α" if weight == "alpha" else "β")
    ax.set_ylabel(f"dev {metric} (before post-processing)")
    ax.set_title(
        f"{result['experiment']} ({result['corpus']}, {source_of(result).describe()})\n"
        "chosen value starred, square = classic (weight 0)",
        fontsize=8,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110, format="png")
    plt.close(fig)


def draw_tsne(result: Mapping[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (result.get("extra") or {}).get("tsne")
    if not panels:
        raise EmoreproError(f"{result['experiment']}: the result holds no t-SNE coordinates")
    classify = result["task"] == "classification"
    names = ("neutral", "sad") if classify else ("low", "high")
    markers = {"audio": "o", "app": "s", "geo": "^", "video": "s"}
    fig, axes = plt.subplots(len(panels), 2, figsize=(8, 3.6 * len(panels)), squeeze=False)
    for row, (target, systems) in enumerate(sorted(panels.items())):
        for col, system in enumerate(("classic", "emobed")):
            ax, p = axes[row][col], systems[system]
            for mod in sorted(set(p["modality"])):
                for lab, colour in ((0, "tab:blue"), (1, "tab:red")):
                    idx = [
                        i
                        for i, (m, v) in enumerate(zip(p["modality"], p["label"], strict=True))
                        if m == mod and v == lab
                    ]
                    ax.scatter(
                        [p["x"][i] for i in idx],
                        [p["y"][i] for i in idx],
                        s=6,
                        marker=markers.get(mod, "o"),
                        c=colour,
                        alpha=0.6,
                        label=f"{mod} {names[lab]}",
                    )
            ax.set_title(f"{target}: {'classic monomodal' if col == 0 else 'EmoBed'}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.legend(fontsize=7, markerscale=2)
    fig.suptitle(
        f"t-SNE of dev embeddings, {result['experiment']} ({result['corpus']}, "
        f"{source_of(result).describe()})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110, format="png")
    plt.close(fig)


def draw(kind: str, result: Mapping[str, Any], predictions: pd.DataFrame, out: Path) -> None:
    """Dispatch of :meth:`HanEmoBed.draw_figure`."""
    {"sweep": draw_sweep, "tsne": draw_tsne}[kind](result, out)
