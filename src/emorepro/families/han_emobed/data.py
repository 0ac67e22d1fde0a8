"""Inputs of Han et al.'s EmoBed (003 Sec. 4.1, experiments.md §3.1).

RECOLA (regression): one :class:`Recordings` per modality from a frame table (``item_id,
time_s``, feature columns, ``arousal``, ``valence``: the ``windowed_functionals`` or
``video_windowed`` output). The gold standard is shifted back by ``label_shift_s`` (2.4 s in
the paper): the features at frame ``k`` are paired with the label at ``k + S``, ``S =
round(label_shift_s / 0.04)``, so training uses ``x[0:T-S] -> y[S:T]``; at inference the
prediction for label frame ``k`` is the output at ``k - S`` (the first ``S`` label frames hold
the first output), so every label frame is scored. Inputs are standardised with the training
frames' mean and population standard deviation ("online standardisation", Sec. 4.2).

OMG-Emotion (classification): one vector per utterance, audio = eGeMAPS functionals; video =
VGG-Face fc7 averaged over the clip's face crops when a local VGG-Face file is configured
(:func:`vggface_fc7`), otherwise the declared stand-in :func:`face_pixel_stats` (mean and
standard deviation over the clip of each 24x24 grey face-crop pixel), named in every row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emorepro.errors import ConfigError, CorruptInputError

FRAME_S = 0.04
TARGETS = ("arousal", "valence")
STANDIN_SIZE = 24
STANDIN_TEXT = (
    "stand-in for VGG-Face fc7 (no local VGG-Face file configured): per utterance, mean and "
    f"standard deviation over its frames of each {STANDIN_SIZE}x{STANDIN_SIZE} grey face-crop "
    f"pixel ({2 * STANDIN_SIZE * STANDIN_SIZE} values)"
)


def shift_frames(label_shift_s: float) -> int:
    """``S = round(label_shift_s / 0.04)`` label frames."""
    if label_shift_s < 0:
        raise ConfigError(f"label_shift_s must be >= 0, got {label_shift_s}")
    return round(label_shift_s / FRAME_S)


@dataclass
class Recordings:
    """Per recording (``items`` order): times ``t[i]`` (T,), features ``x[i]`` (T, d) float32,
    gold standard ``y[i]`` (T, 2) in :data:`TARGETS` order."""

    items: list[str]
    t: list[np.ndarray]
    x: list[np.ndarray]
    y: list[np.ndarray]
    columns: list[str]

    def subset(self, keep: Sequence[str]) -> Recordings:
        """The recordings ``keep`` (in that order); an absent one raises naming it."""
        pos = {item: i for i, item in enumerate(self.items)}
        missing = [k for k in keep if k not in pos]
        if missing:
            raise CorruptInputError(
                "features", f"no frames for {missing[:5]}", fix="rerun the feature rule"
            )
        idx = [pos[k] for k in keep]
        return Recordings(
            [self.items[i] for i in idx],
            [self.t[i] for i in idx],
            [self.x[i] for i in idx],
            [self.y[i] for i in idx],
            self.columns,
        )


def read_recordings(path: Path | str) -> Recordings:
    """Frame table -> :class:`Recordings` (module docstring); missing label columns or NaN
    values raise :class:`CorruptInputError` naming the file."""
    table = pd.read_parquet(path)
    missing = [c for c in ("item_id", "time_s", *TARGETS) if c not in table.columns]
    if missing:
        raise CorruptInputError(path, f"missing columns {missing}", fix="rerun its feature rule")
    columns = [c for c in table.columns if c not in ("item_id", "time_s", *TARGETS)]
    values = table[columns + list(TARGETS)]
    if values.isna().to_numpy().any():
        bad = table.loc[values.isna().any(axis=1), "item_id"].unique()[:5].tolist()
        raise CorruptInputError(path, f"NaN features or labels in {bad}", fix="rerun its rule")
    items, ts, xs, ys = [], [], [], []
    for item, part in table.sort_values(["item_id", "time_s"]).groupby("item_id", sort=True):
        items.append(str(item))
        ts.append(part["time_s"].to_numpy(np.float64))
        xs.append(part[columns].to_numpy(np.float32))
        ys.append(part[list(TARGETS)].to_numpy(np.float32))
    return Recordings(items, ts, xs, ys, columns)


def standardiser(x: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per feature over the rows of ``x`` (population std; 0 -> 1)."""
    stacked = np.concatenate([np.asarray(a, np.float64) for a in x])
    mean, std = stacked.mean(axis=0), stacked.std(axis=0)
    return mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)


def shifted_pairs(rec: Recordings, target: int, shift: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(x[0:T-S], y[S:T, target])`` of every recording (``S = shift``)."""
    out = []
    for item, x, y in zip(rec.items, rec.x, rec.y, strict=True):
        if len(x) <= shift:
            raise CorruptInputError(
                item,
                f"{len(x)} frames, not more than the label shift of {shift} frames",
                fix="use a longer recording or a smaller label_shift_s",
            )
        out.append((x[: len(x) - shift], y[shift:, target]))
    return out


def chunk_starts(n: int, length: int) -> list[int]:
    """Starts of non-overlapping chunks of ``length`` frames covering ``n`` frames, the last
    one aligned to the end when ``n`` is not a multiple (``n >= length``)."""
    starts = list(range(0, n - length + 1, length))
    if starts[-1] + length < n:
        starts.append(n - length)
    return starts


def chunks(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]], length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training chunks ``(n, L, d)`` and ``(n, L)`` of ``L = min(length, shortest pair)``."""
    L = min(length, *(len(y) for _, y in pairs))
    xs, ys = [], []
    for x, y in pairs:
        for s in chunk_starts(len(y), L):
            xs.append(x[s : s + L])
            ys.append(y[s : s + L])
    return np.stack(xs), np.stack(ys)


def align_predictions(out: np.ndarray, shift: int) -> np.ndarray:
    """Predictions per label frame from outputs per feature frame (module docstring):
    ``p[k] = out[k - S]`` for ``k >= S``, ``out[0]`` before."""
    out = np.asarray(out)
    if shift == 0:
        return out.copy()
    return np.concatenate([np.full(shift, out[0], dtype=out.dtype), out[: len(out) - shift]])


# --- OMG-Emotion: one vector per utterance ---------------------------------------------------


def utterance_functionals(path: Path | str, items: Sequence[str]) -> np.ndarray:
    """(n, d) functionals of ``items`` (in order) from a ``functionals`` parquet."""
    table = pd.read_parquet(path).set_index("item_id")
    missing = [i for i in items if i not in table.index]
    if missing:
        raise CorruptInputError(path, f"no row for {missing[:5]}", fix="rerun rule functionals")
    x = table.loc[list(items)].to_numpy(np.float64)
    if not np.isfinite(x).all():
        raise CorruptInputError(path, "non-finite functionals", fix="rerun rule functionals")
    return x.astype(np.float32)


def _crops_of(manifest: pd.DataFrame, cache_dir: Path, item: str, path: Path) -> np.ndarray:
    from emorepro.io import read_cache_arrays

    if item not in manifest.index:
        raise CorruptInputError(path, f"no entry for item {item}", fix="rerun rule face_crops")
    (crops,) = read_cache_arrays(
        cache_dir / str(manifest.loc[item, "file"]), ("crops",), rule="face_crops"
    )
    if len(crops) == 0:
        raise CorruptInputError(
            cache_dir / str(manifest.loc[item, "file"]),
            f"no face frames for {item}",
            fix="check the video (it decodes to no frame)",
        )
    return crops


def face_pixel_stats(crops: np.ndarray, size: int = STANDIN_SIZE) -> np.ndarray:
    """The declared stand-in: mean and std over frames of each ``size`` x ``size`` grey pixel
    (0-1 scale) of RGB crops ``(n, H, W, 3)`` -> ``(2 size^2,)``."""
    import cv2

    grey = (
        np.stack(
            [
                cv2.resize(
                    cv2.cvtColor(c, cv2.COLOR_RGB2GRAY), (size, size), interpolation=cv2.INTER_AREA
                )
                for c in crops
            ]
        ).astype(np.float32)
        / 255.0
    )
    return np.concatenate([grey.mean(axis=0).ravel(), grey.std(axis=0).ravel()])


#: VGG-Face (Parkhi et al. 2015) mean pixel, RGB, 0-255
VGGFACE_MEAN = (129.1863, 104.7624, 93.5940)


def vggface_fc7(crops: np.ndarray, network: Any, *, frames: int = 16) -> np.ndarray:
    """fc7 (4096, after its ReLU) of a VGG-16 with VGG-Face weights, averaged over up to
    ``frames`` evenly spaced crops resized to 224x224 with the VGG-Face mean removed."""
    import cv2
    import torch

    idx = np.unique(np.linspace(0, len(crops) - 1, min(frames, len(crops))).round().astype(int))
    batch = np.stack([cv2.resize(crops[i], (224, 224)) for i in idx]).astype(np.float32)
    batch = (batch - np.asarray(VGGFACE_MEAN, np.float32)).transpose(0, 3, 1, 2)
    with torch.no_grad():
        x = torch.from_numpy(batch)
        feats = network.avgpool(network.features(x)).flatten(1)
        fc7 = network.classifier[:5](feats)
    return fc7.mean(dim=0).numpy()


def load_vggface(path: Path | str, sha256: str | None) -> Any:
    """A torchvision VGG-16 (2622 identities) with the VGG-Face weights of a local state dict
    (converted to torchvision's key names), checksum-checked, in eval mode."""
    from torchvision.models import vgg16

    from emorepro.models.weights import apply_state_dict, load_state_dict_file

    network = vgg16(weights=None, num_classes=2622)
    apply_state_dict(network, load_state_dict_file(path, sha256=sha256), source=path)
    return network.eval()


def utterance_video(
    faces: Path | str,
    cache_dir: Path | str,
    items: Sequence[str],
    *,
    weights: str | None = None,
    sha256: str | None = None,
) -> tuple[np.ndarray, str]:
    """(n, d) video vectors of ``items`` and the text naming which features they are."""
    manifest = pd.read_parquet(faces).set_index("item_id")
    cache, path = Path(cache_dir), Path(faces)
    if weights:
        network = load_vggface(weights, sha256)
        rows = [vggface_fc7(_crops_of(manifest, cache, i, path), network) for i in items]
        return np.stack(rows).astype(np.float32), f"VGG-Face fc7 (local weights {weights})"
    rows = [face_pixel_stats(_crops_of(manifest, cache, i, path)) for i in items]
    return np.stack(rows).astype(np.float32), STANDIN_TEXT


def class_indices(labels: Sequence[str], classes: Sequence[str], where: str) -> np.ndarray:
    """Class index of every label; an unknown one raises naming ``where``."""
    pos: Mapping[str, int] = {c: i for i, c in enumerate(classes)}
    bad = sorted({str(v) for v in labels} - set(pos))
    if bad:
        raise CorruptInputError(where, f"labels {bad} are not among {list(classes)}")
    return np.asarray([pos[str(v)] for v in labels], np.int64)
