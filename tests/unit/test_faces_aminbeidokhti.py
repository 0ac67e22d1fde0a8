"""Aminbeidokhti face crops: dlib HOG detection, frontal alignment to 256x256, no-face fallback."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from emorepro.corpora.index import write_index
from emorepro.features import faces
from emorepro.features.faces import (
    ALIGNED_EYE_DISTANCE,
    ALIGNED_EYE_ROW,
    ALIGNED_SIZE,
    DLIB_EYE_FRACTIONS,
    DLIB_HOG,
    HAAR,
    aligned_crop,
    centre_square,
    detect_face_dlib,
    face_clip,
    locate_eyes,
    track_faces,
    video_face_crops,
    zhang_transform,
)
from emorepro.steps import features as steps
from emorepro.steps.data import index_step
from emorepro.synth import generate_corpus
from emorepro.synth.affect import Speaker, make_speakers
from emorepro.synth.face import FaceRenderer
from emorepro.synth.media import write_video

LEFT = ((ALIGNED_SIZE[1] - 1) / 2 - ALIGNED_EYE_DISTANCE / 2, ALIGNED_EYE_ROW)
RIGHT = ((ALIGNED_SIZE[1] - 1) / 2 + ALIGNED_EYE_DISTANCE / 2, ALIGNED_EYE_ROW)


@pytest.fixture(scope="module")
def speakers() -> list[Speaker]:
    return make_speakers(["s1", "s2", "s3"], rng=np.random.default_rng(7))


def _blank(size: tuple[int, int] = (128, 160)) -> np.ndarray:
    return np.full((*size, 3), 128, np.uint8)


def _rotate(frame: np.ndarray, deg: float, centre: tuple[float, float]) -> tuple:
    m = cv2.getRotationMatrix2D(centre, deg, 1.0)
    h, w = frame.shape[:2]
    return cv2.warpAffine(frame, m, (w, h), borderMode=cv2.BORDER_REPLICATE), m


def test_geometry_constants() -> None:
    assert ALIGNED_SIZE == (256, 256)
    assert LEFT == pytest.approx((89.1, 102.4)) and RIGHT == pytest.approx((165.9, 102.4))


@pytest.mark.parametrize("size", [(128, 160), (288, 360)])
def test_dlib_detects_rendered_faces(speakers: list[Speaker], size: tuple[int, int]) -> None:
    for sp in speakers:
        renderer = FaceRenderer(sp, size=size)
        frame = renderer.render(arousal=0.3, valence=-0.2, rng=np.random.default_rng(1))
        box = detect_face_dlib(frame)
        assert box is not None, (sp.id, size)
        x, y, w, _ = box
        rx, ry, rw, rh = renderer.face_box()
        # dlib boxes: same width, from the brows to the chin (lower than Haar's)
        assert abs(w - rw) < 0.2 * rw and abs((x + w / 2) - (rx + rw / 2)) < 0.1 * rw
        assert ry <= y < ry + 0.35 * rh
    assert detect_face_dlib(_blank()) is None
    with pytest.raises(ValueError, match="RGB uint8"):
        detect_face_dlib(np.zeros((128, 160), np.uint8))


def test_dlib_box_is_clipped_to_the_frame() -> None:
    astro = skimage.data.astronaut()
    assert detect_face_dlib(astro) == (175, 76, 91, 91)
    shifted = np.ascontiguousarray(astro[90:, 190:])  # face partly out at the top left
    raw = faces._dlib_detector()(cv2.cvtColor(shifted, cv2.COLOR_RGB2GRAY), 1)
    assert [(r.left(), r.top(), r.right(), r.bottom()) for r in raw] == [(-12, -11, 71, 72)]
    assert detect_face_dlib(shifted) == (0, 0, 72, 73)  # inclusive corners, clipped


def test_crops_of_rendered_faces_and_astronaut(speakers: list[Speaker]) -> None:
    renderer = FaceRenderer(speakers[0], size=(128, 160))
    frames = [renderer.render(arousal=a, valence=0.0) for a in (-0.5, 0.0, 0.5)]
    crops = face_clip(frames, kind="aminbeidokhti")
    assert crops.shape == (3, 256, 256, 3) and crops.dtype == np.uint8
    np.testing.assert_array_equal(crops, face_clip(frames, kind="aminbeidokhti"))
    astro = skimage.data.astronaut()
    crop = face_clip([astro], kind="aminbeidokhti")
    assert crop.shape == (1, 256, 256, 3) and crop.dtype == np.uint8
    eyes = locate_eyes(astro, detect_face_dlib(astro), fractions=DLIB_EYE_FRACTIONS)  # type: ignore[arg-type]
    assert eyes.method == "cascade"
    np.testing.assert_array_equal(crop[0], aligned_crop(astro, eyes))


def test_transform_levels_eyes_of_a_rotated_frame(speakers: list[Speaker]) -> None:
    """Exact: known eye points, rotated with the frame, map to the stated positions."""
    frame = FaceRenderer(speakers[1], size=(288, 360)).render(arousal=0.0, valence=0.0)
    box = detect_face_dlib(frame)
    assert box is not None
    eyes = locate_eyes(frame, box, fractions=DLIB_EYE_FRACTIONS)
    rotated, r = _rotate(frame, 10.0, (180.0, 144.0))
    moved = [tuple(r @ np.array([px, py, 1.0])) for px, py in eyes]
    assert abs(moved[1][1] - moved[0][1]) > 5  # the eyes are no longer level
    kwargs = {
        "eye_distance": ALIGNED_EYE_DISTANCE,
        "size": ALIGNED_SIZE,
        "eye_row": ALIGNED_EYE_ROW,
    }
    m = zhang_transform(moved, **kwargs)
    mapped = m @ np.array([[p[0] for p in moved], [p[1] for p in moved], [1.0, 1.0]])
    np.testing.assert_allclose(mapped.T, [LEFT, RIGHT], atol=1e-9)
    # a similarity is fixed by two points: aligning the rotated frame = aligning the original
    m0 = zhang_transform(list(eyes), **kwargs)
    np.testing.assert_allclose(m @ np.vstack([r, [0, 0, 1]]), m0, atol=1e-9)
    a, b = aligned_crop(rotated, moved), aligned_crop(frame, eyes)
    inner = np.abs(a[40:216, 40:216].astype(int) - b[40:216, 40:216].astype(int))
    assert np.median(inner) <= 2 and inner.mean() < 4
    # zhang's default eye row is unchanged by the new argument
    np.testing.assert_array_equal(zhang_transform(moved), zhang_transform(moved, eye_row=55.0))


@pytest.mark.parametrize("angle_deg", [-10.0, 10.0])
def test_marked_eyes_of_a_rotated_frame_land_level(angle_deg: float) -> None:
    frame = np.full((300, 400, 3), 90, np.uint8)
    left, right = np.array([170.0, 140.0]), np.array([232.0, 140.0])
    for (px, py), colour in ((left, (255, 0, 0)), (right, (0, 0, 255))):
        cv2.circle(frame, (round(px * 16), round(py * 16)), 4 * 16, colour, -1, cv2.LINE_AA, 4)
    rotated, r = _rotate(frame, angle_deg, (200.0, 150.0))
    moved = [tuple(r @ np.array([*p, 1.0])) for p in (left, right)]
    crop = aligned_crop(rotated, moved)
    assert crop.shape == (256, 256, 3)
    yy, xx = np.mgrid[:256, :256]
    for ch, target in ((0, LEFT), (2, RIGHT)):
        weight = np.clip(crop[..., ch].astype(float) - 90.0, 0, None)
        weight[weight < 30] = 0
        cx, cy = (xx * weight).sum() / weight.sum(), (yy * weight).sum() / weight.sum()
        assert abs(cx - target[0]) < 0.5 and abs(cy - target[1]) < 0.5


def test_pipeline_on_rotated_rendered_face(speakers: list[Speaker]) -> None:
    """End to end (dlib box, eye cascade, warp): eyes within a few px of the stated spots."""
    for sp in speakers:
        renderer = FaceRenderer(sp, size=(288, 360))
        x, y, w, h = renderer.face_box()
        rotated, _ = _rotate(
            renderer.render(arousal=0.0, valence=0.0), 10.0, (x + w / 2, y + h / 2)
        )
        crop = face_clip([rotated], kind="aminbeidokhti")[0]
        box = detect_face_dlib(crop)
        assert box is not None
        eyes = locate_eyes(crop, box, fractions=DLIB_EYE_FRACTIONS)
        assert eyes.method == "cascade"
        for found, target in zip(eyes, (LEFT, RIGHT), strict=True):
            assert math.dist(found, target) < 6.0, (sp.id, eyes)


def test_no_face_gives_centred_squares(tmp_path: Path) -> None:
    yy, xx = np.mgrid[:120, :160]
    frame = np.stack([xx, yy, (xx + yy) // 2], -1).astype(np.uint8)  # smooth: no face
    expected = cv2.resize(frame[:, 20:140], (256, 256), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(centre_square(frame), expected)
    tall = np.ascontiguousarray(frame.transpose(1, 0, 2))
    np.testing.assert_array_equal(centre_square(tall, size=60), cv2.resize(
        tall[20:140], (60, 60), interpolation=cv2.INTER_AREA))  # fmt: skip
    crops = face_clip([frame, frame], kind="aminbeidokhti")
    np.testing.assert_array_equal(crops, np.stack([expected, expected]))
    path = tmp_path / "noface.mp4"
    write_video(path, [_blank()] * 4, fps=10)
    crops, stats = video_face_crops(path, kind="aminbeidokhti")
    assert crops.shape == (4, 256, 256, 3) and crops.dtype == np.uint8
    assert stats["no_face"] == 1.0 and stats["detector_dlib"] == stats["detector_haar"] == 0.0
    assert stats["n_frames"] == 4 and stats["n_detected"] == 0
    np.testing.assert_array_equal(crops[0], centre_square(_blank()))
    with pytest.raises(Exception, match="no face found"):  # the other kinds still raise
        face_clip([frame], kind="zhang")


def test_haar_fallback_when_dlib_finds_nothing(
    speakers: list[Speaker], monkeypatch: pytest.MonkeyPatch
) -> None:
    blind = DLIB_HOG._replace(detect=lambda frame: None)
    monkeypatch.setattr(faces, "DLIB_HOG", blind)
    renderer = FaceRenderer(speakers[0], size=(128, 160))
    frames = [renderer.render(arousal=0.0, valence=v) for v in (-0.5, 0.5)]
    crops = face_clip(frames, kind="aminbeidokhti")
    assert crops.shape == (2, 256, 256, 3)
    box = faces.detect_face(frames[0])
    assert box is not None
    eyes = locate_eyes(frames[0], box)  # Haar boxes take Haar's fallback proportions
    np.testing.assert_array_equal(crops[0], aligned_crop(frames[0], eyes))


def test_haar_fallback_stats(
    speakers: list[Speaker], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(faces, "DLIB_HOG", DLIB_HOG._replace(detect=lambda frame: None))
    renderer = FaceRenderer(speakers[0], size=(128, 160))
    path = tmp_path / "clip.mp4"
    write_video(path, [renderer.render(arousal=0.0, valence=0.0)] * 3, fps=10)
    crops, stats = video_face_crops(path, kind="aminbeidokhti")
    assert crops.shape == (3, 256, 256, 3)
    assert (stats["detector_dlib"], stats["detector_haar"], stats["no_face"]) == (0.0, 1.0, 0.0)


def test_detect_and_hold_counts(speakers: list[Speaker], tmp_path: Path) -> None:
    renderer = FaceRenderer(speakers[2], size=(128, 160))
    face = renderer.render(arousal=0.0, valence=0.0)
    box = detect_face_dlib(face)
    assert box is not None and box != faces.detect_face(face)
    track = track_faces([_blank(), face, _blank(), face, _blank()], detector=DLIB_HOG)
    assert track.boxes == [None, box, box, box, box] and track.n_held == 2
    sparse = track_faces([face] * 4, detect_every=3, detector=DLIB_HOG)
    assert sparse.boxes == [box] * 4 and sparse.n_held == 2
    assert track_faces([face], detector=HAAR).boxes == track_faces([face]).boxes
    frames = [_blank(), face, _blank(), face, face]
    path = tmp_path / "clip.mp4"
    write_video(path, frames, fps=10)
    crops, stats = video_face_crops(path, kind="aminbeidokhti")
    assert crops.shape == (5, 256, 256, 3)
    assert stats["n_frames"] == 5 and stats["n_backfilled"] == 1
    assert stats["n_detected"] == 3 and stats["n_held"] == 1
    assert (stats["detector_dlib"], stats["detector_haar"], stats["no_face"]) == (1.0, 0.0, 0.0)
    assert stats["eyes_cascade"] + stats["eyes_proportions"] == 5
    _, tz = video_face_crops(path, kind="tzirakis")
    assert "no_face" not in tz and "detector_dlib" not in tz  # other kinds' stats unchanged


def test_cache_key_names_the_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {kind: steps.faces_cache_key(kind) for kind in ("zhang", "tzirakis", "aminbeidokhti")}
    assert len(set(keys.values())) == 3
    seen: dict[str, dict] = {}
    real = steps.cache_key

    def spy(extractor: str, **kw: object) -> str:
        seen[kw["config"]["kind"]] = kw  # type: ignore[index]
        return real(extractor, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(steps, "cache_key", spy)
    for kind, key in keys.items():
        assert steps.faces_cache_key(kind) == key
    video = ("av", "numpy")
    for kind in ("zhang", "tzirakis"):  # as before the new kind
        assert seen[kind]["config"] == {"kind": kind, "detector": "haar", "fps_out": None}
        assert tuple(seen[kind]["libraries"]) == ("opencv-python-headless", *video)
    amin = seen["aminbeidokhti"]
    assert amin["config"] == {"kind": "aminbeidokhti", "detector": "dlib-hog", "fps_out": None}
    assert tuple(amin["libraries"]) == ("opencv-python-headless", "dlib-bin", *video)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("enterface")
    root = base / "enterface05"
    generate_corpus("enterface05", root, scale="tiny", seed=5)
    full = index_step("enterface05", root, base / "full.csv")
    two = full.iloc[:2].reset_index(drop=True)
    write_video(root / two.loc[1, "video_path"], [_blank()] * 6, fps=25)  # a clip with no face
    index = base / "two.csv"
    write_index(two, index)
    return root, index


def test_face_crops_step_counts_clips_without_a_face(
    corpus: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root, index = corpus
    files = steps.CorpusFiles("enterface05", root, index, tmp_path)
    with caplog.at_level(logging.INFO, logger="emorepro"):
        frame = steps.face_crops_step(
            files, tmp_path / "f.parquet", kind="aminbeidokhti", fps_out=5
        )
    assert frame["no_face"].tolist() == [0.0, 1.0]
    assert frame["detector_dlib"].tolist() == [1.0, 0.0]
    assert "1 of 2 clips had no face" in caplog.text
    with np.load(tmp_path / frame.loc[0, "file"]) as data:
        assert data["crops"].shape[1:] == (256, 256, 3) and data["crops"].dtype == np.uint8
