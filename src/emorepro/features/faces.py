"""Face crops for the deep visual models: Zhang et al. (002), Tzirakis et al. (000/001) and
Aminbeidokhti (2020).

Detection for ``zhang`` and ``tzirakis`` is OpenCV's Viola–Jones Haar cascade
(``haarcascade_frontalface_default.xml``, scaleFactor 1.1, minNeighbors 4, on the grey frame; the
largest box wins), as Zhang et al. used. ``aminbeidokhti`` uses dlib's HOG frontal-face detector
(:data:`DLIB_HOG`, see below).

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
* **Aminbeidokhti (256 x 256 x 3).** The thesis (ch. 2, AFEW) runs "dlib face detector on the
  frames" and stores faces "aligned to a frontal position" at 256 x 256. Detection is
  ``dlib.get_frontal_face_detector()`` on the grey frame with one upsampling (the HOG window is
  80 px; upsampling once finds faces down to about 40 px, the size of the synthetic twins' faces
  at 128 x 160); the largest box, clipped to the frame, wins. Eye centres come from
  :func:`locate_eyes` with the fallback proportions of dlib's boxes (:data:`DLIB_EYE_FRACTIONS`:
  dlib boxes start at the brows and end at the chin, so the eyes sit at 0.23 h, not 0.38 h). A
  similarity warp (:func:`zhang_transform` with ``eye_row``) makes the eyes level,
  :data:`ALIGNED_EYE_DISTANCE` = 0.30 x 256 = 76.8 px apart, with their midpoint at column
  127.5 and row :data:`ALIGNED_EYE_ROW` = 0.40 x 256 = 102.4: eyes at (89.1, 102.4) and
  (165.9, 102.4). With the chin 1.7-1.9 eye distances below the eyes (rows ~232-248; the
  astronaut's at ~230) and the brows about 0.4 above (row ~72) the whole face, brows to chin,
  with some forehead, is inside; 0.35 x 256 put the astronaut's chin at the bottom edge.
  AFEW is in the wild and the thesis does not say what happened to clips without a detected
  face, so this kind never fails on one: when dlib finds a face in no frame, the clip is re-run
  with the Haar detector (:data:`HAAR`, with :data:`EYE_FRACTIONS`), and when that finds none
  either every frame becomes the largest centred square of the frame resized to 256 x 256
  (:func:`centre_square`). The stats say which: ``detector_dlib``, ``detector_haar`` and
  ``no_face`` (1.0 or 0.0 per clip, so a manifest's column sums count clips).
* **Tracking.** Tzirakis et al. initialise the MDNet tracker from a detector on the first frame.
  We use *detect-and-hold* instead: detect every ``detect_every``-th frame and keep the previous
  box when detection fails or is skipped; frames before the first detection take the first
  detected box (back-fill). Both counts are reported.
* **16-frame clips** (:func:`clip16_indices`): see its docstring for the odd-remainder rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

import cv2
import numpy as np

from emorepro.errors import CorruptInputError, EmoreproError
from emorepro.media import iter_video_frames, probe_video

Box = tuple[int, int, int, int]
Point = tuple[float, float]
Kind = Literal["zhang", "tzirakis", "aminbeidokhti"]
KINDS: tuple[Kind, ...] = ("zhang", "tzirakis", "aminbeidokhti")

FACE_CASCADE = "haarcascade_frontalface_default.xml"
EYE_CASCADE = "haarcascade_eye.xml"
EYE_FRACTIONS = ((0.30, 0.38), (0.70, 0.38))
"""Fallback eye centres (x/w, y/h) in the face box: left and right in image coordinates."""
DLIB_EYE_FRACTIONS = ((0.27, 0.23), (0.73, 0.23))
"""Fallback eye centres (x/w, y/h) in a dlib HOG face box (measured: 0.21-0.31 / 0.70-0.79
and 0.15-0.31 on the rendered faces)."""
EYE_ROI_HEIGHT = 0.6
ZHANG_SIZE = (150, 110)
ZHANG_EYE_DISTANCE = 55.0
SQUARE_MARGIN = 0.1
SQUARE_SIZE = 96
ALIGNED_SIZE = (256, 256)
ALIGNED_EYE_DISTANCE = 0.30 * 256
ALIGNED_EYE_ROW = 0.40 * 256
DLIB_UPSAMPLE = 1


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


@cache
def _dlib_detector() -> Any:
    """dlib's HOG frontal-face detector (built once; dlib imported only when used)."""
    import dlib

    return dlib.get_frontal_face_detector()


def detect_face_dlib(frame_rgb: np.ndarray, *, upsample: int = DLIB_UPSAMPLE) -> Box | None:
    """Largest dlib HOG frontal face (x, y, w, h), clipped to the frame, or None.

    dlib rectangles are inclusive and may reach past the frame; they are clipped to it and the
    box with the largest clipped area wins (boxes with nothing inside the frame are dropped).
    """
    gray = _gray(frame_rgb)
    height, width = gray.shape
    best: Box | None = None
    for r in _dlib_detector()(gray, upsample):
        x0, y0 = max(int(r.left()), 0), max(int(r.top()), 0)
        x1, y1 = min(int(r.right()) + 1, width), min(int(r.bottom()) + 1, height)
        if x1 > x0 and y1 > y0 and (best is None or (x1 - x0) * (y1 - y0) > best[2] * best[3]):
            best = (x0, y0, x1 - x0, y1 - y0)
    return best


class FaceDetector(NamedTuple):
    """A face detector for the crops: its name (as in the cache key), the function giving the
    largest face box of a frame, and the fallback eye proportions of its boxes."""

    name: str
    detect: Callable[[np.ndarray], Box | None]
    eye_fractions: tuple[Point, Point]


HAAR = FaceDetector("haar", detect_face, EYE_FRACTIONS)
DLIB_HOG = FaceDetector("dlib-hog", detect_face_dlib, DLIB_EYE_FRACTIONS)


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


def _proportion_eyes(box: Box, fractions: tuple[Point, Point] = EYE_FRACTIONS) -> EyePair:
    x, y, w, h = box
    (lx, ly), (rx, ry) = fractions
    return EyePair((x + lx * w, y + ly * h), (x + rx * w, y + ry * h), "proportions")


def locate_eyes(
    frame_rgb: np.ndarray, box: Box, *, fractions: tuple[Point, Point] = EYE_FRACTIONS
) -> EyePair:
    """Eye centres for a face box: Haar eye cascade, else fixed up-right-face proportions.

    A cascade pair is accepted when each half of the box holds an eye candidate of width
    0.15-0.5 w (the one nearest its fallback position is taken), the eyes are 0.3-0.7 w apart
    and the line between them is tilted by less than 30 degrees. ``fractions``: the fallback
    positions (x/w, y/h) for the detector that gave the box (:data:`EYE_FRACTIONS` for Haar
    boxes, :data:`DLIB_EYE_FRACTIONS` for dlib's).
    """
    gray = _gray(frame_rgb)
    x, y, w, h = (int(v) for v in box)
    fallback = _proportion_eyes((x, y, w, h), fractions)
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
    eye_row: float | None = None,
) -> np.ndarray:
    """2x3 affine map frame -> crop: eyes level, ``eye_distance`` apart, midpoint at
    (column (w - 1) / 2, row ``eye_row``; None = ``eye_distance``, Zhang's rule)."""
    (lx, ly), (rx, ry) = sorted((tuple(map(float, p)) for p in eyes), key=lambda p: p[0])
    dist = math.hypot(rx - lx, ry - ly)
    if not dist > 0:
        raise ValueError(f"eye centres must differ, got {eyes}")
    theta = math.atan2(ry - ly, rx - lx)
    s = eye_distance / dist
    a = s * np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    mid = np.array([(lx + rx) / 2, (ly + ry) / 2])
    target = np.array([(size[1] - 1) / 2, eye_distance if eye_row is None else eye_row])
    return np.hstack([a, (target - a @ mid)[:, None]])


def zhang_crop(
    frame_rgb: np.ndarray,
    eyes: Sequence[Point],
    *,
    eye_distance: float = ZHANG_EYE_DISTANCE,
    size: tuple[int, int] = ZHANG_SIZE,
    eye_row: float | None = None,
) -> np.ndarray:
    """Eye-normalised (size[0], size[1], 3) uint8 face crop (bilinear, edges replicated)."""
    _gray(frame_rgb)
    m = zhang_transform(eyes, eye_distance=eye_distance, size=size, eye_row=eye_row)
    return cv2.warpAffine(
        np.ascontiguousarray(frame_rgb),
        m,
        (int(size[1]), int(size[0])),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def aligned_crop(frame_rgb: np.ndarray, eyes: Sequence[Point]) -> np.ndarray:
    """Aminbeidokhti's frontal-aligned 256 x 256 crop (eye geometry in the module docstring)."""
    return zhang_crop(
        frame_rgb,
        eyes,
        eye_distance=ALIGNED_EYE_DISTANCE,
        size=ALIGNED_SIZE,
        eye_row=ALIGNED_EYE_ROW,
    )


def centre_square(frame_rgb: np.ndarray, *, size: int = ALIGNED_SIZE[0]) -> np.ndarray:
    """The largest centred square of the frame resized to (size, size, 3) (no-face fallback)."""
    frame = np.asarray(frame_rgb)
    _gray(frame)
    height, width = frame.shape[:2]
    side = min(height, width)
    y0, x0 = (height - side) // 2, (width - side) // 2
    patch = frame[y0 : y0 + side, x0 : x0 + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interp)


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

    def __init__(
        self, detect_every: int, detect: Callable[[np.ndarray], Box | None] = detect_face
    ) -> None:
        if detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        self.detect_every, self.detect, self.box, self.i = detect_every, detect, None, 0
        self.n_detected = self.n_held = 0

    def update(self, frame: np.ndarray) -> Box | None:
        due = self.box is None or self.i % self.detect_every == 0
        self.i += 1
        found = self.detect(frame) if due else None
        if found is not None:
            self.box = found
            self.n_detected += 1
        elif self.box is not None:
            self.n_held += 1
        return self.box


def track_faces(
    frames: Iterable[np.ndarray], *, detect_every: int = 1, detector: FaceDetector = HAAR
) -> FaceTrack:
    """Detect-and-hold face boxes for a frame sequence (see module docstring)."""
    tracker = _Tracker(detect_every, detector.detect)
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


def _crop_one(
    frame: np.ndarray, box: Box, kind: Kind, stats: dict[str, int], detector: FaceDetector = HAAR
) -> np.ndarray:
    if kind == "tzirakis":
        return square_crop(frame, box)
    eyes = locate_eyes(frame, box, fractions=detector.eye_fractions)
    stats[f"eyes_{eyes.method}"] += 1
    return zhang_crop(frame, eyes) if kind == "zhang" else aligned_crop(frame, eyes)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")


def _crops(
    frames: Iterator[np.ndarray], kind: Kind, detect_every: int, detector: FaceDetector = HAAR
) -> tuple[list[np.ndarray], Box | None, int, dict[str, int]]:
    """Crops of frames after the first detection; returns (crops, first box, n_leading, stats)."""
    tracker = _Tracker(detect_every, detector.detect)
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
        crops.append(_crop_one(frame, box, kind, stats, detector))
    stats.update(n_detected=tracker.n_detected, n_held=tracker.n_held, n_backfilled=leading)
    return crops, first, leading, stats


def _clip_crops(
    read: Callable[[int | None], Iterable[np.ndarray]], kind: Kind, detect_every: int
) -> tuple[list[np.ndarray] | None, dict[str, int]]:
    """Crops of a whole clip; ``read(n)`` yields its first n frames (all when None), afresh on
    every call. None (with the stats) when no detector found a face and ``kind`` has no
    fallback; ``aminbeidokhti`` tries dlib, then Haar, then centred squares."""
    detectors = (DLIB_HOG, HAAR) if kind == "aminbeidokhti" else (HAAR,)
    stats: dict[str, int] = {}
    for detector in detectors:
        crops, first, leading, stats = _crops(iter(read(None)), kind, detect_every, detector)
        if first is not None:
            if leading:  # re-read the frames before the first detection instead of buffering
                head = [_crop_one(f, first, kind, stats, detector) for f in read(leading)]
                crops = head + crops
            if kind == "aminbeidokhti":
                stats.update(
                    detector_dlib=int(detector is DLIB_HOG),
                    detector_haar=int(detector is HAAR),
                    no_face=0,
                )
            return crops, stats
    if kind != "aminbeidokhti":
        return None, stats
    stats.update(detector_dlib=0, detector_haar=0, no_face=1)
    return [centre_square(f) for f in read(None)], stats


def face_clip(
    frames_rgb: Sequence[np.ndarray], *, kind: Kind = "zhang", detect_every: int = 1
) -> np.ndarray:
    """Per-frame face crops: (N, 150, 110, 3) for "zhang", (N, 96, 96, 3) for "tzirakis",
    (N, 256, 256, 3) for "aminbeidokhti" (never fails for lack of a face: see module docstring).
    """
    _check_kind(kind)
    crops, _ = _clip_crops(lambda n: frames_rgb[:n], kind, detect_every)
    if crops is None:
        raise EmoreproError(
            f"no face found in any of {len(frames_rgb)} frames (OpenCV Haar frontal-face "
            "cascade); pass frames that show an upright frontal face"
        )
    return np.stack(crops)


def video_face_crops(
    path: Path | str,
    *,
    kind: Kind = "zhang",
    fps_out: float | None = None,
    detect_every: int = 1,
) -> tuple[np.ndarray, dict[str, float]]:
    """Face crops of a video file and stats (frame counts, held/back-filled, eye method; for
    "aminbeidokhti" also ``detector_dlib``, ``detector_haar`` and ``no_face``, 0 or 1).

    ``fps_out`` keeps every round(fps / fps_out)-th frame (all frames when None or >= fps).
    """
    _check_kind(kind)
    path = Path(path)
    info = probe_video(path)
    step = 1 if fps_out is None or fps_out >= info.fps else max(1, round(info.fps / fps_out))

    def read(n: int | None) -> Iterator[np.ndarray]:
        return iter_video_frames(path, step=step, max_frames=n)

    crops, stats = _clip_crops(read, kind, detect_every)
    if crops is None:
        raise CorruptInputError(
            path,
            f"no face found in any of {stats['n_frames']} frames by the OpenCV Haar "
            "frontal-face detector",
            fix="check that the video shows an upright frontal face (rotate or re-crop it), "
            "or drop the clip from the corpus index",
        )
    out: dict[str, float] = {k: float(v) for k, v in stats.items()}
    out.update(fps=info.fps / step, step=float(step))
    return np.stack(crops), out
