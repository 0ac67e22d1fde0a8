"""AVEC 2016-style video descriptors and the synthetic landmark model.

References are independent: scipy.spatial.procrustes, a literal bilinear-sampling LBP, pandas
rolling windows, sklearn PCA, PCHIP's exactness on linear data, and the renderer's own pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import procrustes as scipy_procrustes
from sklearn.decomposition import PCA

from emorepro.errors import ConfigError, CorruptInputError
from emorepro.features.landmarks import (
    POINT_NAMES,
    SYNTH_GROUPS,
    LandmarkModel,
    detect_landmarks,
    procrustes_align,
    render_training_face,
    rendered_landmarks,
    synthetic_reference,
    train_synthetic_model,
)
from emorepro.features.video_descriptors import (
    N_LBP_BINS,
    appearance_functionals,
    fit_pca,
    geometric_feature_names,
    geometric_features,
    interpolate_to_grid,
    lbp_codes,
    lbp_top_histograms,
    sliding_mean_std,
    video_descriptors,
    window_functionals,
)
from emorepro.synth.affect import Speaker
from emorepro.synth.face import FaceRenderer
from emorepro.synth.media import write_video

ML, MR = POINT_NAMES.index("mouth_l"), POINT_NAMES.index("mouth_r")
LE, RE = list(SYNTH_GROUPS["left_eye"]), list(SYNTH_GROUPS["right_eye"])


def _similarity(pts: np.ndarray, s: float, theta: float, t: tuple[float, float]) -> np.ndarray:
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return s * pts @ rot.T + np.asarray(t)


def _interocular(pts: np.ndarray) -> float:
    return float(np.linalg.norm(pts[LE].mean(axis=0) - pts[RE].mean(axis=0)))


# ------------------------------------------------------------------------------ Procrustes


@pytest.mark.parametrize(
    ("s", "theta", "t"), [(1.0, 0.0, (0, 0)), (37.0, 0.6, (120, -5)), (0.2, -2.5, (3, 400))]
)
def test_procrustes_matches_scipy(s: float, theta: float, t: tuple[float, float]) -> None:
    rng = np.random.default_rng(0)
    ref = synthetic_reference()
    pts = _similarity(ref + rng.normal(0, 0.02, ref.shape), s, theta, t)
    aligned = procrustes_align(pts, ref)
    _, mtx2, disparity = scipy_procrustes(ref, pts)
    # scipy standardises the reference (centre, unit Frobenius norm); apply the same to ours.
    ref_c = ref - ref.mean(axis=0)
    norm = np.linalg.norm(ref_c)
    np.testing.assert_allclose((aligned - ref.mean(axis=0)) / norm, mtx2, atol=1e-10)
    np.testing.assert_allclose(((aligned - ref) ** 2).sum() / norm**2, disparity, rtol=1e-8)


def test_procrustes_exact_similarity_is_undone() -> None:
    ref = synthetic_reference()
    np.testing.assert_allclose(
        procrustes_align(_similarity(ref, 3.0, 1.0, (5, 7)), ref), ref, atol=1e-12
    )


def test_procrustes_never_reflects() -> None:
    ref = synthetic_reference()
    mirrored = _similarity(ref * np.array([-1.0, 1.0]), 2.0, 0.4, (3, 1))
    _, _, disparity = scipy_procrustes(ref, mirrored)
    assert disparity < 1e-20  # scipy (orthogonal Procrustes) may reflect: exact fit

    def area(p: np.ndarray) -> float:  # signed (shoelace) area: its sign is the orientation
        return float(np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1]))

    aligned = procrustes_align(mirrored, ref)
    assert np.sign(area(aligned)) == np.sign(area(mirrored)) != np.sign(area(ref))
    ours = ((aligned - ref) ** 2).sum() / ((ref - ref.mean(0)) ** 2).sum()
    assert ours > 0.05  # a rotation cannot undo the mirror image


@pytest.mark.parametrize(
    "pts", [np.zeros((5, 2)), np.ones((4, 3)), np.array([[np.nan, 0.0], [1.0, 1.0]])]
)
def test_procrustes_rejects_bad_input(pts: np.ndarray) -> None:
    with pytest.raises(ValueError):
        procrustes_align(pts, np.arange(pts.size, dtype=float).reshape(pts.shape) ** 1.5)


# ------------------------------------------------------------------------------ geometric


@pytest.mark.parametrize(
    ("s", "theta", "t"), [(2.0, 0.3, (10, -4)), (0.5, -1.2, (0, 100)), (150.0, 3.0, (-50, 60))]
)
def test_geometric_descriptor_is_similarity_invariant(
    s: float, theta: float, t: tuple[float, float]
) -> None:
    rng = np.random.default_rng(1)
    ref = synthetic_reference()
    prev = ref + rng.normal(0, 0.02, ref.shape)
    cur = ref + rng.normal(0, 0.02, ref.shape)
    base = geometric_features(cur, ref, SYNTH_GROUPS, prev)
    moved = geometric_features(
        _similarity(cur, s, theta, t),
        ref,
        SYNTH_GROUPS,
        _similarity(prev, s * 1.1, theta - 0.2, (t[1], t[0])),
    )
    np.testing.assert_allclose(moved, base, atol=1e-9)
    # and it is not blind: widening the mouth changes it
    wide = cur.copy()
    wide[ML, 0] -= 0.05
    wide[MR, 0] += 0.05
    assert np.abs(geometric_features(wide, ref, SYNTH_GROUPS, prev) - base).max() > 0.01


def test_geometric_feature_count_is_documented() -> None:
    ref = synthetic_reference()
    feats = geometric_features(ref, ref, SYNTH_GROUPS)
    k, n_le, n_re, n_m = 36, 7, 7, 10
    assert feats.shape == (4 * k + 2 * (n_le + n_re + n_m),) == (192,)
    model = LandmarkModel(predictor=None, reference=ref, groups=SYNTH_GROUPS)  # type: ignore[arg-type]
    assert len(geometric_feature_names(model)) == 192
    np.testing.assert_allclose(feats[: 4 * k], 0.0, atol=1e-12)  # reference: no offset, no motion


# ------------------------------------------------------------------------------ LBP-TOP


def _bilinear(img: np.ndarray, r: float, c: float) -> float:
    r0, c0 = int(np.floor(r)), int(np.floor(c))
    dr, dc = r - r0, c - c0
    r1, c1 = int(np.ceil(r)), int(np.ceil(c))
    return float(
        (1 - dr) * (1 - dc) * img[r0, c0]
        + (1 - dr) * dc * img[r0, c1]
        + dr * (1 - dc) * img[r1, c0]
        + dr * dc * img[r1, c1]
    )


def _raw_codes(img: np.ndarray) -> np.ndarray:
    """Literal 8-bit LBP (P=8, R=1, bilinear neighbours) of the interior pixels."""
    img = img.astype(np.float64)
    offs = [
        (round(-np.sin(2 * np.pi * p / 8), 5), round(np.cos(2 * np.pi * p / 8), 5))
        for p in range(8)
    ]
    h, w = img.shape
    out = np.zeros((h - 2, w - 2), np.int64)
    for r in range(1, h - 1):
        for c in range(1, w - 1):
            bits = [_bilinear(img, r + dr, c + dc) >= img[r, c] for dr, dc in offs]
            out[r - 1, c - 1] = sum(int(b) << p for p, b in enumerate(bits))
    return out


def _is_uniform(code: int) -> bool:
    bits = [(code >> p) & 1 for p in range(8)]
    return sum(bits[p] != bits[(p + 1) % 8] for p in range(8)) <= 2


@pytest.fixture(scope="module")
def lbp_map() -> dict[int, int]:
    """raw code -> skimage nri_uniform bin, read off a random image and checked for sanity."""
    img = np.random.default_rng(2).integers(0, 256, size=(80, 80), dtype=np.uint8)
    raw, nri = _raw_codes(img), lbp_codes(img)[1:-1, 1:-1].astype(int)
    mapping: dict[int, int] = {}
    for a, b in zip(raw.ravel(), nri.ravel(), strict=True):
        assert mapping.setdefault(int(a), int(b)) == b  # a function of the raw code
    uni = {k: v for k, v in mapping.items() if _is_uniform(k)}
    assert len(uni) == 58 and sorted(uni.values()) == list(range(58))  # one bin per pattern
    assert all(v == 58 for k, v in mapping.items() if not _is_uniform(k))
    # every uniform pattern was seen; unseen codes are non-uniform and share bin 58
    return {c: mapping.get(c, 58) for c in range(256)}


def _brute_hist(vol: np.ndarray, grid: tuple[int, int], mapping: dict[int, int]) -> np.ndarray:
    t_len, h, w = vol.shape
    c = t_len // 2
    xy = _raw_codes(vol[c])
    xt = np.stack([_raw_codes(vol[:, y, :])[c - 1] for y in range(1, h - 1)])  # (h-2, w-2)
    yt = np.stack([_raw_codes(vol[:, :, x])[c - 1] for x in range(1, w - 1)]).T
    rows = np.array_split(np.arange(h - 2), grid[0])
    cols = np.array_split(np.arange(w - 2), grid[1])
    out = []
    for r in rows:
        for cc in cols:
            for plane in (xy, xt, yt):
                codes = [mapping[int(v)] for v in plane[np.ix_(r, cc)].ravel()]
                out.append(np.bincount(codes, minlength=N_LBP_BINS) / len(codes))
    return np.concatenate(out)


@pytest.mark.parametrize(("shape", "grid"), [((3, 12, 14), (2, 2)), ((5, 11, 9), (3, 2))])
def test_lbp_top_matches_brute_force(
    shape: tuple[int, int, int], grid: tuple[int, int], lbp_map: dict[int, int]
) -> None:
    vol = np.random.default_rng(3).integers(0, 256, size=shape, dtype=np.uint8)
    hist = lbp_top_histograms(vol, grid)
    np.testing.assert_allclose(hist, _brute_hist(vol, grid, lbp_map), atol=1e-12)
    sums = hist.reshape(grid[0] * grid[1], 3, N_LBP_BINS).sum(axis=-1)
    np.testing.assert_allclose(sums, 1.0)


def test_lbp_top_sees_motion() -> None:
    rng = np.random.default_rng(4)
    frame = rng.integers(0, 256, size=(20, 20), dtype=np.uint8)
    still = lbp_top_histograms(np.stack([frame] * 3), (2, 2)).reshape(4, 3, N_LBP_BINS)
    moving = lbp_top_histograms(
        np.stack([np.roll(frame, s, axis=1) for s in (-1, 0, 1)]), (2, 2)
    ).reshape(4, 3, N_LBP_BINS)
    np.testing.assert_allclose(still[:, 0], moving[:, 0])  # same centre frame: same XY
    assert np.abs(still[:, 1] - moving[:, 1]).max() > 0.05  # XT differs under motion


@pytest.mark.parametrize("shape", [(2, 10, 10), (4, 10, 10), (3, 4, 10), (10, 10)])
def test_lbp_top_rejects_bad_volumes(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        lbp_top_histograms(np.zeros(shape, np.uint8), (4, 4))


# ------------------------------------------------------------------------------ windows


@pytest.mark.parametrize(("n", "window_s"), [(300, 8.0), (50, 0.4), (30, 8.0)])
def test_window_functionals_match_pandas_rolling(n: int, window_s: float) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(n, 3)) + np.linspace(0, 5, n)[:, None]
    times = np.arange(n) * 0.04  # frames on the label grid: interpolation is the identity
    out = window_functionals(x, times, window_s=window_s, hop_s=0.04, n_frames_out=n)
    roll = pd.DataFrame(x).rolling(round(window_s / 0.04), center=True, min_periods=1)
    np.testing.assert_allclose(out[:, :3], roll.mean().to_numpy(), atol=1e-10)
    np.testing.assert_allclose(out[:, 3:], roll.std(ddof=0).to_numpy(), atol=1e-8)
    k = n // 2  # and literally: rows [k - h, k + h)
    h = round(window_s / 0.08)
    seg = x[max(0, k - h) : k + h]
    np.testing.assert_allclose(out[k], np.concatenate([seg.mean(0), seg.std(0)]), atol=1e-10)


def test_interpolation_is_exact_on_linear_data_and_fills_gaps() -> None:
    fps = 30.0
    t = np.arange(90) / fps
    x = np.stack([2.0 + 3.0 * t, -t], axis=1)
    x[[0, 1, 40, 41, 42, 43, 89]] = np.nan  # no face: start, a gap, the end
    grid = interpolate_to_grid(x, t, n_frames_out=80, hop_s=0.04)
    tg = np.arange(80) * 0.04
    tc = np.clip(tg, t[2], t[88])  # held constant outside the first/last face
    np.testing.assert_allclose(grid, np.stack([2.0 + 3.0 * tc, -tc], axis=1), atol=1e-12)


def test_window_and_interpolation_errors() -> None:
    with pytest.raises(ValueError, match="no face"):
        interpolate_to_grid(np.full((5, 2), np.nan), np.arange(5.0), n_frames_out=5)
    with pytest.raises(ValueError, match="multiple"):
        sliding_mean_std(np.zeros((5, 1)), window_s=0.1, hop_s=0.04)


# ------------------------------------------------------------------------------ PCA


def test_pca_fitted_on_train_only_matches_sklearn() -> None:
    rng = np.random.default_rng(6)
    mix = rng.normal(size=(6, 40))
    train = rng.normal(size=(300, 6)) * np.arange(6, 0, -1) @ mix + 3.0
    test = rng.normal(size=(50, 40)) * 5.0 - 2.0
    model = fit_pca(train, n_components=4)
    ref = PCA(n_components=4, svd_solver="full").fit(train)
    np.testing.assert_allclose(model.mean, train.mean(axis=0))
    np.testing.assert_allclose(np.abs(model.components @ ref.components_.T), np.eye(4), atol=1e-8)
    np.testing.assert_allclose(model.explained_variance, ref.explained_variance_, rtol=1e-8)
    before = (model.mean.copy(), model.components.copy(), model.transform(train))
    z = model.transform(test)
    assert z.shape == (50, 4)
    np.testing.assert_array_equal(model.mean, before[0])
    np.testing.assert_array_equal(model.components, before[1])
    np.testing.assert_array_equal(model.transform(train), before[2])
    both = fit_pca(np.vstack([train, test]), n_components=4)
    assert not np.allclose(both.mean, model.mean)  # the fit really depends on its rows only


def test_pca_roundtrip_and_errors(tmp_path: Path) -> None:
    x = np.random.default_rng(7).normal(size=(20, 5))
    model = fit_pca(x, n_components=3)
    model.save(tmp_path / "pca.npz")
    again = type(model).load(tmp_path / "pca.npz")
    np.testing.assert_array_equal(again.transform(x), model.transform(x))
    with pytest.raises(ValueError, match="n_components"):
        fit_pca(x, n_components=6)
    with pytest.raises(ValueError, match="NaN"):
        fit_pca(np.full((4, 2), np.nan), n_components=1)
    with pytest.raises(CorruptInputError, match=r"bad\.npz"):
        type(model).load(tmp_path / "bad.npz")


# ------------------------------------------------------------------------------ landmarks


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> LandmarkModel:
    path = tmp_path_factory.mktemp("lm") / "synth.dat"
    train_synthetic_model(path, seed=0, n_faces=60, cascade_depth=6, oversampling=5)
    return LandmarkModel.load(path)


def test_ground_truth_points_move_with_the_face_content() -> None:
    renderer = FaceRenderer(Speaker("t", "F", 30, 200.0, 0.0, 0.0, 321), size=(240, 320))
    neutral = renderer.render(arousal=0.0, valence=0.0).astype(float)
    expr = renderer.render(arousal=0.8, valence=-1.0).astype(float)
    p0 = rendered_landmarks(renderer, arousal=0.0, valence=0.0)
    p1 = rendered_landmarks(renderer, arousal=0.8, valence=-1.0)

    def patch(img: np.ndarray, p: np.ndarray) -> np.ndarray:
        x, y = np.round(p).astype(int)
        return img[y - 3 : y + 4, x - 3 : x + 4]

    moved = np.linalg.norm(p1 - p0, axis=1) > 2.0
    assert moved.sum() >= 5
    follow = [np.abs(patch(expr, p1[i]) - patch(neutral, p0[i])).mean() for i in np.where(moved)[0]]
    stay = [np.abs(patch(expr, p0[i]) - patch(neutral, p0[i])).mean() for i in np.where(moved)[0]]
    assert np.mean(follow) < 0.6 * np.mean(stay)


def test_trained_model_error_on_held_out_renders(model: LandmarkModel) -> None:
    rng = np.random.default_rng(1234)  # training used seed 0: different faces and speakers
    err_box, err_det = [], []
    for _ in range(20):
        gray, box, truth, _ = render_training_face(rng, height=int(rng.integers(96, 241)))
        io = _interocular(truth)
        err_box.append(
            np.linalg.norm(detect_landmarks(gray, model, box) - truth, axis=1).mean() / io
        )
        found = detect_landmarks(gray, model)  # own Haar detection
        assert found is not None
        err_det.append(np.linalg.norm(found - truth, axis=1).mean() / io)
    # bound: mean point error < 8 % of the inter-ocular distance (measured ~3.5 % for this
    # small model, ~1.5 % for the default 200-face model)
    assert np.mean(err_box) < 0.08 and np.mean(err_det) < 0.08


def test_valence_widens_and_lifts_the_predicted_mouth(model: LandmarkModel) -> None:
    for seed in (11, 22, 33):
        renderer = FaceRenderer(Speaker("v", "M", 40, 120.0, 0.0, 0.0, seed), size=(200, 266))
        pred, truth = {}, {}
        for v in (-1.0, 1.0):
            frame = renderer.render(arousal=0.0, valence=v)
            pred[v] = detect_landmarks(frame, model, renderer.face_box())
            truth[v] = rendered_landmarks(renderer, arousal=0.0, valence=v)
        for pts in (pred, truth):
            width = {v: np.linalg.norm(p[MR] - p[ML]) / _interocular(p) for v, p in pts.items()}
            corner_y = {v: (p[ML, 1] + p[MR, 1]) / 2 for v, p in pts.items()}
            assert width[1.0] > width[-1.0]
            assert corner_y[1.0] < corner_y[-1.0]  # y grows downwards: a smile lifts corners


def test_training_is_deterministic(tmp_path: Path) -> None:
    a = train_synthetic_model(
        tmp_path / "a.dat", seed=3, n_faces=12, cascade_depth=2, oversampling=2
    )
    b = train_synthetic_model(
        tmp_path / "b.dat", seed=3, n_faces=12, cascade_depth=2, oversampling=2
    )
    assert a.read_bytes() == b.read_bytes()
    with pytest.raises(ValueError, match="n_faces"):
        train_synthetic_model(tmp_path / "c.dat", n_faces=5)


def test_load_errors_name_the_file(tmp_path: Path, model: LandmarkModel) -> None:
    with pytest.raises(CorruptInputError, match=r"missing\.dat"):
        LandmarkModel.load(tmp_path / "missing.dat")
    bad = tmp_path / "garbage.dat"
    bad.write_bytes(b"not a model")
    with pytest.raises(CorruptInputError, match=r"garbage\.dat"):
        LandmarkModel.load(bad)
    with pytest.raises(CorruptInputError, match="SHA-256"):
        LandmarkModel.load(model.source, sha256="0" * 64)


# ------------------------------------------------------------------------------ end to end


def _video(path: Path, n: int, face: bool = True) -> Path:
    renderer = FaceRenderer(Speaker("e", "F", 30, 200.0, 0.0, 0.0, 99), size=(96, 128))
    rng = np.random.default_rng(0)
    t = np.arange(n) / 25.0

    def frames() -> Iterator[np.ndarray]:
        for i in range(n):
            if face:
                yield renderer.render(arousal=0.0, valence=float(np.sin(2 * t[i])), rng=rng)
            else:
                yield np.full((96, 128, 3), 120, np.uint8)

    write_video(path, frames(), fps=25.0)
    return path


def test_video_descriptors_one_row_per_label_frame(tmp_path: Path, model: LandmarkModel) -> None:
    path = _video(tmp_path / "rec.mp4", 40)
    df = video_descriptors(path, landmark_model=model, n_label_frames=40, window_s=0.8)
    geo = df.filter(regex="^geo_mean_").shape[1]
    assert geo == 192 and df.filter(regex="^geo_std_").shape[1] == 192
    assert df.filter(regex="^app_raw_").shape[1] == 16 * 3 * N_LBP_BINS
    assert df.index.name == "time_s" and df.index[1] == pytest.approx(0.04)
    assert len(df) == 40 and np.isfinite(df.to_numpy()).all() and (df["face"] == 1).all()
    pca = fit_pca(df.filter(regex="^app_raw_").to_numpy(), n_components=5)
    app = appearance_functionals(df, pca, window_s=0.8)
    assert app.shape == (40, 10) and app.index.equals(df.index)


def test_video_descriptors_errors_name_the_file(tmp_path: Path, model: LandmarkModel) -> None:
    blank = _video(tmp_path / "blank.mp4", 6, face=False)
    with pytest.raises(CorruptInputError, match=r"blank\.mp4.*no face"):
        video_descriptors(blank, landmark_model=model, n_label_frames=6)
    short = _video(tmp_path / "short.mp4", 5)
    with pytest.raises(CorruptInputError, match=r"short\.mp4.*labels run"):
        video_descriptors(short, landmark_model=model, n_label_frames=100)


def test_load_without_sidecar_needs_groups(tmp_path: Path, model: LandmarkModel) -> None:
    bare = tmp_path / "bare.dat"
    bare.write_bytes(Path(model.source).read_bytes())  # no .json sidecar next to it
    with pytest.raises(ConfigError, match="36-point"):
        LandmarkModel.load(bare)
    loaded = LandmarkModel.load(bare, groups=SYNTH_GROUPS)
    # reference = the predictor's own shape on a grey unit box: a plausible, fixed face shape
    assert loaded.reference.shape == (36, 2) and np.isfinite(loaded.reference).all()
    assert loaded.reference[POINT_NAMES.index("chin"), 1] > loaded.reference[LE, 1].mean()
    np.testing.assert_array_equal(
        LandmarkModel.load(bare, groups=SYNTH_GROUPS).reference, loaded.reference
    )
