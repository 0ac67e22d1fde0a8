"""Synthetic signals carry the intended effects: affect model, voice cues, face expressions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emorepro.emotions import SEVEN
from emorepro.synth.affect import (
    EMOTION_AV,
    Speaker,
    annotate,
    emotion_affect,
    latent_trajectory,
    make_speakers,
)
from emorepro.synth.face import FaceRenderer
from emorepro.synth.voice import synthesize_speech

SR = 16000


@pytest.fixture(scope="module")
def speakers() -> list[Speaker]:
    return make_speakers(["s1", "s2", "s3"], rng=np.random.default_rng(7))


def _speech(speaker: Speaker, a: float, v: float, seed: int = 1) -> np.ndarray:
    return synthesize_speech(
        arousal=a, valence=v, speaker=speaker, duration_s=3.0, sr=SR,
        rng=np.random.default_rng(seed),
    ).astype(np.float64)  # fmt: skip


def _f0_autocorr(x: np.ndarray, sr: int) -> float:
    """Median autocorrelation pitch (60-500 Hz) over loud 40 ms frames."""
    win, hop, loud = int(0.04 * sr), int(0.02 * sr), 0.3 * np.sqrt(np.mean(x**2))
    lo, hi = sr // 500, sr // 60
    f0 = []
    for i in range(0, x.size - win, hop):
        frame = x[i : i + win] - x[i : i + win].mean()
        if np.sqrt(np.mean(frame**2)) < loud:
            continue
        ac = np.correlate(frame, frame, "full")[win - 1 :]
        f0.append(sr / (lo + int(np.argmax(ac[lo:hi]))))
    return float(np.median(f0))


def _cues(x: np.ndarray) -> np.ndarray:
    """(RMS, F0, energy ratio above 1 kHz)."""
    power = np.abs(np.fft.rfft(x)) ** 2
    freq = np.fft.rfftfreq(x.size, 1 / SR)
    return np.array(
        [np.sqrt(np.mean(x**2)), _f0_autocorr(x, SR), power[freq > 1000].sum() / power.sum()]
    )


def test_make_speakers_and_emotion_affect(speakers: list[Speaker]) -> None:
    assert [s.gender for s in speakers] == ["F", "M", "F"]
    assert all(190 <= s.f0_hz <= 230 for s in speakers if s.gender == "F")
    assert set(EMOTION_AV) == {*SEVEN, "boredom"}  # boredom: EmoDB's seventh class
    centres = np.array(list(EMOTION_AV.values()))
    dists = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    assert dists[~np.eye(len(centres), dtype=bool)].min() > 0.5
    a, v = emotion_affect("anger", speaker=speakers[0], rng=np.random.default_rng(0))
    assert -1 <= a <= 1 and -1 <= v <= 1
    with pytest.raises(ValueError, match="happiness"):
        emotion_affect("joy", speaker=speakers[0], rng=np.random.default_rng(0))


def test_latent_trajectory_bounded_smooth_deterministic() -> None:
    lat = latent_trajectory(3000, rng=np.random.default_rng(0))
    assert lat.shape == (3000, 2)
    assert np.abs(lat).max() <= 1.0
    assert np.abs(lat).mean() > 0.25
    assert np.abs(np.diff(lat, axis=0)).max() < 0.1
    np.testing.assert_array_equal(lat, latent_trajectory(3000, rng=np.random.default_rng(0)))


@pytest.mark.parametrize("lag_s", [1.2, 2.4, 4.0])
def test_annotation_lags_latent(lag_s: float) -> None:
    latent = latent_trajectory(4000, rng=np.random.default_rng(1))[:, 0]
    gold, raters = annotate(latent, rng=np.random.default_rng(2), lag_s=lag_s)
    assert gold.shape == latent.shape and raters.shape == (6, latent.size)
    np.testing.assert_allclose(gold, raters.mean(axis=0))
    lags = np.arange(0, 200)
    xcorr = [np.corrcoef(latent[: latent.size - k], gold[k:])[0, 1] for k in lags]
    assert abs(lags[int(np.argmax(xcorr))] * 0.04 - lag_s) <= 0.2
    # smoothing is real: gold is smoother than the shifted latent
    assert np.abs(np.diff(gold)).mean() < np.abs(np.diff(latent)).mean() + 0.05


def test_speech_shape_range_determinism(speakers: list[Speaker]) -> None:
    x = synthesize_speech(
        arousal=np.linspace(-1, 1, 63), valence=0.2, speaker=speakers[0], duration_s=2.5,
        sr=8000, rng=np.random.default_rng(3),
    )  # fmt: skip
    assert x.dtype == np.float32 and x.shape == (20000,)
    assert np.abs(x).max() <= 1.0 and np.abs(x).max() > 0.01
    y1, y2 = _speech(speakers[1], 0.3, 0.1, seed=5), _speech(speakers[1], 0.3, 0.1, seed=5)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("index", [0, 1])
def test_arousal_drives_voice_strongly_valence_weakly(speakers: list[Speaker], index: int) -> None:
    sp = speakers[index]
    low, high = _cues(_speech(sp, -0.8, 0.0)), _cues(_speech(sp, 0.8, 0.0))
    neg, pos = _cues(_speech(sp, 0.0, -0.8)), _cues(_speech(sp, 0.0, 0.8))
    assert np.all(high > low), (low, high)
    arousal_effect = np.abs(np.log(high / low))
    valence_effect = np.abs(np.log(pos / neg))
    assert np.all(valence_effect < arousal_effect), (arousal_effect, valence_effect)
    assert high[1] / low[1] > 1.4  # F0 level rises by > 6 semitones


def _detections(frame: np.ndarray) -> np.ndarray:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    found = cascade.detectMultiScale(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
    return np.asarray(found).reshape(-1, 4)


def _overlaps(box: np.ndarray, ref: tuple[int, int, int, int]) -> bool:
    x, y, w, h = box
    rx, ry, rw, rh = ref
    return bool(x < rx + rw and rx < x + w and y < ry + rh and ry < y + h)


@pytest.mark.parametrize("size", [(120, 160), (240, 320), (480, 720), (320, 180), (400, 120)])
def test_faces_detected_by_haar(speakers: list[Speaker], size: tuple[int, int]) -> None:
    for sp in speakers:
        renderer = FaceRenderer(sp, size=size)
        for a, v in [(-1, -1), (-1, 1), (1, -1), (1, 1)]:
            frame = renderer.render(arousal=a, valence=v, rng=np.random.default_rng(0))
            assert frame.shape == (*size, 3) and frame.dtype == np.uint8
            found = _detections(frame)
            assert len(found) >= 1, (sp.id, size, a, v)
            assert all(_overlaps(b, renderer.face_box()) for b in found), (found, size)


def test_valence_changes_mouth_region(speakers: list[Speaker]) -> None:
    renderer = FaceRenderer(speakers[0], size=(240, 320))
    x, y, w, h = renderer.face_box()
    smile = renderer.render(arousal=0.0, valence=1.0).astype(float)
    frown = renderer.render(arousal=0.0, valence=-1.0).astype(float)
    mouth = np.abs(smile - frown)[y + 2 * h // 3 : y + h, x : x + w].mean()
    background = np.abs(smile - frown)[:30, :30].mean()
    assert mouth > 5.0 and mouth > 10 * background + 1.0
    other = FaceRenderer(speakers[1], size=(240, 320))
    assert not np.array_equal(other.render(arousal=0, valence=0), smile)
    again = FaceRenderer(speakers[0], size=(240, 320)).render(arousal=0.0, valence=1.0)
    np.testing.assert_array_equal(again, smile.astype(np.uint8))
    f1 = renderer.render(arousal=0.2, valence=0.1, rng=np.random.default_rng(4))
    f2 = renderer.render(arousal=0.2, valence=0.1, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(f1, f2)
