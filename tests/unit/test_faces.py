"""Face pipeline: Haar detection on rendered faces, eye-normalised and square crops, clip16 rule."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from emorepro.errors import CorruptInputError, EmoreproError
from emorepro.features.faces import (
    EYE_FRACTIONS,
    clip16_indices,
    detect_face,
    face_clip,
    locate_eyes,
    segment_frame_indices,
    square_crop,
    track_faces,
    video_face_crops,
    zhang_crop,
    zhang_transform,
)
from emorepro.synth.affect import Speaker, make_speakers
from emorepro.synth.face import FaceRenderer
from emorepro.synth.media import write_video


@pytest.fixture(scope="module")
def speakers() -> list[Speaker]:
    return make_speakers(["s1", "s2", "s3"], rng=np.random.default_rng(7))


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def _gray(size: tuple[int, int] = (120, 160)) -> np.ndarray:
    return np.full((*size, 3), 128, np.uint8)


@pytest.mark.parametrize("size", [(120, 160), (240, 320)])
def test_detect_face_matches_rendered_box(speakers: list[Speaker], size: tuple[int, int]) -> None:
    for sp in speakers:
        renderer = FaceRenderer(sp, size=size)
        for a, v in [(-1.0, 1.0), (1.0, -1.0)]:
            frame = renderer.render(arousal=a, valence=v, rng=np.random.default_rng(1))
            box = detect_face(frame)
            assert box is not None, (sp.id, size, a, v)
            assert _iou(box, renderer.face_box()) > 0.5, (box, renderer.face_box())


def test_no_face_in_uniform_or_noise_frame() -> None:
    assert detect_face(_gray()) is None
    noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    assert detect_face(noise) is None
    with pytest.raises(ValueError, match="RGB uint8"):
        detect_face(np.zeros((120, 160), np.uint8))


def test_locate_eyes_cascade_on_rendered_face(speakers: list[Speaker]) -> None:
    for sp in speakers:
        renderer = FaceRenderer(sp, size=(240, 320))
        frame = renderer.render(arousal=0.0, valence=0.0)
        box = detect_face(frame)
        assert box is not None
        eyes = locate_eyes(frame, box)
        assert eyes.method == "cascade"
        x, y, w, h = box
        assert eyes.left[0] < eyes.right[0]
        for (ex, ey), (fx, fy) in zip(eyes, EYE_FRACTIONS, strict=True):
            assert abs((ex - x) / w - fx) < 0.08 and abs((ey - y) / h - fy) < 0.08


def test_locate_eyes_falls_back_to_proportions() -> None:
    eyes = locate_eyes(_gray((200, 200)), (40, 30, 100, 100))
    assert eyes.method == "proportions"
    assert eyes == ((70.0, 68.0), (110.0, 68.0))
    left, right = eyes  # unpacks like a plain pair
    assert left == eyes.left and right == eyes.right


def test_zhang_transform_equals_rotation_about_eye_midpoint() -> None:
    eyes = [(180.0, 95.0), (120.0, 70.0)]  # given right-to-left: sorted by x inside
    m = zhang_transform(eyes)
    (lx, ly), (rx, ry) = (120.0, 70.0), (180.0, 95.0)
    dist = math.hypot(rx - lx, ry - ly)
    mid = ((lx + rx) / 2, (ly + ry) / 2)
    ref = cv2.getRotationMatrix2D(mid, math.degrees(math.atan2(ry - ly, rx - lx)), 55.0 / dist)
    ref[:, 2] += np.array([54.5, 55.0]) - np.array(mid)
    np.testing.assert_allclose(m, ref, atol=1e-9)
    mapped = m @ np.array([[lx, rx], [ly, ry], [1.0, 1.0]])
    np.testing.assert_allclose(mapped.T, [[27.0, 55.0], [82.0, 55.0]], atol=1e-9)


@pytest.mark.parametrize("angle_deg", [-20.0, 0.0, 15.0])
@pytest.mark.parametrize("dist", [40.0, 90.0])
def test_zhang_crop_puts_marked_eyes_55px_apart_and_level(angle_deg: float, dist: float) -> None:
    frame = np.full((300, 400, 3), 90, np.uint8)
    c, t = np.array([200.0, 140.0]), math.radians(angle_deg)
    half = dist / 2 * np.array([math.cos(t), math.sin(t)])
    left, right = c - half, c + half
    cv2.circle(frame, (round(left[0] * 16), round(left[1] * 16)), 5 * 16, (255, 0, 0), -1,
               cv2.LINE_AA, 4)  # fmt: skip
    cv2.circle(frame, (round(right[0] * 16), round(right[1] * 16)), 5 * 16, (0, 0, 255), -1,
               cv2.LINE_AA, 4)  # fmt: skip
    crop = zhang_crop(frame, [tuple(left), tuple(right)])
    assert crop.shape == (150, 110, 3) and crop.dtype == np.uint8
    found = []
    for ch in (0, 2):
        weight = np.clip(crop[..., ch].astype(float) - 90.0, 0, None)
        weight[weight < 30] = 0
        yy, xx = np.mgrid[:150, :110]
        found.append(
            (float((xx * weight).sum() / weight.sum()), (yy * weight).sum() / weight.sum())
        )
    (lx, ly), (rx, ry) = found
    assert abs(lx - 27.0) < 0.5 and abs(rx - 82.0) < 0.5
    assert abs(ly - 55.0) < 0.5 and abs(ry - 55.0) < 0.5
    assert math.hypot(rx - lx, ry - ly) == pytest.approx(55.0, abs=0.6)


def test_zhang_crop_of_rendered_face_has_eyes_where_stated(speakers: list[Speaker]) -> None:
    renderer = FaceRenderer(speakers[1], size=(240, 320))
    crops = face_clip([renderer.render(arousal=0.2, valence=-0.3)], kind="zhang")
    assert crops.shape == (1, 150, 110, 3)
    eyes = locate_eyes(crops[0], (0, 0, 110, 150))
    assert eyes.method == "cascade"
    (lx, ly), (rx, ry) = eyes
    assert abs(lx - 27) < 5 and abs(rx - 82) < 5 and abs(ly - 55) < 5 and abs(ry - 55) < 5
    assert math.hypot(rx - lx, ry - ly) == pytest.approx(55.0, abs=6.0)


def test_square_crop_margin_and_border() -> None:
    yy, xx = np.mgrid[:100, :120]
    frame = np.stack([xx * 2, yy * 2, (xx + yy) % 256], -1).astype(np.uint8)
    out = square_crop(frame, (10, 20, 50, 50))
    # side 50 * 1.2 = 60 around the centre (35, 45): rows 15..74, cols 5..64
    ref = cv2.resize(frame[15:75, 5:65], (96, 96), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out, ref)
    corner = square_crop(frame, (-10, -10, 40, 40), size=48, margin=0.0)
    padded = cv2.copyMakeBorder(frame, 10, 10, 10, 10, cv2.BORDER_REPLICATE)
    ref = cv2.resize(padded[0:40, 0:40], (48, 48), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(corner, ref)
    big = square_crop(frame, (0, 0, 100, 100), size=32, margin=0.0)
    np.testing.assert_array_equal(big, cv2.resize(frame[:100, :100], (32, 32),
                                                  interpolation=cv2.INTER_AREA))  # fmt: skip


def test_track_faces_detect_and_hold(speakers: list[Speaker]) -> None:
    renderer = FaceRenderer(speakers[0], size=(120, 160))
    face = renderer.render(arousal=0.0, valence=0.0)
    track = track_faces([_gray(), face, _gray(), face, _gray()])
    box = detect_face(face)
    assert track.boxes == [None, box, box, box, box]
    assert track.n_held == 2
    sparse = track_faces([face, face, face, face], detect_every=3)
    assert sparse.boxes == [box] * 4 and sparse.n_held == 2  # frames 1 and 2 skipped
    with pytest.raises(ValueError, match="detect_every"):
        track_faces([face], detect_every=0)


def test_face_clip_shapes_backfill_and_no_face(speakers: list[Speaker]) -> None:
    renderer = FaceRenderer(speakers[2], size=(120, 160))
    faces = [renderer.render(arousal=a, valence=0.0) for a in (-0.5, 0.5)]
    tz = face_clip([_gray(), *faces], kind="tzirakis")
    assert tz.shape == (3, 96, 96, 3) and tz.dtype == np.uint8
    box = detect_face(faces[0])
    np.testing.assert_array_equal(tz[0], square_crop(_gray(), box))  # back-filled first box
    np.testing.assert_array_equal(tz[1], square_crop(faces[0], box))
    assert face_clip(faces, kind="zhang").shape == (2, 150, 110, 3)
    np.testing.assert_array_equal(face_clip(faces), face_clip(faces))  # deterministic
    with pytest.raises(EmoreproError, match="no face found in any of 2 frames"):
        face_clip([_gray(), _gray()])
    with pytest.raises(ValueError, match="kind"):
        face_clip(faces, kind="other")  # type: ignore[arg-type]


def test_video_face_crops(tmp_path: Path, speakers: list[Speaker]) -> None:
    renderer = FaceRenderer(speakers[0], size=(120, 160))
    frames = [_gray()] + [renderer.render(arousal=0.1 * i, valence=0.0) for i in range(5)]
    path = tmp_path / "clip.mp4"
    write_video(path, frames, fps=10)
    crops, stats = video_face_crops(path, kind="tzirakis")
    assert crops.shape == (6, 96, 96, 3)
    assert stats["n_frames"] == 6 and stats["n_backfilled"] == 1 and stats["n_detected"] == 5
    half, stats = video_face_crops(path, kind="zhang", fps_out=5)
    assert half.shape == (3, 150, 110, 3) and stats["step"] == 2 and stats["fps"] == 5.0
    assert stats["eyes_cascade"] + stats["eyes_proportions"] == 3
    empty = tmp_path / "noface.mp4"
    write_video(empty, [_gray()] * 3, fps=10)
    with pytest.raises(CorruptInputError, match=r"noface\.mp4: no face found.*Fix:"):
        video_face_crops(empty, kind="zhang")


@pytest.mark.parametrize(
    ("L", "expected"),
    [
        (1, [0] * 16),
        (5, [0] * 6 + [1, 2, 3] + [4] * 7),  # paper: repeat the first 5 and the last 6
        (15, [*range(15), 14]),
        (16, list(range(16))),
        (17, list(range(1, 17))),  # mirror: the extra deletion at the start
        (20, list(range(2, 18))),
        (40, list(range(12, 28))),
    ],
)
def test_clip16_rule(L: int, expected: list[int]) -> None:
    np.testing.assert_array_equal(clip16_indices(L), expected)


def test_clip16_rejects_empty() -> None:
    with pytest.raises(ValueError, match="L >= 1"):
        clip16_indices(0)


def test_segment_frame_indices() -> None:
    bounds = np.array([[0.0, 0.655], [0.3, 0.955], [3.5, 4.155]])
    idx = segment_frame_indices(bounds, 30.0, 100)
    # [0, 0.655) at 30 fps: frames 0..19 (L = 20) -> 2..17
    np.testing.assert_array_equal(idx[0], np.arange(2, 18))
    # [0.3, 0.955): frames 9..28 -> 11..26
    np.testing.assert_array_equal(idx[1], np.arange(11, 27))
    # past the end: the last frame repeated
    np.testing.assert_array_equal(idx[2], [99] * 16)
