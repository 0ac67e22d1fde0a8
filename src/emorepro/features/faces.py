"""Face crops for the deep visual models: Zhang et al. (002) and Tzirakis et al. (000/001).

Detection is OpenCV's Viola–Jones Haar cascade (``haarcascade_frontalface_default.xml``,
scaleFactor 1.1, minNeighbors 4, on the grey frame; the largest box wins), as Zhang et al. used.

* **Zhang (150 x 110 x 3).** Eye centres come from OpenCV's Haar eye cascade inside the top 60 %
  of the face box (the "upper half", extended so an eye box centred at 0.4 h still fits). If it
  does not give one plausible eye in each half of the box, the "typical up-right face"
  proportions are used instead: eye centres at (0.30 w, 0.38 h) and (0.70 w, 0.38 h) of the
  face box (:data:`EYE_FRACTIONS`; on the stock cascade's boxes real eyes lie at 0.25-0.30 /
  0.70-0.75 and 0.35-0.40). The frame is rotated so the eyes are level and scaled so they are
  55 px apart; the 150 (h) x 110 (w) crop puts the eye midpoint at column (110 - 1) / 2 and row
  55, i.e. eyes at (27, 55) and (82, 55): one eye distance of forehead above the eyes, width
  2 x and height about 3 x the eye distance, as the paper says.
* **Tzirakis (96 x 96 x 3).** The face box is enlarged by 10 % of its side on every side
  (:data:`SQUARE_MARGIN`; Haar boxes cut the chin and forehead), squared around its centre,
  then resized to 96 x 96 (area interpolation when shrinking). Pixels outside the frame are
  edge-replicated.
* **Tracking.** Tzirakis et al. initialise the MDNet tracker from a detector on the first frame.
  We use *detect-and-hold* instead: detect every ``detect_every``-th frame and keep the previous
  box when detection fails or is skipped; frames before the first detection take the first
  detected box (back-fill). Both counts are reported.
* **16-frame clips** (:func:`clip16_indices`): see its docstring for the odd-remainder rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Literal, NamedTuple

import cv2
import numpy as np

from emorepro.errors import CorruptInputError, EmoreproError
from emorepro.media import iter_video_frames, probe_video

Box = tuple[int, int, int, int]
Point = tuple[float, float]
Kind = Literal["zhang", "tzirakis"]

FACE_CASCADE = "haarcascade_frontalface_default.xml"
EYE_CASCADE = "haarcascade_eye.xml"
EYE_FRACTIONS = ((0.30, 0.38), (0.70, 0.38))
"""Fallback eye centres (x/w, y/h) in the face box: left and right in image coordinates."""
EYE_ROI_HEIGHT = 0.6
ZHANG_SIZE = (150, 110)
ZHANG_EYE_DISTANCE = 55.0
SQUARE_MARGIN = 0.1
SQUARE_SIZE = 96


@cache
def _cascade(name: str) -> cv2.CascadeClassifier:
    """Load (once) a stock OpenCV Haar cascade."""
    path = str(Path(cv2.data.haarcascades) / name)
    clf = cv2.CascadeClassifier(path)
    if clf.empty():
        raise EmoreproError(
            f"{path}: OpenCV Haar cascade could not be loaded; reinstall opencv-python-headless"
        )
    return clf


def _gray(frame_rgb: np.ndarray) -> np.ndarray:
    """Validated grey copy of an RGB uint8 frame."""
    frame = np.asarray(frame_rgb)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(
            f"expected an RGB uint8 frame of shape (H, W, 3), got {frame.dtype} {frame.shape}"
        )
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def detect_face(frame_rgb: np.ndarray) -> Box | None:
    """Largest Viola–Jones frontal face (x, y, w, h) in the frame, or None."""
    found = _cascade(FACE_CASCADE).detectMultiScale(
        _gray(frame_rgb), scaleFactor=1.1, minNeighbors=4, minSize=(24, 24)
    )
    boxes = np.asarray(found).reshape(-1, 4)
    if boxes.shape[0] == 0:
        return None
    x, y, w, h = boxes[int(np.argmax(boxes[:, 2] * boxes[:, 3]))]
    return int(x), int(y), int(w), int(h)


class EyePair(tuple):
    """(left, right) eye centres in image coordinates (left = smaller x), plus ``method``.

    ``method`` is ``"cascade"`` (Haar eye detector) or ``"proportions"`` (fallback).
    """

    method: str

    def __new__(cls, left: Point, right: Point, method: str) -> EyePair:
        obj = super().__new__(cls, (left, right))
        obj.method = method
        return obj

    @property
    def left(self) -> Point:
        return self[0]

    @property
    def right(self) -> Point:
        return self[1]


def _proportion_eyes(box: Box) -> EyePair:
    x, y, w, h = box
    (lx, ly), (rx, ry) = EYE_FRACTIONS
    return EyePair((x + lx * w, y + ly * h), (x + rx * w, y + ry * h), "proportions")


def locate_eyes(frame_rgb: np.ndarray, box: Box) -> EyePair:
    """Eye centres for a face box: Haar eye cascade, else fixed up-right-face proportions.

    A cascade pair is accepted when each half of the box holds an eye candidate of width
    0.15-0.5 w (the one nearest its fallback position is taken), the eyes are 0.3-0.7 w apart
    and the line between them is tilted by less than 30 degrees.
    """
    gray = _gray(frame_rgb)
    x, y, w, h = (int(v) for v in box)
    fallback = _proportion_eyes((x, y, w, h))
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, gray.shape[1]), min(y + round(EYE_ROI_HEIGHT * h), gray.shape[0])
    if w < 20 or x1 - x0 < 20 or y1 - y0 < 10:
        return fallback
    found = _cascade(EYE_CASCADE).detectMultiScale(
        gray[y0:y1, x0:x1], scaleFactor=1.1, minNeighbors=3, minSize=(8, 8)
    )
    cands = np.asarray(found, dtype=float).reshape(-1, 4)
    cands = cands[(cands[:, 2] >= 0.15 * w) & (cands[:, 2] <= 0.5 * w)]
    centres = np.stack([x0 + cands[:, 0] + cands[:, 2] / 2, y0 + cands[:, 1] + cands[:, 3] / 2], 1)
    picked: list[Point] = []
    halves = (centres[:, 0] < x + w / 2, centres[:, 0] >= x + w / 2)
    for side, target in zip(halves, fallback, strict=True):
        if not side.any():
            return fallback
        pts = centres[side]
        best = pts[int(np.argmin(np.hypot(pts[:, 0] - target[0], pts[:, 1] - target[1])))]
        picked.append((float(best[0]), float(best[1])))
    (lx, ly), (rx, ry) = picked
    dist = math.hypot(rx - lx, ry - ly)
    if not (0.3 * w <= dist <= 0.7 * w) or abs(ry - ly) > math.tan(math.radians(30)) * (rx - lx):
        return fallback
    return EyePair(picked[0], picked[1], "cascade")


def zhang_transform(
    eyes: Sequence[Point],
    *,
    eye_distance: float = ZHANG_EYE_DISTANCE,
    size: tuple[int, int] = ZHANG_SIZE,
) -> np.ndarray:
    """2x3 affine map frame -> crop: eyes level, ``eye_distance`` apart, midpoint at
    (column (w - 1) / 2, row eye_distance)."""
    (lx, ly), (rx, ry) = sorted((tuple(map(float, p)) for p in eyes), key=lambda p: p[0])
    dist = math.hypot(rx - lx, ry - ly)
    if not dist > 0:
        raise ValueError(f"eye centres must differ, got {eyes}")
    theta = math.atan2(ry - ly, rx - lx)
    s = eye_distance / dist
    a = s * np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    mid = np.array([(lx + rx) / 2, (ly + ry) / 2])
    target = np.array([(size[1] - 1) / 2, eye_distance])
    return np.hstack([a, (target - a @ mid)[:, None]])


def zhang_crop(
    frame_rgb: np.ndarray,
    eyes: Sequence[Point],
    *,
    eye_distance: float = ZHANG_EYE_DISTANCE,
    size: tuple[int, int] = ZHANG_SIZE,
) -> np.ndarray:
    """Eye-normalised (size[0], size[1], 3) uint8 face crop (bilinear, edges replicated)."""
    _gray(frame_rgb)
    m = zhang_transform(eyes, eye_distance=eye_distance, size=size)
    return cv2.warpAffine(
        np.ascontiguousarray(frame_rgb),
        m,
        (int(size[1]), int(size[0])),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def square_crop(
    frame_rgb: np.ndarray, box: Box, *, size: int = SQUARE_SIZE, margin: float = SQUARE_MARGIN
) -> np.ndarray:
    """(size, size, 3) uint8 crop of the box enlarged by ``margin`` x side on every side."""
    frame = np.asarray(frame_rgb)
    _gray(frame)
    x, y, w, h = box
    side = max(w, h) * (1.0 + 2.0 * margin)
    if side < 1:
        raise ValueError(f"face box must have a positive size, got {box}")
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    n = round(side)
    pad = max(0, -x0, -y0, x0 + n - frame.shape[1], y0 + n - frame.shape[0])
    if pad:
        frame = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    patch = frame[y0 + pad : y0 + pad + n, x0 + pad : x0 + pad + n]
    interp = cv2.INTER_AREA if n > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interp)


class FaceTrack(NamedTuple):
    """Per-frame boxes (None before the first detection) and how many were held over."""

    boxes: list[Box | None]
    n_held: int


class _Tracker:
    """Detect-and-hold: detect every ``detect_every``-th frame, else/if none keep the last box."""

    def __init__(self, detect_every: int) -> None:
        if detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        self.detect_every, self.box, self.i = detect_every, None, 0
        self.n_detected = self.n_held = 0

    def update(self, frame: np.ndarray) -> Box | None:
        due = self.box is None or self.i % self.detect_every == 0
        self.i += 1
        found = detect_face(frame) if due else None
        if found is not None:
            self.box = found
            self.n_detected += 1
        elif self.box is not None:
            self.n_held += 1
        return self.box


def track_faces(frames: Iterable[np.ndarray], *, detect_every: int = 1) -> FaceTrack:
    """Detect-and-hold face boxes for a frame sequence (see module docstring)."""
    tracker = _Tracker(detect_every)
    boxes = [tracker.update(f) for f in frames]
    return FaceTrack(boxes, tracker.n_held)


def clip16_indices(L: int, *, n: int = 16) -> np.ndarray:
    """Zhang's rule mapping L segment frames to n: indices clip(i + ceil((L - n)/2), 0, L - 1).

    L >= n deletes the first and last (L - n)/2 frames; L < n repeats the first and last frame
    (n - L)/2 times. For odd remainders the paper's example (L = 5: "repeat the first 5 and last
    6") puts the extra *repeat* at the end; the mirror convention puts the extra *deletion* at
    the start (L = 17 keeps frames 1..16). Both follow from the one formula above: the kept
    window is centred with ties going to the later frame.
    """
    if L < 1 or n < 1:
        raise ValueError(f"need L >= 1 frames and n >= 1, got L={L}, n={n}")
    offset = -((n - L) // 2)  # = ceil((L - n) / 2)
    return np.clip(np.arange(n) + offset, 0, L - 1)


def segment_frame_indices(
    bounds_s: np.ndarray, fps: float, n_frames: int, *, n: int = 16
) -> np.ndarray:
    """(n_seg, n) video frame indices of audio segments [t0, t1) after :func:`clip16_indices`.

    Frame k (timestamp k / fps) belongs to a segment when t0 <= k / fps < t1; a segment with no
    frame (or past the video's end) takes the frame nearest its midpoint.
    """
    if fps <= 0 or n_frames < 1:
        raise ValueError(f"need fps > 0 and n_frames >= 1, got {fps}, {n_frames}")
    out = np.empty((len(bounds_s), n), dtype=np.int64)
    for j, (t0, t1) in enumerate(np.asarray(bounds_s, dtype=float).reshape(-1, 2)):
        first = max(0, math.ceil(t0 * fps - 1e-9))
        last = min(n_frames - 1, math.ceil(t1 * fps - 1e-9) - 1)
        if last < first:
            first = last = min(n_frames - 1, max(0, round((t0 + t1) / 2 * fps)))
        out[j] = first + clip16_indices(last - first + 1, n=n)
    return out


def _crop_one(frame: np.ndarray, box: Box, kind: Kind, stats: dict[str, int]) -> np.ndarray:
    if kind == "zhang":
        eyes = locate_eyes(frame, box)
        stats[f"eyes_{eyes.method}"] += 1
        return zhang_crop(frame, eyes)
    return square_crop(frame, box)


def _check_kind(kind: str) -> None:
    if kind not in ("zhang", "tzirakis"):
        raise ValueError(f"kind must be 'zhang' or 'tzirakis', got {kind!r}")


def _crops(
    frames: Iterator[np.ndarray], kind: Kind, detect_every: int
) -> tuple[list[np.ndarray], Box | None, int, dict[str, int]]:
    """Crops of frames after the first detection; returns (crops, first box, n_leading, stats)."""
    tracker = _Tracker(detect_every)
    stats = {"n_frames": 0, "eyes_cascade": 0, "eyes_proportions": 0}
    crops: list[np.ndarray] = []
    first: Box | None = None
    leading = 0
    for frame in frames:
        stats["n_frames"] += 1
        box = tracker.update(frame)
        if box is None:
            leading += 1
            continue
        first = first or box
        crops.append(_crop_one(frame, box, kind, stats))
    stats.update(n_detected=tracker.n_detected, n_held=tracker.n_held, n_backfilled=leading)
    return crops, first, leading, stats


def face_clip(
    frames_rgb: Sequence[np.ndarray], *, kind: Kind = "zhang", detect_every: int = 1
) -> np.ndarray:
    """Per-frame face crops (N, 150, 110, 3) for "zhang" or (N, 96, 96, 3) for "tzirakis"."""
    _check_kind(kind)
    crops, first, leading, stats = _crops(iter(frames_rgb), kind, detect_every)
    if first is None:
        raise EmoreproError(
            f"no face found in any of {len(frames_rgb)} frames (OpenCV Haar frontal-face "
            "cascade); pass frames that show an upright frontal face"
        )
    head = [_crop_one(f, first, kind, stats) for f in frames_rgb[:leading]]
    return np.stack(head + crops)


def video_face_crops(
    path: Path | str,
    *,
    kind: Kind = "zhang",
    fps_out: float | None = None,
    detect_every: int = 1,
) -> tuple[np.ndarray, dict[str, float]]:
    """Face crops of a video file and stats (frame counts, held/back-filled, eye method).

    ``fps_out`` keeps every round(fps / fps_out)-th frame (all frames when None or >= fps).
    """
    _check_kind(kind)
    path = Path(path)
    info = probe_video(path)
    step = 1 if fps_out is None or fps_out >= info.fps else max(1, round(info.fps / fps_out))
    crops, first, leading, stats = _crops(iter_video_frames(path, step=step), kind, detect_every)
    if first is None:
        raise CorruptInputError(
            path,
            f"no face found in any of {stats['n_frames']} frames by the OpenCV Haar "
            "frontal-face detector",
            fix="check that the video shows an upright frontal face (rotate or re-crop it), "
            "or drop the clip from the corpus index",
        )
    if leading:  # re-read the frames before the first detection instead of buffering them
        head = iter_video_frames(path, step=step, max_frames=leading)
        crops = [_crop_one(f, first, kind, stats) for f in head] + crops
    out: dict[str, float] = {k: float(v) for k, v in stats.items()}
    out.update(fps=info.fps / step, step=float(step))
    return np.stack(crops), out
