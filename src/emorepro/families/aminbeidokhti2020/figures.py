"""Figures of Aminbeidokhti (2020) drawn from a result's ``extra`` (no recomputation).

* ``attention`` (Fig. 2.3): a few frames of one AFEW validation clip with the spatial attention
  (mean over heads, cells upsampled to the crop) over them, and below, for every frame, the
  emotion probabilities p(c | f) and the frame importance p(f | S) rescaled to 0-100.
* ``gates`` (Fig. 3.5): for four classes of the YouTube-8M evaluation videos, per layer the
  mean attention gate (share g_1 given to the augmented unimodal features) and the mean
  context-gating activations of the audio and video branches.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from emorepro.errors import EmoreproError


def _need(result: Mapping[str, Any], key: str) -> Any:
    data = (result.get("extra") or {}).get(key)
    if not data:
        raise EmoreproError(
            f"{result.get('experiment')}/{result.get('corpus')}: the result has no extra.{key}; "
            "rerun the experiment with this version"
        )
    return data


def _frame(png: str) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(io.BytesIO(base64.b64decode(png)), format="png")


def attention_figure(result: Mapping[str, Any], out: Path) -> None:
    import matplotlib.pyplot as plt

    data = _need(result, "fig2_3")
    frames = [_frame(p) for p in data["png"]]
    n = len(frames)
    fig = plt.figure(figsize=(2.2 * max(n, 3), 5.2))
    grid = fig.add_gridspec(2, n, height_ratios=(1.1, 1.0))
    for j, (img, att) in enumerate(zip(frames, data["attention"], strict=True)):
        ax = fig.add_subplot(grid[0, j])
        amap = np.asarray(att).mean(axis=0)
        side = round(np.sqrt(amap.size))
        ax.imshow(img)
        ax.imshow(
            amap.reshape(side, side),
            cmap="jet",
            alpha=0.45,
            extent=(0, img.shape[1], img.shape[0], 0),
            interpolation="bilinear",
        )
        ax.set_title(f"frame {data['frames'][j]}", fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(grid[1, :])
    probs = np.asarray(data["frame_probs"])
    x = np.arange(len(probs))
    classes = data.get("classes") or [str(i) for i in range(probs.shape[1])]
    for c in range(probs.shape[1]):
        lw = 2.2 if c == data["true"] else 1.0
        ax.plot(x, 100 * probs[:, c], lw=lw, label=classes[c])
    ax.bar(x, data["importance_0_100"], color="0.8", zorder=0, label="p(f|S), 0-100")
    ax.set_xlabel("frame")
    ax.set_ylabel("p(c|f) x 100")
    ax.legend(fontsize=6, ncol=4, loc="upper right")
    fig.suptitle(
        f"{result['experiment']} on {result['corpus']}: clip {data['item_id']} "
        f"(true {classes[data['true']]})",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def gates_figure(result: Mapping[str, Any], out: Path) -> None:
    import matplotlib.pyplot as plt

    data = _need(result, "gates")
    layers, classes = data["layers"], [str(c) for c in data["classes"]]
    fig, axes = plt.subplots(
        len(layers), 3, figsize=(11, 2.4 * len(layers)), squeeze=False,
        gridspec_kw={"width_ratios": (1, 2.5, 2.5)},
    )  # fmt: skip
    for i, layer in enumerate(layers):
        g1 = [layer[c]["g"][1] for c in classes]
        axes[i, 0].bar(range(len(classes)), g1, color="tab:blue")
        axes[i, 0].set_xticks(range(len(classes)), [f"class {c}" for c in classes], fontsize=6)
        axes[i, 0].set_ylim(0, 1)
        axes[i, 0].set_title(f"layer {i + 1}: gate g_1", fontsize=8)
        for j, key in enumerate(("cg_a", "cg_v")):
            mat = np.asarray([layer[c][key] for c in classes])
            im = axes[i, j + 1].imshow(mat, aspect="auto", cmap="viridis", vmin=0, vmax=1)
            axes[i, j + 1].set_yticks(range(len(classes)), classes, fontsize=6)
            what = "audio" if key == "cg_a" else "video"
            axes[i, j + 1].set_title(f"layer {i + 1}: context gating, {what}", fontsize=8)
        fig.colorbar(im, ax=axes[i, 2], fraction=0.03)
    fig.suptitle(
        f"{result['experiment']} on {result['corpus']}: mean gates over up to "
        f"{max(layers[0][c]['n'] for c in classes)} evaluation videos per class",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def draw(kind: str, result: Mapping[str, Any], out: Path) -> None:
    if kind == "attention":
        attention_figure(result, out)
    elif kind == "gates":
        gates_figure(result, out)
    else:
        raise EmoreproError(f"aminbeidokhti2020 has no figure kind {kind!r}")
