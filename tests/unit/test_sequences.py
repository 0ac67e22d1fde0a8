"""Sequences for the end-to-end models: resampling, standardisation, windows, datasets."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.signal
import torch

from emorepro.errors import ConfigError
from emorepro.training.sequences import (
    SAMPLES_PER_FRAME,
    AudioSequences,
    AVSequences,
    VideoSequences,
    cut_sequences,
    label_frame_indices,
    resample_16k,
    standardise_audio,
)

# --------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("sr", [44100, 48000, 22050, 8000, 16000])
def test_resample_length_and_reference(sr: int) -> None:
    rng = np.random.default_rng(sr)
    x = rng.standard_normal(sr // 3 + 7)
    y = resample_16k(x, sr)
    assert y.dtype == np.float32
    assert len(y) == math.ceil(len(x) * 16000 / sr)
    ratio = Fraction(16000, sr)
    ref = x if sr == 16000 else scipy.signal.resample_poly(x, ratio.numerator, ratio.denominator)
    np.testing.assert_allclose(y, ref.astype(np.float32), rtol=0, atol=1e-6)


def test_resample_keeps_frequency() -> None:
    sr = 44100
    t = np.arange(sr) / sr  # 1 s
    y = resample_16k(np.sin(2 * np.pi * 440.0 * t), sr)
    spectrum = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(len(y), 1 / 16000)
    assert freqs[np.argmax(spectrum)] == pytest.approx(440.0, abs=1.0)


@pytest.mark.parametrize("sr", [0, -16000, 44100.5])
def test_resample_rejects_bad_rates(sr: float) -> None:
    with pytest.raises(ValueError, match="sample rate"):
        resample_16k(np.ones(100), sr)


def test_resample_rejects_empty_and_2d() -> None:
    with pytest.raises(ValueError, match="1-D"):
        resample_16k(np.zeros(0), 44100)
    with pytest.raises(ValueError, match="1-D"):
        resample_16k(np.zeros((10, 2)), 44100)


# --------------------------------------------------------------------------- standardisation


def test_standardise_formula() -> None:
    x = np.random.default_rng(1).normal(3.0, 0.2, size=5000)
    z = standardise_audio(x)
    ref = (x - x.mean()) / np.sqrt(np.mean((x - x.mean()) ** 2))
    np.testing.assert_allclose(z, ref, atol=1e-5)
    assert abs(float(z.mean())) < 1e-5 and float(z.std()) == pytest.approx(1.0, abs=1e-5)


def test_standardise_degenerate_inputs() -> None:
    with pytest.raises(ValueError, match="constant"):
        standardise_audio(np.zeros(100))
    with pytest.raises(ValueError, match="NaN"):
        standardise_audio(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ConfigError, match="per="):
        standardise_audio(np.arange(10.0), per="sequence")


# --------------------------------------------------------------------------- windows


@pytest.mark.parametrize(
    ("n", "steps", "hop", "expected"),
    [
        (10, 5, None, [(0, 5), (5, 10)]),
        (12, 5, None, [(0, 5), (5, 10), (7, 12)]),
        (5, 5, None, [(0, 5)]),
        (6, 5, None, [(0, 5), (1, 6)]),
        (12, 5, 2, [(0, 5), (2, 7), (4, 9), (6, 11), (7, 12)]),
        (11, 5, 3, [(0, 5), (3, 8), (6, 11)]),
        (7501, 150, None, [(150 * k, 150 * k + 150) for k in range(50)] + [(7351, 7501)]),
    ],
)
def test_cut_sequences_cases(n: int, steps: int, hop: int | None, expected: list) -> None:
    assert cut_sequences(n, steps=steps, hop=hop) == expected


@pytest.mark.parametrize("seed", range(5))
def test_cut_sequences_cover_every_frame(seed: int) -> None:
    rng = np.random.default_rng(seed)
    steps = int(rng.integers(1, 20))
    n = int(rng.integers(steps, 200))
    hop = int(rng.integers(1, steps + 1))
    spans = cut_sequences(n, steps=steps, hop=hop)
    covered = np.zeros(n, dtype=int)
    for a, b in spans:
        assert b - a == steps and 0 <= a and b <= n
        covered[a:b] += 1
    assert covered.min() >= 1
    assert [a for a, _ in spans] == sorted({a for a, _ in spans})
    assert spans[-1][1] == n


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n_frames=4, steps=5), ValueError, "shorter than one sequence"),
        (dict(n_frames=10, steps=0), ConfigError, "steps"),
        (dict(n_frames=10, steps=5, hop=0), ConfigError, "hop"),
        (dict(n_frames=10, steps=5, hop=6), ConfigError, "skip frames"),
        (dict(n_frames=0, steps=5), ConfigError, "n_frames"),
    ],
)
def test_cut_sequences_rejects(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        cut_sequences(**kwargs)


# --------------------------------------------------------------------------- video timing


def _nearest(n_labels: int, fps: float, n_video: int) -> np.ndarray:
    t = np.arange(n_labels) * 0.04
    stamps = np.arange(n_video) / fps
    return np.abs(t[:, None] - stamps[None, :]).argmin(axis=1)


@pytest.mark.parametrize(("fps", "n_video"), [(25.0, 20), (30.0, 24), (29.97, 24), (15.0, 12)])
def test_label_frame_indices_nearest(fps: float, n_video: int) -> None:
    n_labels = int(n_video / fps / 0.04)
    np.testing.assert_array_equal(
        label_frame_indices(n_labels, fps, n_video), _nearest(n_labels, fps, n_video)
    )


def test_label_frame_indices_recola_shape() -> None:
    idx = label_frame_indices(7501, 25.0, 7500)
    np.testing.assert_array_equal(idx[:7500], np.arange(7500))
    assert idx[7500] == 7499
    np.testing.assert_array_equal(label_frame_indices(6, 30.0, 10), [0, 1, 2, 4, 5, 6])


def test_label_frame_indices_short_video() -> None:
    with pytest.raises(ValueError, match="video has"):
        label_frame_indices(100, 25.0, 50)


# --------------------------------------------------------------------------- datasets


def _ramp_recording(n_labels: int, align: str, extra: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Audio sample n has value n; labels (i, 1000 + i)."""
    n_samples = (n_labels - (1 if align == "end" else 0)) * SAMPLES_PER_FRAME + extra
    audio = np.arange(n_samples, dtype=np.float32)
    labels = np.stack([np.arange(n_labels), 1000 + np.arange(n_labels)], axis=1)
    return audio, labels.astype(np.float32)


@pytest.mark.parametrize("align", ["end", "start"])
def test_audio_sequences_alignment(align: str) -> None:
    recs = [_ramp_recording(25, align, extra=1234), _ramp_recording(13, align)]
    ds = AudioSequences(recs, steps=10, items=["a", "b"], align=align)
    assert ds.windows == [(0, 0, 10), (0, 10, 20), (0, 15, 25), (1, 0, 10), (1, 3, 13)]
    assert len(ds) == 5
    lag = 1 if align == "end" else 0
    for idx in range(len(ds)):
        x = ds[idx]
        assert set(x) == {"audio", "target", "item", "start"}
        assert x["audio"].shape == (10 * 640,) and x["audio"].dtype == torch.float32
        assert x["target"].shape == (10, 2) and x["target"].dtype == torch.float32
        _, a, _ = ds.windows[idx]
        assert x["start"] == a and x["item"] == ["a", "b"][ds.windows[idx][0]]
        for j in range(10):
            i = a + j
            assert x["target"][j].tolist() == [i, 1000 + i]
            chunk = x["audio"][j * 640 : (j + 1) * 640].numpy()
            first = (i - lag) * 640
            expected = np.arange(first, first + 640) if i - lag >= 0 else np.zeros(640)
            np.testing.assert_array_equal(chunk, expected)


def test_audio_sequences_pads_one_missing_frame_only() -> None:
    audio, labels = _ramp_recording(12, "end")
    ds = AudioSequences([(audio[:-640], labels)], steps=12)
    np.testing.assert_array_equal(ds[0]["audio"][-640:].numpy(), np.zeros(640))
    with pytest.raises(ValueError, match="item rec7: audio has"):
        AudioSequences([(audio[:-641], labels)], steps=12, items=["rec7"])


def test_default_collate_batches() -> None:
    ds = AudioSequences([_ramp_recording(30, "end")], steps=10)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert batch["audio"].shape == (3, 6400) and batch["target"].shape == (3, 10, 2)
    assert batch["item"] == ["0", "0", "0"] and batch["start"].tolist() == [0, 10, 20]


@pytest.mark.parametrize(
    ("recordings", "kwargs", "match"),
    [
        ([(np.zeros(6400), np.zeros((10, 3)))], {}, r"labels must be \(T, 2\)"),
        ([(np.zeros(6400), np.full((10, 2), np.nan))], {}, "NaN"),
        ([(np.zeros(6400), np.zeros((8, 2)))], {}, "item 0: .*shorter than one sequence"),
        ([], {}, "no recordings"),
        ([(np.zeros(6400), np.zeros((10, 2)))] * 2, {"items": ["x", "x"]}, "not unique"),
        ([(np.zeros(6400), np.zeros((10, 2)))], {"items": ["x", "y"]}, "2 item names"),
    ],
)
def test_dataset_rejects_bad_input(recordings: list, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AudioSequences(recordings, steps=10, **kwargs)


def _coded_crops(n: int, size: int = 96) -> np.ndarray:
    """Frame i: every pixel (i, 2i, 255 - i)."""
    crops = np.zeros((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        crops[i] = (i, 2 * i, 255 - i)
    return crops


def test_video_sequences_shapes_and_alignment() -> None:
    n = 12
    labels = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float32)
    ds = VideoSequences([(_coded_crops(n), labels)], steps=5, items=["v"])
    assert [w[1:] for w in ds.windows] == [(0, 5), (5, 10), (7, 12)]
    for idx in range(len(ds)):
        x = ds[idx]
        assert x["frames"].shape == (5, 3, 96, 96) and x["frames"].dtype == torch.float32
        for j in range(5):
            i = x["start"] + j
            assert x["target"][j].tolist() == [i, -i]
            for c, v in enumerate((i, 2 * i, 255 - i)):
                assert torch.all(x["frames"][j, c] == torch.tensor(v / 255.0))


def test_video_sequences_reject_bad_crops() -> None:
    labels = np.zeros((10, 2), np.float32)
    with pytest.raises(ValueError, match="uint8"):
        VideoSequences([(np.zeros((10, 96, 96, 3), np.float32), labels)], steps=5)
    with pytest.raises(ValueError, match="9 crops but 10 label frames"):
        VideoSequences([(_coded_crops(9), labels)], steps=5)


def test_video_transform_gets_the_window_crops() -> None:
    n = 12
    seen: list[np.ndarray] = []

    def transform(crops: np.ndarray) -> torch.Tensor:
        seen.append(crops)
        return torch.from_numpy(crops[:, :2, :2, 0].astype(np.float32))

    ds = VideoSequences([(_coded_crops(n, 8), np.zeros((n, 2)))], steps=5, transform=transform)
    x = ds[2]  # window (7, 12)
    assert seen[-1].dtype == np.uint8 and seen[-1].shape == (5, 8, 8, 3)
    np.testing.assert_array_equal(seen[-1][:, 0, 0], [(i, 2 * i, 255 - i) for i in range(7, 12)])
    assert x["frames"].shape == (5, 2, 2)
    assert x["frames"][:, 0, 0].tolist() == list(range(7, 12))


def test_av_sequences_both_inputs() -> None:
    audio, labels = _ramp_recording(12, "end")
    ds = AVSequences([(audio, _coded_crops(12, 16), labels)], steps=6, items=["p1"])
    assert len(ds) == 2
    x = ds[1]
    assert x["start"] == 6 and x["item"] == "p1"
    assert x["audio"].shape == (6 * 640,) and x["frames"].shape == (6, 3, 16, 16)
    np.testing.assert_array_equal(x["audio"][:640].numpy(), np.arange(5 * 640, 6 * 640))
    assert float(x["frames"][0, 0, 0, 0]) == pytest.approx(6 / 255)
    assert x["target"][:, 0].tolist() == list(range(6, 12))


def test_av_sequences_landmarks_follow_the_window() -> None:
    audio, labels = _ramp_recording(12, "end")
    lm = np.arange(12 * 4, dtype=np.float64).reshape(12, 4)
    ds = AVSequences([(audio, _coded_crops(12, 16), labels)], steps=6, landmarks=[lm])
    x = ds[1]
    assert x["landmarks"].dtype == torch.float32 and x["landmarks"].shape == (6, 4)
    np.testing.assert_array_equal(x["landmarks"].numpy(), lm[6:12])
    assert "landmarks" not in AVSequences([(audio, _coded_crops(12, 16), labels)], steps=6)[0]
    with pytest.raises(ValueError, match="label frames"):
        AVSequences([(audio, _coded_crops(12, 16), labels)], steps=6, landmarks=[lm[:10]])
    with pytest.raises(ValueError, match="NaN"):
        AVSequences([(audio, _coded_crops(12, 16), labels)], steps=6, landmarks=[lm * np.nan])
    with pytest.raises(ValueError, match="2 landmark arrays for 1"):
        AVSequences([(audio, _coded_crops(12, 16), labels)], steps=6, landmarks=[lm, lm])
