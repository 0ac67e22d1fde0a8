"""Segments of Zhang et al.: the log-Mel segments of every utterance and, for the visual
network, the 16-frame face clip of each audio segment (Sec. III-A/B, experiments.md §2.2-2.3).

A :class:`Segments` holds every segment of the items of a fold sheet, in index order: the item
of each segment, its model input and the item's class. The visual clip of a segment is
:func:`emorepro.features.faces.segment_frame_indices` over the segment's time span (the
paper's 16-frame rule: trim or repeat the first and last frames), taken from the cached
150x110 eye-normalised crops and resized once to the network's input size (``cv2.INTER_AREA``)
so that a corpus' clips fit in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from emorepro.errors import CorruptInputError
from emorepro.io import read_cache_arrays


@dataclass
class Segments:
    """``x[i]`` is the input of segment ``i`` of item ``items[i]``; ``label_of`` maps every
    item to its class index. Audio: ``(n, 64, L, 3)`` float16 (static, delta, delta-delta);
    visual: ``(n, 16, S, S, 3)`` uint8 RGB."""

    items: list[str]
    x: np.ndarray
    label_of: Mapping[str, int]

    def stack(self, index: np.ndarray) -> np.ndarray:
        """The inputs of the segments ``index`` in the networks' layout, float32: audio
        ``(n, 64, L, 3)``, visual ``(n, 3, 16, S, S)`` on the 0-255 scale."""
        x = self.x[np.asarray(index)].astype(np.float32)
        return x.transpose(0, 4, 1, 2, 3) if x.ndim == 5 else x

    def select(self, keep: set[str]) -> np.ndarray:
        """Indices of the segments of the items in ``keep``."""
        return np.flatnonzero(np.fromiter((i in keep for i in self.items), bool, len(self.items)))


class SegmentSet(Dataset):
    """Samples of the shared trainer (:mod:`emorepro.training.tasks`, classification):
    ``{"x": input, "target": class index, "item": item id}``; visual clips become
    ``(3, 16, S, S)`` float on the 0-255 scale, audio segments ``(64, L, 3)`` float."""

    def __init__(self, segments: Segments, index: np.ndarray) -> None:
        self.segments, self.index = segments, np.asarray(index)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> dict[str, Any]:
        i = int(self.index[k])
        x = torch.from_numpy(self.segments.x[i].astype(np.float32))
        if x.ndim == 4:  # visual clip (T, S, S, 3) -> (3, T, S, S)
            x = x.permute(3, 0, 1, 2)
        item = self.segments.items[i]
        return {"x": x, "target": self.segments.label_of[item], "item": item}


def _manifest(path: Path | str) -> pd.DataFrame:
    return pd.read_parquet(path).set_index("item_id")


def _row(manifest: pd.DataFrame, item: str, path: Path | str) -> pd.Series:
    if item not in manifest.index:
        raise CorruptInputError(path, f"no entry for item {item}", fix="rerun its feature rule")
    return manifest.loc[item]


def audio_segments(
    logmel: Path | str, cache_dir: Path | str, items: Sequence[str], labels: Mapping[str, int]
) -> Segments:
    """The log-Mel segments of ``items`` from the ``logmel_segments`` manifest and cache."""
    manifest = _manifest(logmel)
    seg_items, parts = [], []
    for item in items:
        row = _row(manifest, item, logmel)
        (seg,) = read_cache_arrays(
            Path(cache_dir) / str(row["file"]), ("segments",), rule="logmel_segments"
        )
        parts.append(seg)
        seg_items += [item] * len(seg)
    return Segments(seg_items, np.concatenate(parts), dict(labels))


def _clip(crops: np.ndarray, frames: np.ndarray, size: int) -> np.ndarray:
    """16 crops resized to ``size`` x ``size``: ``(16, size, size, 3)`` uint8."""
    return np.stack(
        [cv2.resize(crops[f], (size, size), interpolation=cv2.INTER_AREA) for f in frames]
    )


def visual_segments(
    faces: Path | str,
    logmel: Path | str,
    cache_dir: Path | str,
    items: Sequence[str],
    labels: Mapping[str, int],
    *,
    size: int,
) -> Segments:
    """One 16-frame face clip per 64-frame audio segment of ``items`` (module docstring)."""
    from emorepro.features.faces import segment_frame_indices

    face_manifest, mel_manifest = _manifest(faces), _manifest(logmel)
    seg_items, clips = [], []
    for item in items:
        face_row = _row(face_manifest, item, faces)
        (crops,) = read_cache_arrays(
            Path(cache_dir) / str(face_row["file"]), ("crops",), rule="face_crops"
        )
        (bounds,) = read_cache_arrays(
            Path(cache_dir) / str(_row(mel_manifest, item, logmel)["file"]),
            ("bounds_s",),
            rule="logmel_segments",
        )
        frames = segment_frame_indices(bounds, float(face_row["fps"]), len(crops))
        clips += [_clip(crops, f, size) for f in frames]
        seg_items += [item] * len(frames)
    return Segments(seg_items, np.stack(clips), dict(labels))
