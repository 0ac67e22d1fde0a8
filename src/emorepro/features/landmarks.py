"""Facial landmarks: face box, dlib shape predictor, Procrustes alignment.

Two sources of a :class:`LandmarkModel`:

* :meth:`LandmarkModel.load` - any dlib shape-predictor file (e.g. the iBUG 68-point model, which
  cannot be downloaded here); its path comes from the config.
* :func:`train_synthetic_model` - a small dlib shape predictor (ensemble of regression trees,
  Kazemi & Sullivan 2014) trained on faces rendered by
  :class:`~emorepro.synth.face.FaceRenderer`. Ground truth: :data:`SOURCE_POINTS`, 36 anatomical
  points annotated once by hand on the astronaut source face (face-box units), carried to the
  rendered frame by inverting the renderer's backward ``cv2.remap`` field with Newton's method.

Alignment (:func:`procrustes_align`) is ordinary Procrustes without reflection: the similarity
``y = s R x + t`` minimising ``|s R x + t - ref|_F``, so coordinates stay in reference units.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import dlib
import numpy as np
from scipy.ndimage import map_coordinates

from emorepro.errors import ConfigError, CorruptInputError

#: 36 hand-annotated points on the astronaut face, (name, u, v) in units of the Haar face box
#: side (origin at the box's top-left corner). "l"/"r" = image left/right.
SOURCE_POINTS: tuple[tuple[str, float, float], ...] = (
    ("jaw_l1", 0.075, 0.85),
    ("jaw_l2", 0.163, 1.01),
    ("jaw_l3", 0.30, 1.114),
    ("chin", 0.496, 1.20),
    ("jaw_r3", 0.725, 1.114),
    ("jaw_r2", 0.81, 1.01),
    ("jaw_r1", 0.925, 0.85),
    ("brow_l_out", 0.149, 0.238),
    ("brow_l_mid", 0.26, 0.23),
    ("brow_l_in", 0.389, 0.273),
    ("brow_r_in", 0.635, 0.285),
    ("brow_r_mid", 0.775, 0.265),
    ("brow_r_out", 0.892, 0.29),
    ("eye_l_out", 0.161, 0.358),
    ("eye_l_top", 0.26, 0.323),
    ("eye_l_in", 0.356, 0.372),
    ("eye_l_bot", 0.266, 0.401),
    ("eye_r_in", 0.623, 0.398),
    ("eye_r_top", 0.74, 0.349),
    ("eye_r_out", 0.857, 0.378),
    ("eye_r_bot", 0.74, 0.419),
    ("nose_bridge", 0.49, 0.42),
    ("nose_mid", 0.485, 0.53),
    ("nose_tip", 0.474, 0.632),
    ("nostril_l", 0.41, 0.667),
    ("nostril_r", 0.58, 0.667),
    ("mouth_l", 0.281, 0.772),
    ("lip_ul", 0.39, 0.775),
    ("lip_uc", 0.498, 0.77),
    ("lip_ur", 0.60, 0.775),
    ("mouth_r", 0.702, 0.784),
    ("lip_lr", 0.60, 0.88),
    ("lip_lc", 0.49, 0.90),
    ("lip_ll", 0.39, 0.88),
    ("lip_ui", 0.498, 0.80),
    ("lip_li", 0.498, 0.856),
)
POINT_NAMES = tuple(p[0] for p in SOURCE_POINTS)


def _idx(*names: str) -> tuple[int, ...]:
    return tuple(POINT_NAMES.index(n) for n in names)


#: Landmark groups of the synthetic 36-point scheme and of the iBUG 68-point scheme (0-based).
SYNTH_GROUPS: dict[str, tuple[int, ...]] = {
    "left_eye": _idx("eye_l_out", "eye_l_top", "eye_l_in", "eye_l_bot"),
    "right_eye": _idx("eye_r_in", "eye_r_top", "eye_r_out", "eye_r_bot"),
    "left_brow": _idx("brow_l_out", "brow_l_mid", "brow_l_in"),
    "right_brow": _idx("brow_r_in", "brow_r_mid", "brow_r_out"),
    "mouth": tuple(range(POINT_NAMES.index("mouth_l"), len(POINT_NAMES))),
}
IBUG68_GROUPS: dict[str, tuple[int, ...]] = {
    "left_eye": tuple(range(36, 42)),
    "right_eye": tuple(range(42, 48)),
    "left_brow": tuple(range(17, 22)),
    "right_brow": tuple(range(22, 27)),
    "mouth": tuple(range(48, 68)),
}
_GROUP_KEYS = ("left_eye", "right_eye", "left_brow", "right_brow", "mouth")

_HAAR = "haarcascade_frontalface_default.xml"
_DETECT_MAX_SIDE = 320  # frames are downscaled to this longest side before Haar detection


# ----------------------------------------------------------------------------------------------
# Procrustes


def procrustes_align(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``points`` (K, 2) mapped by the similarity ``s R x + t`` closest to ``reference``.

    Ordinary Procrustes (Umeyama): R = U diag(1, det(U V^T)) V^T from the SVD of
    ``ref_c^T x_c`` (no reflection), s = trace(S D) / |x_c|^2, t = mean(ref) - s R mean(x).
    """
    x = np.asarray(points, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2 or x.shape != ref.shape:
        raise ValueError(
            f"points {x.shape} and reference {ref.shape} must both be (K, 2) with the same K"
        )
    if x.shape[0] < 2 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(ref))):
        raise ValueError("procrustes_align needs >= 2 finite points")
    s, rot, t = similarity_transform(x, ref)
    return s * x @ rot.T + t


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(s, R, t) minimising ``|s R src_i + t - dst_i|^2`` over scale, rotation, translation."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    xs, xd = src - mu_s, dst - mu_d
    var = float((xs**2).sum())
    if var <= 0.0:
        raise ValueError("procrustes_align: all points coincide (zero spread)")
    u, sig, vt = np.linalg.svd(xd.T @ xs)
    d = np.array([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ np.diag(d) @ vt
    s = float((sig * d).sum() / var)
    return s, rot, mu_d - s * rot @ mu_s


# ----------------------------------------------------------------------------------------------
# Face box


@cache
def _haar() -> cv2.CascadeClassifier:
    casc = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / _HAAR))
    if casc.empty():
        raise ConfigError(f"OpenCV Haar cascade {_HAAR} could not be loaded; reinstall opencv")
    return casc


def detect_face_box(
    frame_rgb: np.ndarray, *, near: tuple[int, int, int, int] | None = None
) -> tuple[int, int, int, int] | None:
    """Largest Haar frontal-face box (x, y, w, h) in frame pixels, or None.

    The frame is downscaled so its longest side is at most 320 px before detection. With
    ``near`` (a previous box), only the box grown by 50 % per side is searched, for faces of
    0.75-1.33 times its size (tracking); None there falls back to the whole frame.
    """
    gray = _gray(frame_rgb)
    if near is not None:
        x, y, w, h = near
        x0, y0 = max(0, x - w // 2), max(0, y - h // 2)
        roi = gray[y0 : y + h + h // 2, x0 : x + w + w // 2]
        found = _haar_largest(roi, (0.75 * w, 1.33 * w)) if roi.size else None
        if found is not None:
            return (found[0] + x0, found[1] + y0, found[2], found[3])
    return _haar_largest(gray, None)


def _haar_largest(
    gray: np.ndarray, sizes: tuple[float, float] | None
) -> tuple[int, int, int, int] | None:
    scale = min(1.0, _DETECT_MAX_SIDE / max(gray.shape))
    small = gray
    if scale < 1.0:
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if sizes is None:
        lo, hi = max(20, round(0.12 * min(small.shape))), max(small.shape)
    else:
        lo, hi = max(20, round(sizes[0] * scale)), max(21, round(sizes[1] * scale))
    if lo > min(small.shape):
        return None
    det = _haar().detectMultiScale(
        small, scaleFactor=1.1, minNeighbors=4, minSize=(lo, lo), maxSize=(hi, hi)
    )
    if len(det) == 0:
        return None
    x, y, w, h = max((tuple(int(v) for v in d) for d in det), key=lambda d: d[2] * d[3])
    return (round(x / scale), round(y / scale), round(w / scale), round(h / scale))


def _gray(frame: np.ndarray) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(a, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    if a.ndim == 2:
        return np.ascontiguousarray(a, dtype=np.uint8)
    raise ValueError(f"expected an RGB (H, W, 3) or grey (H, W) frame, got shape {a.shape}")


# ----------------------------------------------------------------------------------------------
# Model


@dataclass
class LandmarkModel:
    """A dlib shape predictor plus the facts needed to use its points.

    ``reference`` (K, 2): canonical shape (Procrustes target, face-box-like units, y down);
    ``groups``: index tuples for left/right eye, brows and mouth (geometric descriptor, crops).
    """

    predictor: dlib.shape_predictor
    reference: np.ndarray
    groups: dict[str, tuple[int, ...]]
    source: str = "<memory>"
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        return int(self.reference.shape[0])

    @classmethod
    def load(
        cls,
        path: Path | str,
        *,
        sha256: str | None = None,
        reference: np.ndarray | None = None,
        groups: dict[str, tuple[int, ...]] | None = None,
    ) -> LandmarkModel:
        """Load a dlib shape-predictor ``.dat`` (optionally checking its SHA-256).

        Reference and groups come, in order, from the arguments, a ``<path>.json`` sidecar
        (written by :func:`train_synthetic_model`), or - for a 68-point model - the iBUG groups
        and the predictor's own output on a uniform grey image in a unit box (its near-mean
        shape; fixed for the file, so identical for every recording).
        """
        path = Path(path)
        if not path.is_file() or path.stat().st_size == 0:
            raise CorruptInputError(
                path,
                "landmark model file is missing or empty",
                fix="set the landmark model path in the config to a dlib shape_predictor .dat, "
                "or leave it empty to train the synthetic model",
            )
        if sha256 is not None:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != sha256.lower():
                raise CorruptInputError(
                    path,
                    f"SHA-256 {digest} does not match the configured {sha256}",
                    fix="re-download the model or update the checksum in the config",
                )
        try:
            predictor = dlib.shape_predictor(str(path))
        except RuntimeError as err:
            raise CorruptInputError(
                path, f"not a dlib shape predictor ({err})", fix="point to a shape_predictor .dat"
            ) from err
        meta: dict[str, object] = {}
        sidecar = path.with_name(path.name + ".json")
        if sidecar.is_file():
            meta = json.loads(sidecar.read_text())
            if reference is None and "reference" in meta:
                reference = np.asarray(meta["reference"], dtype=np.float64)
            if groups is None and "groups" in meta:
                groups = {k: tuple(v) for k, v in dict(meta["groups"]).items()}  # type: ignore[arg-type]
        if reference is None:
            reference = _grey_shape(predictor)
        reference = np.asarray(reference, dtype=np.float64)
        k = reference.shape[0]
        if groups is None:
            if k != 68:
                raise ConfigError(
                    f"{path}: {k}-point landmark model without landmark groups; pass groups= "
                    "(left_eye, right_eye, left_brow, right_brow, mouth index lists) or use an "
                    "iBUG 68-point model"
                )
            groups = IBUG68_GROUPS
        missing = [g for g in _GROUP_KEYS if g not in groups]
        if missing or any(max(groups[g]) >= k for g in _GROUP_KEYS):
            raise ConfigError(f"{path}: landmark groups must name {_GROUP_KEYS} with indices < {k}")
        return cls(predictor, reference, dict(groups), source=str(path), meta=meta)


#: config value of ``features.video.landmark_model`` that names dlib's iBUG 68-point model
IBUG68 = "ibug68"
IBUG68_FILE = "shape_predictor_68_face_landmarks.dat"


def ibug68_model_path() -> Path:
    """dlib's iBUG 68-point shape predictor as the ``face_recognition_models`` package ships it
    (the optional extra ``emorepro[landmarks68]``), located without importing the package:
    its ``__init__`` imports ``pkg_resources``, which current setuptools no longer provides."""
    from importlib.util import find_spec

    spec = find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"features.video.landmark_model: {IBUG68!r} needs the face_recognition_models "
            "package; pip install 'emorepro[landmarks68]' (or give the path of a "
            f"{IBUG68_FILE})"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / IBUG68_FILE
    if not path.is_file():
        raise CorruptInputError(
            path,
            "the 68-point model is missing from face_recognition_models",
            fix="reinstall face_recognition_models",
        )
    return path


def resolve_model_setting(value: str | None) -> str | None:
    """The file a ``features.video.landmark_model`` value names: ``ibug68`` -> the packaged
    iBUG 68-point model, a path -> itself, ``None`` -> ``None`` (train the synthetic one)."""
    if value == IBUG68:
        return str(ibug68_model_path())
    return value


def _grey_shape(predictor: dlib.shape_predictor) -> np.ndarray:
    """Predictor output on a uniform grey image in the box [0, 100]^2, divided by 100."""
    img = np.full((100, 100), 128, np.uint8)
    shape = predictor(img, dlib.rectangle(0, 0, 99, 99))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64) / 100.0


def detect_landmarks(
    frame_rgb: np.ndarray, model: LandmarkModel, box: tuple[int, int, int, int] | None = None
) -> np.ndarray | None:
    """(K, 2) float landmark coordinates (x, y) in frame pixels, or None when no face is found.

    ``box`` (x, y, w, h) skips detection; otherwise :func:`detect_face_box` is used.
    """
    gray = _gray(frame_rgb)
    if box is None:
        box = detect_face_box(gray)
        if box is None:
            return None
    x, y, w, h = (round(float(v)) for v in box)
    if w <= 1 or h <= 1:
        raise ValueError(f"face box must have positive size, got {box}")
    shape = model.predictor(gray, dlib.rectangle(x, y, x + w - 1, y + h - 1))
    pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    if pts.shape[0] != model.n_points:
        raise ConfigError(
            f"{model.source}: predictor gave {pts.shape[0]} points but its reference has "
            f"{model.n_points}; fix the reference/groups given to LandmarkModel.load"
        )
    return pts


# ----------------------------------------------------------------------------------------------
# Ground truth on synthetic renders


def _source_patch_points(renderer: object) -> np.ndarray:
    """SOURCE_POINTS in the renderer's patch pixels (the exact cv2.resize centre mapping)."""
    from emorepro.synth import face as face_mod

    sx, sy, sside = face_mod._SRC_BOX
    mx, mt, mb = face_mod._MARGIN_X, face_mod._MARGIN_TOP, face_mod._MARGIN_BOTTOM
    x0 = sx - mx * sside + 64
    y0 = sy - mt * sside + 64
    x1 = x0 + sside * (1.0 + 2 * mx)
    y1 = y0 + sside * (1.0 + mt + mb)
    cw, ch = round(x1) - round(x0), round(y1) - round(y0)
    ph, pw = renderer._patch.shape[:2]  # type: ignore[attr-defined]
    uv = np.array([(u, v) for _, u, v in SOURCE_POINTS])
    src_x = sx + uv[:, 0] * sside + 64 - round(x0)
    src_y = sy + uv[:, 1] * sside + 64 - round(y0)
    return np.stack([(src_x + 0.5) * pw / cw - 0.5, (src_y + 0.5) * ph / ch - 0.5], axis=1)


def rendered_landmarks(
    renderer: object, *, arousal: float, valence: float, jitter: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Ground-truth (36, 2) frame coordinates of :data:`SOURCE_POINTS` in a FaceRenderer frame.

    ``render`` shows ``patch(map(p))`` with ``map(p) = g(p) - a A(p) - v V(p) - j``; a source
    point q therefore appears where ``map(p) = q``, solved by Newton's method on the bilinearly
    interpolated map and its finite-difference Jacobian. Uses the renderer's field arrays
    (``_gx, _gy, _ax, _ay, _vx, _vy``, ``_x0, _y0``) read-only; ``jitter`` = the (jx, jy) that
    ``render`` drew (0 when it was called without ``rng``).
    """
    r = renderer
    a = float(np.clip(arousal, -1.0, 1.0))
    v = float(np.clip(valence, -1.0, 1.0))
    mx = (r._gx - a * r._ax - v * r._vx - jitter[0]).astype(np.float64)  # type: ignore[attr-defined]
    my = (r._gy - a * r._ay - v * r._vy - jitter[1]).astype(np.float64)  # type: ignore[attr-defined]
    gxy = [np.gradient(m) for m in (mx, my)]  # each: (d/drow, d/dcol)
    q = _source_patch_points(r)
    p = q.copy()
    for _ in range(30):
        coords = np.stack([p[:, 1], p[:, 0]])  # (row, col)
        fx = map_coordinates(mx, coords, order=1, mode="nearest") - q[:, 0]
        fy = map_coordinates(my, coords, order=1, mode="nearest") - q[:, 1]
        j = np.empty((len(p), 2, 2))
        j[:, 0, 0] = map_coordinates(gxy[0][1], coords, order=1, mode="nearest")
        j[:, 0, 1] = map_coordinates(gxy[0][0], coords, order=1, mode="nearest")
        j[:, 1, 0] = map_coordinates(gxy[1][1], coords, order=1, mode="nearest")
        j[:, 1, 1] = map_coordinates(gxy[1][0], coords, order=1, mode="nearest")
        step = np.linalg.solve(j, np.stack([fx, fy], axis=1)[:, :, None])[:, :, 0]
        p -= step
        if np.max(np.abs(step)) < 1e-4:
            break
    return p + np.array([r._x0, r._y0], dtype=np.float64)  # type: ignore[attr-defined]


def synthetic_reference() -> np.ndarray:
    """The annotated source shape (36, 2) in face-box units: the synthetic model's reference."""
    return np.array([(u, v) for _, u, v in SOURCE_POINTS], dtype=np.float64)


def render_training_face(
    rng: np.random.Generator, *, height: int
) -> tuple[np.ndarray, tuple[int, int, int, int], np.ndarray, tuple[float, float]]:
    """One random synthetic face: (grey uint8 frame, jittered face box, (36, 2) truth, (a, v))."""
    from emorepro.synth.affect import Speaker
    from emorepro.synth.face import FaceRenderer

    seed = int(rng.integers(0, 2**31 - 1))
    width = round(height * 4 / 3)
    renderer = FaceRenderer(Speaker("lm", "F", 30, 200.0, 0.0, 0.0, seed), size=(height, width))
    a, v = (float(x) for x in rng.uniform(-1.0, 1.0, size=2))
    frame = renderer.render(arousal=a, valence=v)
    gray = _gray(frame).astype(np.float32) + rng.normal(0.0, 2.0, size=frame.shape[:2])
    gray = np.clip(np.round(gray), 0, 255).astype(np.uint8)
    truth = rendered_landmarks(renderer, arousal=a, valence=v)
    bx, by, bw, _ = renderer.face_box()
    side = bw * float(np.exp(rng.normal(0.0, 0.05)))
    cx = bx + bw / 2 + rng.normal(0.0, 0.03) * bw
    cy = by + bw / 2 + rng.normal(0.0, 0.03) * bw
    box = (round(cx - side / 2), round(cy - side / 2), round(side), round(side))
    return gray, box, truth, (a, v)


def train_synthetic_model(
    out_path: Path | str,
    *,
    seed: int = 0,
    n_faces: int = 200,
    heights: tuple[int, int] = (96, 200),
    cascade_depth: int = 10,
    tree_depth: int = 4,
    oversampling: int = 10,
) -> Path:
    """Train a dlib shape predictor on ``n_faces`` random renders; write ``out_path`` + sidecar.

    Deterministic for ``seed`` (single-threaded dlib, seeded renders). Frame heights are drawn
    uniformly from ``heights`` (width = 4/3 height); boxes are the renderer's face box with
    3 % centre and 5 % log-size jitter, mimicking Haar detections. The ``.json`` sidecar holds
    the reference shape, landmark groups, point names and training settings.
    """
    if n_faces < 10:
        raise ValueError(f"n_faces must be >= 10, got {n_faces}")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images, objects = [], []
    for _ in range(n_faces):
        gray, box, truth, _ = render_training_face(
            rng, height=int(rng.integers(heights[0], heights[1] + 1))
        )
        x, y, w, h = box
        rect = dlib.rectangle(x, y, x + w - 1, y + h - 1)
        parts = [dlib.point(round(px), round(py)) for px, py in truth]
        images.append(gray)
        objects.append([dlib.full_object_detection(rect, parts)])
    opts = dlib.shape_predictor_training_options()
    opts.cascade_depth = cascade_depth
    opts.tree_depth = tree_depth
    opts.oversampling_amount = oversampling
    opts.nu = 0.1
    opts.feature_pool_size = 400
    opts.num_test_splits = 20
    opts.num_threads = 1
    opts.random_seed = str(seed)
    opts.be_verbose = False
    predictor = dlib.train_shape_predictor(images, objects, opts)
    predictor.save(str(out_path))
    sidecar = {
        "kind": "emorepro synthetic shape predictor",
        "points": list(POINT_NAMES),
        "reference": synthetic_reference().tolist(),
        "groups": {k: list(v) for k, v in SYNTH_GROUPS.items()},
        "train": {
            "seed": seed,
            "n_faces": n_faces,
            "heights": list(heights),
            "cascade_depth": cascade_depth,
            "tree_depth": tree_depth,
            "oversampling": oversampling,
        },
    }
    out_path.with_name(out_path.name + ".json").write_text(json.dumps(sidecar, indent=1))
    return out_path
