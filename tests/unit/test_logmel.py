"""Zhang log-Mel segments: filterbank, frames, deltas and segments vs written-out formulas."""

from __future__ import annotations

import numpy as np
import pytest

from emorepro.features.logmel import (
    LOG_EPS,
    deltas,
    frame_params,
    log_mel,
    mel_filterbank,
    segment_bounds_s,
    segment_count,
    segments,
    stack_deltas,
    utterance_segments,
)


def _mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def _centres_hz(n_mels: int = 64, fmin: float = 20.0, fmax: float = 8000.0) -> np.ndarray:
    m = np.linspace(_mel(fmin), _mel(fmax), n_mels + 2)
    return 700.0 * (10 ** (m / 2595.0) - 1.0)


@pytest.mark.parametrize(
    ("sr", "win", "hop", "n_fft"),
    [(16000, 400, 160, 512), (22050, 551, 221, 1024), (44100, 1103, 441, 2048),
     (48000, 1200, 480, 2048)],
)  # fmt: skip
def test_frame_params(sr: int, win: int, hop: int, n_fft: int) -> None:
    assert frame_params(sr) == (win, hop, n_fft)


def test_filterbank_triangles_peak_at_mel_centres() -> None:
    sr, n_fft = 16000, 1 << 16  # 0.24 Hz bins: the sampled triangles are nearly continuous
    fb = mel_filterbank(sr, n_fft)
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    edges = _centres_hz()
    assert fb.shape == (64, n_fft // 2 + 1)
    df = sr / n_fft
    for i in range(64):
        lo, c, hi = edges[i], edges[i + 1], edges[i + 2]
        assert abs(freqs[np.argmax(fb[i])] - c) <= df
        tol = df / min(c - lo, hi - c)  # one bin off the apex or the half-height point
        assert fb[i].max() == pytest.approx(1.0, abs=tol)
        support = freqs[fb[i] > 0]
        assert support.min() >= lo - 1e-6 and support.max() <= hi + 1e-6
        assert support.min() - lo <= df + 1e-6 and hi - support.max() <= df + 1e-6
        # linear flanks: half height at the mid-points of each side
        for f in ((lo + c) / 2, (c + hi) / 2):
            assert fb[i, np.argmin(np.abs(freqs - f))] == pytest.approx(0.5, abs=tol)
    assert edges[0] == pytest.approx(20.0) and edges[-1] == pytest.approx(8000.0)


@pytest.mark.parametrize(("sr", "n_fft"), [(16000, 512), (22050, 1024), (48000, 2048)])
def test_filterbank_covers_band_and_sums_to_one(sr: int, n_fft: int) -> None:
    fb = mel_filterbank(sr, n_fft)
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    edges = _centres_hz()
    total = fb.sum(axis=0)
    inner = (freqs >= edges[1]) & (freqs <= edges[-2])
    np.testing.assert_allclose(total[inner], 1.0, atol=1e-12)
    assert np.all(total[(freqs <= 20.0) | (freqs >= 8000.0)] == 0.0)
    assert np.all(total[(freqs > 20.0) & (freqs < 8000.0)] > 0.0)
    assert np.all(fb.max(axis=1) > 0.0)  # no empty filter at these resolutions


@pytest.mark.parametrize("tone_hz", [300.0, 1000.0, 2500.0, 6000.0])
@pytest.mark.parametrize("sr", [16000, 22050, 48000])
def test_pure_tone_lands_in_its_band(tone_hz: float, sr: int) -> None:
    t = np.arange(sr) / sr
    x = 0.5 * np.sin(2 * np.pi * tone_hz * t)
    lm = log_mel(x, sr)
    peak_band = int(np.argmax(lm.mean(axis=1)))
    nearest = int(np.argmin(np.abs(_centres_hz()[1:-1] - tone_hz)))
    assert abs(peak_band - nearest) <= 1
    assert lm.mean(axis=1)[peak_band] > np.median(lm.mean(axis=1)) + 10.0


def test_log_mel_against_direct_formula() -> None:
    rng = np.random.default_rng(0)
    sr = 16000
    x = rng.normal(0, 0.1, 4000)
    lm = log_mel(x, sr)
    # frame 3 by hand: samples [480, 880), symmetric Hamming, |FFT_512|^2, mel, log
    seg = x[480:880] * (0.54 - 0.46 * np.cos(2 * np.pi * np.arange(400) / 399))
    power = np.abs(np.fft.fft(seg, 512)[:257]) ** 2
    expect = np.log(mel_filterbank(sr, 512) @ power + LOG_EPS)
    np.testing.assert_allclose(lm[:, 3], expect, rtol=1e-10)


@pytest.mark.parametrize("sr", [16000, 22050, 48000])
@pytest.mark.parametrize("seconds", [0.025, 0.1, 1.0, 3.337])
def test_log_mel_frame_count(sr: int, seconds: float) -> None:
    n = int(seconds * sr)
    win, hop, _ = frame_params(sr)
    lm = log_mel(np.random.default_rng(1).normal(size=n) * 0.1, sr)
    assert lm.shape == (64, 1 + (n - win) // hop)


def test_log_mel_short_signal_is_one_frame_and_silence_is_floor() -> None:
    assert log_mel(np.full(100, 0.1), 16000).shape == (64, 1)
    np.testing.assert_allclose(log_mel(np.zeros(1600), 16000), np.log(LOG_EPS))


def _deltas_loop(c: np.ndarray, N: int) -> np.ndarray:
    t_len = c.shape[1]
    out = np.zeros_like(c)
    denom = 2 * sum(n * n for n in range(1, N + 1))
    for t in range(t_len):
        for n in range(1, N + 1):
            ahead = c[:, min(t + n, t_len - 1)]
            behind = c[:, max(t - n, 0)]
            out[:, t] += n * (ahead - behind)
    return out / denom


@pytest.mark.parametrize("N", [1, 2, 3])
@pytest.mark.parametrize("t_len", [1, 2, 5, 40])
def test_deltas_match_loop(N: int, t_len: int) -> None:
    c = np.random.default_rng(t_len).normal(size=(6, t_len))
    np.testing.assert_allclose(deltas(c, N=N), _deltas_loop(c, N), atol=1e-12)


def test_deltas_of_linear_ramp_is_slope_inside() -> None:
    c = np.tile(3.0 * np.arange(20.0), (2, 1))
    d = deltas(c, N=2)
    np.testing.assert_allclose(d[:, 2:-2], 3.0)


def test_stack_deltas_channels() -> None:
    s = np.random.default_rng(3).normal(size=(4, 30))
    x3 = stack_deltas(s)
    assert x3.shape == (4, 30, 3)
    np.testing.assert_array_equal(x3[..., 0], s)
    np.testing.assert_allclose(x3[..., 1], _deltas_loop(s, 2))
    np.testing.assert_allclose(x3[..., 2], _deltas_loop(_deltas_loop(s, 2), 2))


def test_segments_windows_and_count() -> None:
    x3 = np.arange(2 * 200 * 3, dtype=float).reshape(2, 200, 3)
    seg = segments(x3, length=64, shift=30)
    assert seg.shape == (1 + (200 - 64) // 30, 2, 64, 3)  # 5 segments
    for k in range(seg.shape[0]):
        np.testing.assert_array_equal(seg[k], x3[:, 30 * k : 30 * k + 64, :])


def test_segments_pad_short_input_with_edge_frames() -> None:
    x3 = np.arange(1 * 5 * 1, dtype=float).reshape(1, 5, 1)
    seg = segments(x3, length=9, shift=4)
    assert seg.shape == (1, 1, 9, 1)
    np.testing.assert_array_equal(seg[0, 0, :, 0], [0, 0, 0, 1, 2, 3, 4, 4, 4])


@pytest.mark.parametrize("sr", [16000, 22050, 48000])
@pytest.mark.parametrize("seconds", [0.1, 0.655, 0.66, 1.0, 2.345, 5.0])
@pytest.mark.parametrize(("length", "shift"), [(64, 30), (15, 7), (64, None), (15, None)])
def test_segment_counts_closed_form(sr: int, seconds: float, length: int, shift: int) -> None:
    n = round(seconds * sr)
    x = np.random.default_rng(2).normal(size=n) * 0.1
    seg = utterance_segments(x, sr, length=length, shift=shift)
    assert seg.shape == (segment_count(n, sr, length=length, shift=shift), 64, length, 3)
    assert seg.dtype == np.float32
    win, hop, _ = frame_params(sr)
    t_len = 1 + (n - win) // hop
    s = shift if shift is not None else {64: 30, 15: 7}[length]
    assert seg.shape[0] == (1 if t_len <= length else 1 + (t_len - length) // s)


def test_paper_segment_duration_and_five_second_clip() -> None:
    bounds = segment_bounds_s(3, 16000)
    np.testing.assert_allclose(bounds[:, 1] - bounds[:, 0], 0.655)
    np.testing.assert_allclose(bounds[:, 0], [0.0, 0.3, 0.6])
    # a 5 s clip -> 498 frames -> 1 + 434 // 30 = 15 segments (paper mean: 15.7 for RML)
    assert segment_count(5 * 16000, 16000) == 15


def test_utterance_segments_match_manual_pipeline_and_are_deterministic() -> None:
    sr = 22050
    x = np.random.default_rng(5).normal(size=sr) * 0.1
    seg = utterance_segments(x, sr)
    x3 = stack_deltas(log_mel(x, sr))
    np.testing.assert_allclose(seg[1], x3[:, 30:94, :].astype(np.float32))
    np.testing.assert_array_equal(seg, utterance_segments(x.copy(), sr))
    short = utterance_segments(x[: sr // 10], sr, length=64)
    assert short.shape == (1, 64, 64, 3)
    assert np.all(short[0, :, :10, 1:] == 0.0)  # padded static frames: zero deltas


def test_errors_name_the_source() -> None:
    with pytest.raises(ValueError, match=r"clip\.wav.*empty"):
        log_mel(np.zeros(0), 16000, source="clip.wav")
    with pytest.raises(ValueError, match=r"clip\.wav.*NaN"):
        log_mel(np.array([0.0, np.nan, 0.1]), 16000, source="clip.wav")
    with pytest.raises(ValueError, match=r"clip\.wav.*8000 Hz.*resample"):
        utterance_segments(np.zeros(8000), 8000, source="clip.wav")
    with pytest.raises(ValueError, match="mono"):
        log_mel(np.zeros((2, 100)), 16000)
    with pytest.raises(ValueError, match="Nyquist"):
        mel_filterbank(11025, 512)
    with pytest.raises(ValueError, match="shift"):
        segments(np.zeros((2, 100, 3)), shift=0)
