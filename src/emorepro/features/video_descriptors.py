"""AVEC 2016-style video descriptors: geometric (landmarks) and appearance (LBP-TOP) functionals.

| item | AVEC 2016 (papers 003/004) | emorepro |
|---|---|---|
| landmarks | 49, Supervised Descent Method | dlib ERT predictor: 36 (synthetic), 68 (iBUG) |
| geometric / frame | 316 (coords, deltas, group distances + angles) | 4K + 2 (n_LE + n_RE + n_M): |
| | | 192 for K = 36, 356 for K = 68 |
| appearance / frame | LGBP-TOP (Gabor, then LBP-TOP) | LBP-TOP, uniform LBP P=8 R=1 (59 bins), |
| | | XY/XT/YT x 4x4 blocks = 2832 raw; Gabor opt. |
| PCA | to 84 (fit data not stated) | ``fit_pca`` on training recordings, 84 |
| interpolation | piecewise cubic Hermite | PCHIP to the 40 ms grid over no-face frames; |
| | | held constant before first / after last face |
| window | 8 s, every 40 ms, mean + std | 8 s centred on k * 40 ms, truncated at the |
| | | edges; mean + population std (168 / 632) |

Time convention (as :mod:`emorepro.features.opensmile_features`): label frame k sits at
``t_k = k * hop_s`` and its window covers grid samples with ``t in [t_k - w/2, t_k + w/2)``.
Video frame i sits at ``i / fps``.

:func:`video_descriptors` returns, per recording, the windowed geometric functionals and the
*raw* appearance histograms on the label grid; PCA needs the training recordings, so the later
rule calls :func:`fit_pca` on their ``app_raw_*`` rows and :func:`appearance_functionals` on
every recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator
from skimage.feature import local_binary_pattern

from emorepro.errors import CorruptInputError
from emorepro.features.landmarks import (
    LandmarkModel,
    detect_face_box,
    detect_landmarks,
    procrustes_align,
    similarity_transform,
)
from emorepro.media import iter_video_frames, probe_video

LBP_P, LBP_R = 8, 1
N_LBP_BINS = LBP_P * (LBP_P - 1) + 3  # 59 bins of skimage "nri_uniform" (58 uniform + 1 other)
PLANES = ("xy", "xt", "yt")
AVEC_PCA_DIM = 84
MAX_BOX_GAP = 12
"""Frames a missed face detection may reuse the previous face box."""
_LABEL_OVERRUN_S = 1.0  # label grid may end this much after the video before it is an error


# ----------------------------------------------------------------------------------------------
# Geometric descriptor


def _polar_groups(groups: dict[str, tuple[int, ...]]) -> list[tuple[int, ...]]:
    return [
        tuple(groups["left_eye"]) + tuple(groups["left_brow"]),
        tuple(groups["right_eye"]) + tuple(groups["right_brow"]),
        tuple(groups["mouth"]),
    ]


def geometric_feature_names(model: LandmarkModel) -> list[str]:
    """Names of :func:`geometric_features` columns: ``4K + 2 (n_LE + n_RE + n_M)`` of them."""
    k = model.n_points
    names = [f"d{a}{i}" for i in range(k) for a in "xy"]
    names += [f"v{a}{i}" for i in range(k) for a in "xy"]
    for g, idx in zip(("le", "re", "m"), _polar_groups(model.groups), strict=True):
        names += [f"{g}_r{i}" for i in idx] + [f"{g}_ang{i}" for i in idx]
    return names


def geometric_features(
    points: np.ndarray,
    reference: np.ndarray,
    groups: dict[str, tuple[int, ...]],
    prev_points: np.ndarray | None = None,
) -> np.ndarray:
    """Per-frame geometric descriptor of (K, 2) landmarks, invariant to similarity transforms.

    With ``a = procrustes_align(points, reference)``:
    ``[a - reference (2K), a - a_prev (2K; 0 without prev_points), r_i, phi_i (each group)]``
    for the groups left eye+brow, right eye+brow and mouth, where ``r_i = |a_i - c_g|`` and
    ``phi_i = atan2(y_i - c_y, |x_i - c_x|)`` (elevation seen from the group centroid c_g;
    ``|dx|`` keeps it continuous, free of the +-pi wrap).
    """
    a = procrustes_align(points, reference)
    ref = np.asarray(reference, dtype=np.float64)
    vel = np.zeros_like(a)
    if prev_points is not None:
        vel = a - procrustes_align(prev_points, ref)
    parts = [(a - ref).reshape(-1), vel.reshape(-1)]
    for idx in _polar_groups(groups):
        g = a[list(idx)]
        d = g - g.mean(axis=0)
        parts.append(np.hypot(d[:, 0], d[:, 1]))
        parts.append(np.arctan2(d[:, 1], np.abs(d[:, 0])))
    return np.concatenate(parts)


# ----------------------------------------------------------------------------------------------
# Appearance: aligned crops and LBP-TOP


def crop_reference(reference: np.ndarray, size: int) -> np.ndarray:
    """Reference shape mapped into a ``size`` x ``size`` crop (its bounding square + 10 %)."""
    ref = np.asarray(reference, dtype=np.float64)
    lo, hi = ref.min(axis=0), ref.max(axis=0)
    side = float((hi - lo).max()) * 1.1
    centre = (lo + hi) / 2.0
    return (ref - centre) / side * size + size / 2.0


def aligned_face(
    frame_gray: np.ndarray, points: np.ndarray, crop_ref: np.ndarray, size: int
) -> np.ndarray:
    """uint8 (size, size) crop warped by the similarity that maps ``points`` onto ``crop_ref``."""
    s, rot, t = similarity_transform(np.asarray(points, np.float64), crop_ref)
    m = np.hstack([s * rot, t[:, None]])
    return cv2.warpAffine(
        frame_gray, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def lbp_codes(image: np.ndarray) -> np.ndarray:
    """skimage uniform LBP codes (P=8, R=1, ``nri_uniform``: 0..58) of a 2-D uint8 image."""
    return local_binary_pattern(np.ascontiguousarray(image, np.uint8), LBP_P, LBP_R, "nri_uniform")


def lbp_top_histograms(volume: np.ndarray, grid: tuple[int, int] = (4, 4)) -> np.ndarray:
    """LBP-TOP histograms of the centre frame of a (T, H, W) uint8 volume (T odd >= 3).

    XY codes come from the centre frame, XT/YT codes from the planes through it (neighbours at
    t +- 1, x/y +- 1); pixels on the 1-pixel spatial border are dropped. The interior is split
    into ``grid`` blocks (``np.array_split``); each (block, plane) histogram has 59 bins and sums
    to 1. Output order: block (row-major), plane (xy, xt, yt), bin.
    """
    vol = np.asarray(volume)
    if vol.ndim != 3 or vol.shape[0] < 3 or vol.shape[0] % 2 == 0:
        raise ValueError(f"volume must be (T, H, W) with odd T >= 3, got shape {vol.shape}")
    t_len, h, w = vol.shape
    gy, gx = grid
    if h - 2 < gy or w - 2 < gx:
        raise ValueError(f"volume {h}x{w} is too small for a {gy}x{gx} block grid")
    c = t_len // 2
    vol = vol.astype(np.uint8, copy=False)
    xy = lbp_codes(vol[c])
    # XT: stack the (T, W) planes of all rows; rows t = c of each plane have both neighbours
    # inside their own plane, so stacking does not mix planes for the rows we keep.
    xt = lbp_codes(vol.transpose(1, 0, 2).reshape(h * t_len, w)).reshape(h, t_len, w)[:, c, :]
    yt = lbp_codes(vol.transpose(2, 0, 1).reshape(w * t_len, h)).reshape(w, t_len, h)[:, c, :].T
    planes = [p[1:-1, 1:-1].astype(np.int64) for p in (xy, xt, yt)]
    rows = np.array_split(np.arange(h - 2), gy)
    cols = np.array_split(np.arange(w - 2), gx)
    out = np.empty((gy, gx, 3, N_LBP_BINS))
    for i, r in enumerate(rows):
        for j, cc in enumerate(cols):
            for k, codes in enumerate(planes):
                block = codes[r[0] : r[-1] + 1, cc[0] : cc[-1] + 1]
                out[i, j, k] = np.bincount(block.ravel(), minlength=N_LBP_BINS) / block.size
    return out.reshape(-1)


def gabor_magnitudes(image: np.ndarray, n_orientations: int) -> list[np.ndarray]:
    """Gabor magnitude images (uint8) at ``n_orientations`` angles, one scale (lambda = 8 px).

    Magnitude = sqrt(even^2 + odd^2) of the image filtered by a 15x15 kernel pair
    (sigma 3, gamma 0.5), divided by the even kernel's L1 norm so that it stays in [0, 255].
    """
    img = image.astype(np.float32)
    out = []
    for o in range(n_orientations):
        theta = np.pi * o / n_orientations
        even = cv2.getGaborKernel((15, 15), 3.0, theta, 8.0, 0.5, 0.0)
        odd = cv2.getGaborKernel((15, 15), 3.0, theta, 8.0, 0.5, np.pi / 2)
        re = cv2.filter2D(img, cv2.CV_32F, even)
        im = cv2.filter2D(img, cv2.CV_32F, odd)
        mag = np.sqrt(re**2 + im**2) / float(np.abs(even).sum())
        out.append(np.clip(np.round(mag * 4.0), 0, 255).astype(np.uint8))
    return out


def appearance_feature_names(
    grid: tuple[int, int] = (4, 4), gabor_orientations: int = 0
) -> list[str]:
    """Names of the raw appearance histogram bins (``g{o}_`` prefix per Gabor orientation)."""
    base = [
        f"b{i}{j}_{p}_{b}"
        for i in range(grid[0])
        for j in range(grid[1])
        for p in PLANES
        for b in range(N_LBP_BINS)
    ]
    if gabor_orientations == 0:
        return base
    return [f"g{o}_{n}" for o in range(gabor_orientations) for n in base]


# ----------------------------------------------------------------------------------------------
# PCA (fitted on training recordings only)


@dataclass(frozen=True)
class PCAModel:
    """``transform(X) = (X - mean) @ components.T``; rows of ``components`` are unit vectors."""

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    n_fit: int

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Project (N, D) rows onto the components -> (N, k); does not change the model."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.mean.size:
            raise ValueError(f"expected (N, {self.mean.size}) rows, got shape {x.shape}")
        return (x - self.mean) @ self.components.T

    def save(self, path: Path | str) -> None:
        """Write the model to an ``.npz`` file."""
        np.savez(
            Path(path),
            mean=self.mean,
            components=self.components,
            explained_variance=self.explained_variance,
            n_fit=np.int64(self.n_fit),
        )

    @classmethod
    def load(cls, path: Path | str) -> PCAModel:
        """Read a model written by :meth:`save`."""
        try:
            with np.load(Path(path)) as z:
                return cls(z["mean"], z["components"], z["explained_variance"], int(z["n_fit"]))
        except (OSError, KeyError, ValueError) as err:
            raise CorruptInputError(
                path, f"not a PCA model file ({err})", fix="re-run the PCA fitting step"
            ) from err


def fit_pca(train_frames: np.ndarray, n_components: int = AVEC_PCA_DIM) -> PCAModel:
    """PCA of (N, D) training rows by eigen-decomposition of the covariance (ddof = 1).

    Components are sorted by decreasing variance; each one's sign makes its largest-|.|
    coefficient positive (deterministic). NaN rows are an error (interpolate first).
    """
    x = np.asarray(train_frames, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"fit_pca needs an (N >= 2, D) array of training rows, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("fit_pca: training rows hold NaN/inf; interpolate missing frames first")
    if not 1 <= n_components <= min(x.shape[0] - 1, x.shape[1]):
        raise ValueError(
            f"n_components={n_components} must be in [1, min(N - 1, D)] = "
            f"[1, {min(x.shape[0] - 1, x.shape[1])}] for {x.shape[0]} training rows of {x.shape[1]}"
        )
    mean = x.mean(axis=0)
    xc = x - mean
    if x.shape[1] <= x.shape[0]:
        evals, evecs = np.linalg.eigh(xc.T @ xc / (x.shape[0] - 1))
        order = np.argsort(evals)[::-1][:n_components]
        comps, var = evecs[:, order].T, evals[order]
    else:
        _, sv, vt = np.linalg.svd(xc, full_matrices=False)
        comps, var = vt[:n_components], sv[:n_components] ** 2 / (x.shape[0] - 1)
    signs = np.sign(comps[np.arange(len(comps)), np.argmax(np.abs(comps), axis=1)])
    comps = comps * signs[:, None]
    return PCAModel(mean, comps, np.maximum(var, 0.0), int(x.shape[0]))


# ----------------------------------------------------------------------------------------------
# Time grid: interpolation and sliding functionals


def interpolate_to_grid(
    per_frame: np.ndarray, times_s: np.ndarray, *, n_frames_out: int, hop_s: float = 0.04
) -> np.ndarray:
    """Rows of (N, D) ``per_frame`` (NaN rows = no face) resampled at ``t_k = k * hop_s``.

    PCHIP (``scipy.interpolate.PchipInterpolator``) through the valid rows; before the first
    and after the last valid row the nearest valid row is held. A single valid row is held
    everywhere. Raises ``ValueError`` when no row is valid.
    """
    x = np.asarray(per_frame, dtype=np.float64)
    t = np.asarray(times_s, dtype=np.float64)
    if x.ndim != 2 or t.shape != (x.shape[0],):
        raise ValueError(f"per_frame {x.shape} must be (N, D) with times_s of shape (N,)")
    if n_frames_out < 1 or hop_s <= 0:
        raise ValueError(f"need n_frames_out >= 1 and hop_s > 0, got {n_frames_out}, {hop_s}")
    if np.any(np.diff(t) <= 0):
        raise ValueError("times_s must be strictly increasing")
    valid = np.all(np.isfinite(x), axis=1)
    if not valid.any():
        raise ValueError("no frame has finite features (no face in any frame)")
    grid = np.arange(n_frames_out) * hop_s
    tv, xv = t[valid], x[valid]
    if tv.size == 1:
        return np.repeat(xv, n_frames_out, axis=0)
    out = PchipInterpolator(tv, xv, axis=0, extrapolate=False)(np.clip(grid, tv[0], tv[-1]))
    return np.asarray(out)


def sliding_mean_std(grid_values: np.ndarray, *, window_s: float, hop_s: float) -> np.ndarray:
    """(n, 2D): mean then population std (ddof 0) over rows ``[k - h, k + h)``, h = w / 2 hop.

    Windows are truncated at the edges (fewer rows, never padding), i.e. pandas
    ``rolling(2h, center=True, min_periods=1)``.
    """
    x = np.asarray(grid_values, dtype=np.float64)
    half = round(window_s / 2 / hop_s)
    if half < 1 or abs(window_s / 2 / hop_s - half) > 1e-6:
        raise ValueError(f"window_s / 2 = {window_s / 2} must be a positive multiple of hop_s")
    n = x.shape[0]
    xc = x - x.mean(axis=0)  # centring keeps the running sums well-conditioned
    c1 = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(xc, axis=0)])
    c2 = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(xc**2, axis=0)])
    k = np.arange(n)
    lo, hi = np.maximum(k - half, 0), np.minimum(k + half, n)
    cnt = (hi - lo)[:, None].astype(np.float64)
    m = (c1[hi] - c1[lo]) / cnt
    var = np.maximum((c2[hi] - c2[lo]) / cnt - m**2, 0.0)
    return np.hstack([m + x.mean(axis=0), np.sqrt(var)])


def window_functionals(
    per_frame: np.ndarray,
    times_s: np.ndarray,
    *,
    window_s: float = 8.0,
    hop_s: float = 0.04,
    n_frames_out: int,
) -> np.ndarray:
    """(n_frames_out, 2D): :func:`interpolate_to_grid` then :func:`sliding_mean_std`."""
    grid = interpolate_to_grid(per_frame, times_s, n_frames_out=n_frames_out, hop_s=hop_s)
    return sliding_mean_std(grid, window_s=window_s, hop_s=hop_s)


# ----------------------------------------------------------------------------------------------
# One recording


def require_a_face(path: Path, shapes: Sequence[np.ndarray | None]) -> int:
    """Number of frames with landmarks; none at all -> ``CorruptInputError`` naming ``path``."""
    n_faces = sum(s is not None for s in shapes)
    if n_faces == 0:
        raise CorruptInputError(
            path,
            f"no face detected in any of its {len(shapes)} frames",
            fix="check the video shows a frontal face, or exclude the recording",
        )
    return n_faces


def _track_landmarks(
    path: Path, model: LandmarkModel, crop_ref: np.ndarray, size: int
) -> tuple[list[np.ndarray | None], list[np.ndarray | None]]:
    """Per decoded frame: landmarks (or None) and the aligned uint8 crop (or None)."""
    shapes: list[np.ndarray | None] = []
    crops: list[np.ndarray | None] = []
    last_box, gap = None, 0
    for frame in iter_video_frames(path):
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        box = detect_face_box(gray, near=last_box)
        if box is None and last_box is not None and gap < MAX_BOX_GAP:
            box, gap = last_box, gap + 1
        elif box is not None:
            last_box, gap = box, 0
        pts = None if box is None else detect_landmarks(gray, model, box=box)
        shapes.append(pts)
        crops.append(None if pts is None else aligned_face(gray, pts, crop_ref, size))
    return shapes, crops


def _appearance_rows(
    crops: list[np.ndarray | None], grid: tuple[int, int], t_radius: int, gabor: int
) -> np.ndarray:
    n_dim = grid[0] * grid[1] * 3 * N_LBP_BINS * max(1, gabor)
    out = np.full((len(crops), n_dim), np.nan, dtype=np.float32)
    chans: list[list[np.ndarray] | None] = [
        None if c is None else (gabor_magnitudes(c, gabor) if gabor else [c]) for c in crops
    ]
    for i, ch in enumerate(chans):
        if ch is None:
            continue
        neigh = []
        for d in range(-t_radius, t_radius + 1):
            j = min(max(i + d, 0), len(chans) - 1)
            neigh.append(chans[j] if chans[j] is not None else ch)  # missing -> centre frame
        rows = [lbp_top_histograms(np.stack([nb[o] for nb in neigh]), grid) for o in range(len(ch))]
        out[i] = np.concatenate(rows)
    return out


def video_descriptors(
    path: Path | str,
    *,
    landmark_model: LandmarkModel,
    n_label_frames: int,
    window_s: float = 8.0,
    hop_s: float = 0.04,
    crop_size: int = 64,
    grid: tuple[int, int] = (4, 4),
    t_radius: int = 1,
    gabor_orientations: int = 0,
) -> pd.DataFrame:
    """One row per label frame ``t_k = k * hop_s`` (index ``time_s``) of one video.

    Columns: ``geo_mean_*`` and ``geo_std_*`` (windowed functionals of
    :func:`geometric_features`), ``app_raw_*`` (LBP-TOP histograms of the aligned face,
    PCHIP-interpolated to the grid, not windowed: PCA comes first, see
    :func:`appearance_functionals`) and ``face`` (1.0 when the nearest video frame had a face).
    Raises ``CorruptInputError`` naming ``path`` when the video has no frames, no face in any
    frame, or is more than 1 s shorter than the label grid.
    """
    path = Path(path)
    if n_label_frames < 1:
        raise ValueError(f"n_label_frames must be >= 1, got {n_label_frames}")
    if t_radius < 1:
        raise ValueError(f"t_radius must be >= 1, got {t_radius}")
    info = probe_video(path)
    need_s = (n_label_frames - 1) * hop_s
    if need_s > info.duration_s + _LABEL_OVERRUN_S:
        raise CorruptInputError(
            path,
            f"video lasts {info.duration_s:.2f} s but the labels run to {need_s:.2f} s",
            fix="check that the video and the label file belong to the same recording",
        )
    crop_ref = crop_reference(landmark_model.reference, crop_size)
    shapes, crops = _track_landmarks(path, landmark_model, crop_ref, crop_size)
    require_a_face(path, shapes)
    ref, groups = landmark_model.reference, landmark_model.groups
    geo_names = geometric_feature_names(landmark_model)
    geo = np.full((len(shapes), len(geo_names)), np.nan)
    for i, pts in enumerate(shapes):
        if pts is not None:
            prev = shapes[i - 1] if i > 0 else None
            geo[i] = geometric_features(pts, ref, groups, prev)
    app = _appearance_rows(crops, grid, t_radius, gabor_orientations)
    times = np.arange(len(shapes)) / info.fps
    geo_f = window_functionals(
        geo, times, window_s=window_s, hop_s=hop_s, n_frames_out=n_label_frames
    )
    app_g = interpolate_to_grid(app, times, n_frames_out=n_label_frames, hop_s=hop_s)
    has_face = np.array([s is not None for s in shapes], dtype=np.float64)
    nearest = np.clip(np.round(np.arange(n_label_frames) * hop_s * info.fps), 0, len(shapes) - 1)
    app_names = appearance_feature_names(grid, gabor_orientations)
    d = len(geo_names)
    data = {f"geo_mean_{n}": geo_f[:, i] for i, n in enumerate(geo_names)}
    data |= {f"geo_std_{n}": geo_f[:, d + i] for i, n in enumerate(geo_names)}
    frame = pd.DataFrame(data)
    app_df = pd.DataFrame(app_g.astype(np.float32), columns=[f"app_raw_{n}" for n in app_names])
    out = pd.concat([frame, app_df], axis=1)
    out["face"] = has_face[nearest.astype(int)]
    out.index = pd.Index(np.round(np.arange(n_label_frames) * hop_s, 6), name="time_s")
    return out


def appearance_functionals(
    descriptors: pd.DataFrame, pca: PCAModel, *, window_s: float = 8.0, hop_s: float = 0.04
) -> pd.DataFrame:
    """``app_mean_pc*`` / ``app_std_pc*``: PCA of the ``app_raw_*`` rows, then 8 s mean/std."""
    raw = descriptors.filter(regex=r"^app_raw_").to_numpy(np.float64)
    if raw.shape[1] == 0:
        raise ValueError("descriptors have no app_raw_* columns (use video_descriptors output)")
    z = pca.transform(raw)
    f = sliding_mean_std(z, window_s=window_s, hop_s=hop_s)
    k = z.shape[1]
    cols = [f"app_mean_pc{i}" for i in range(k)] + [f"app_std_pc{i}" for i in range(k)]
    return pd.DataFrame(f, index=descriptors.index, columns=cols)
