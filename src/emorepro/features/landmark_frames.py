"""Procrustes-aligned facial landmarks per 40 ms label frame (Tzirakis et al. 2017, Sec. V-D).

Table VI of the paper ("raw + geometric") feeds the multimodal LSTM, besides the raw audio and
face streams, with the facial landmarks of every video frame after Procrustes alignment. The
paper names neither the detector nor the target shape; emorepro uses:

* **Landmarks.** The configured dlib shape predictor (:class:`LandmarkModel`) on the Haar face
  box, tracked as in :mod:`emorepro.features.video_descriptors`: the box is searched near the
  previous one, and a missed detection reuses the previous box for up to ``MAX_BOX_GAP``
  frames (the predictor then still places the points in that box). A frame "has a face" when
  landmarks were predicted, from a detected or a held box.
* **Alignment.** :func:`~emorepro.features.landmarks.procrustes_align` to
  ``landmark_model.reference`` (translation, scale and rotation removed, no reflection), so the
  coordinates are in reference units and carry only the shape: expression and residual pose.
* **Time.** Label frame ``i`` (``t_i = 0.04 i``) takes the video frame nearest in time,
  :func:`emorepro.training.sequences.label_frame_indices` - the same frame as the face crops
  of the end-to-end models, so both streams stay in step.
* **Layout.** ``(n_label_frames, 2 K)`` float32, ``[x0, y0, x1, y1, ...]``.
* **Frames without a face** hold the last aligned shape before them (carried forward over
  video frames); frames before the first face take the first one (carried backward). The
  boolean ``face`` mask (per label frame) says which rows are measured. Why not zeros or NaN:
  a zero row is an impossible face (all points at the reference origin) that a network would
  read as a huge expression change, NaN breaks training, and interpolation would look into
  the future; a held shape is the causal "no news" value, and the mask keeps it auditable.
  A video with no face at all is a :class:`~emorepro.errors.CorruptInputError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from emorepro.errors import CorruptInputError
from emorepro.features.landmarks import (
    LandmarkModel,
    detect_face_box,
    detect_landmarks,
    procrustes_align,
)
from emorepro.features.video_descriptors import MAX_BOX_GAP, require_a_face
from emorepro.io import read_cache_arrays
from emorepro.media import iter_video_frames, probe_video

FRAME_S = 0.04
"""Label frame step (RECOLA, AVEC 2016)."""


def track_landmarks(
    path: Path | str, model: LandmarkModel
) -> Iterator[tuple[np.ndarray | None, bool]]:
    """Per decoded frame of ``path``: (K, 2) landmarks in frame pixels (or None) and whether
    the face box was held over from an earlier frame (gap rule of the module docstring)."""
    last_box, gap = None, 0
    for frame in iter_video_frames(path):
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        box, held = detect_face_box(gray, near=last_box), False
        if box is None and last_box is not None and gap < MAX_BOX_GAP:
            box, gap, held = last_box, gap + 1, True
        elif box is not None:
            last_box, gap = box, 0
        yield (None if box is None else detect_landmarks(gray, model, box=box)), held


def align_and_fill(
    shapes: Sequence[np.ndarray | None], reference: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Procrustes-align every shape to ``reference`` and fill the missing ones.

    Returns ``(rows, valid)``: rows ``(N, 2 K)`` float32 ``[x0, y0, x1, y1, ...]``, missing
    shapes (None) replaced by the last valid row before them, or the first valid row when none
    precedes them; ``valid`` (N,) bool marks the measured rows. No valid shape -> ValueError.
    """
    ref = np.asarray(reference, dtype=np.float64)
    valid = np.array([s is not None for s in shapes], dtype=bool)
    if not valid.any():
        raise ValueError("align_and_fill: no shape to align (no face in any frame)")
    aligned = np.zeros((len(shapes), ref.size), dtype=np.float64)
    for i, pts in enumerate(shapes):
        if pts is not None:
            aligned[i] = procrustes_align(pts, ref).reshape(-1)
    pos = np.arange(len(shapes))
    src = np.maximum.accumulate(np.where(valid, pos, -1))
    src[src < 0] = int(np.argmax(valid))
    return aligned[src].astype(np.float32), valid


def aligned_landmark_frames(
    path: Path | str, *, landmark_model: LandmarkModel, n_label_frames: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Aligned landmarks of one video on the 40 ms label grid.

    Returns ``(landmarks, face, stats)``: ``landmarks`` (n_label_frames, 2 K) float32 (see the
    module docstring: Procrustes-aligned to ``landmark_model.reference``, missing frames
    carried), ``face`` (n_label_frames,) bool (the label frame's video frame had landmarks),
    ``stats`` (``n_video_frames``, ``n_faces``, ``n_held``, ``fps``, ``n_label_frames``,
    ``n_points``, ``face_fraction`` = mean of ``face``). Raises ``CorruptInputError`` naming
    ``path`` when the video has no frames, no face in any frame, or ends more than one label
    frame before the labels.
    """
    # torch comes with emorepro.training; imported here so this module stays light
    from emorepro.training.sequences import label_frame_indices

    path = Path(path)
    if n_label_frames < 1:
        raise ValueError(f"n_label_frames must be >= 1, got {n_label_frames}")
    info = probe_video(path)

    def indices(n_video: int) -> np.ndarray:
        try:
            return label_frame_indices(n_label_frames, info.fps, n_video, frame_s=FRAME_S)
        except ValueError as err:
            raise CorruptInputError(
                path,
                f"too short for its {n_label_frames} label frames ({err})",
                fix="check that the video and the label file belong to the same recording",
            ) from err

    indices(info.n_frames)  # fail before decoding when the container already says so
    tracked = list(track_landmarks(path, landmark_model))
    shapes = [pts for pts, _ in tracked]
    n_faces = require_a_face(path, shapes)
    rows, valid = align_and_fill(shapes, landmark_model.reference)
    take = indices(len(shapes))
    face = valid[take]
    stats = {
        "n_video_frames": len(shapes),
        "n_faces": n_faces,
        "n_held": sum(pts is not None and held for pts, held in tracked),
        "fps": float(info.fps),
        "n_label_frames": int(n_label_frames),
        "n_points": landmark_model.n_points,
        "face_fraction": float(face.mean()),
    }
    return rows[take], face, stats


# ----------------------------------------------------------------------------------------------
# Loader (the step that writes the cache is emorepro.steps.features.landmark_frames_step)


def load_landmark_frames(
    entry: Mapping[str, Any] | pd.Series | Path | str, cache_dir: Path | str
) -> tuple[np.ndarray, np.ndarray]:
    """``(landmarks, face)`` of one manifest row (or its ``file``, relative to ``cache_dir``)."""
    rel = entry if isinstance(entry, str | Path) else entry["file"]
    path = Path(cache_dir) / str(rel)
    pts, face = read_cache_arrays(path, ("landmarks", "face"), rule="landmark_frames")
    if pts.ndim != 2 or face.shape != (len(pts),):
        raise CorruptInputError(
            path,
            f"landmarks {pts.shape} and face mask {face.shape} do not match",
            fix="delete it and re-run rule landmark_frames",
        )
    return pts.astype(np.float32, copy=False), face.astype(bool, copy=False)
