"""Zhang et al. (002) audio input: log Mel-spectrogram segments of 64 x 64 x 3 (static, Δ, ΔΔ).

Pipeline (per utterance, numpy/scipy only):

1. Frames of ``win = round(0.025 sr)`` samples every ``hop = round(0.010 sr)`` samples (halves
   rounded up), no centring pad, so ``T = 1 + (n - win) // hop``; a signal shorter than one window
   is zero-padded to one window (T = 1). No pre-emphasis, no DC removal (the paper names none).
2. Symmetric Hamming window (MATLAB ``hamming(win)``, as MatConvNet/VOICEBOX front ends use),
   ``n_fft`` = next power of two >= win, power spectrum ``|rfft|^2`` (unnormalised).
3. 64 triangular filters, 20-8000 Hz, on the HTK mel scale ``m = 2595 log10(1 + f/700)``:
   centres equally spaced in mel, peak 1, evaluated at the exact bin frequencies ``k sr/n_fft``.
4. ``log(mel + 1e-10)`` (natural log; 1e-10 is the floor of librosa's ``power_to_db``).
5. Δ and ΔΔ on the *whole* utterance (:func:`deltas`, N = 2), then 64-frame windows every
   30 frames (:func:`segments`).

**Sampling rate (not stated in the paper).** Audio is kept at its native rate (RML 22.05 kHz,
eNTERFACE05 48 kHz): the Mel bank is defined in Hz and ``fmax = 8000 Hz`` is below every Nyquist
frequency >= 16 kHz, so resampling would only change the FFT resolution. Window and hop are set
in seconds, so frames keep 25 ms / 10 ms at any rate (``n_fft`` is 512 at 16 kHz, 1024 at
22.05 kHz, 2048 at 48 kHz). Rates below 16 kHz are rejected (fmax above Nyquist).

**Segment shift (the paper contradicts itself).** "A shift size of 30 frames ..., i.e., two
adjacent segments are overlapped with 30 frames": either shift 30 (overlap 34) or overlap 30
(shift 34). The reported segment counts decide. With ``n_seg = 1 + floor((T - 64)/s)`` the mean
count is about ``0.5 + (mean T - 64)/s``; solving for the mean clip length:

* RML: 11,316 / 720 = 15.72 segments per clip -> s = 30: T = 64 + 15.22 * 30 = 521 frames
  (5.2 s); s = 34: T = 581 frames (5.8 s). The paper says "around 5 seconds".
* eNTERFACE05: 16,186 / 1290 = 12.55 -> s = 30: T = 64 + 12.05 * 30 = 426 frames (4.3 s);
  s = 34: T = 474 frames (4.7 s). The paper says "in average 3-4 seconds".

Shift 30 is closer in both corpora, so ``shift = 30`` (hop 10 ms: the paper's own duration
formula 10 ms x (64 - 1) + 25 ms = 655 ms needs a 10 ms hop, not a 10 ms overlap).

**64 x 15 x 3 variant (Table IV).** Its shift is not stated; the default shift scales with the
length, ``round(length * 30 / 64)``: 30 for 64 frames, 7 for 15 frames (same ~47 % step).
Trailing frames that do not fill a whole segment are dropped (the paper's counts imply it).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import get_window

LOG_EPS = 1e-10
"""Floor added to the Mel energies before the natural log."""

PAPER_SHIFT = 30
"""Zhang et al.'s shift (frames) for 64-frame segments."""

PAPER_LENGTH = 64


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: m = 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`: f = 700 (10^(m / 2595) - 1)."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def frame_params(sr: int, *, win_s: float = 0.025, hop_s: float = 0.010) -> tuple[int, int, int]:
    """(win, hop, n_fft) in samples: win, hop rounded half up; n_fft = next power of 2 >= win."""
    if sr <= 0 or win_s <= 0 or hop_s <= 0:
        raise ValueError(f"need sr, win_s, hop_s > 0, got sr={sr}, win_s={win_s}, hop_s={hop_s}")
    win = max(1, _round_half_up(win_s * sr))
    hop = max(1, _round_half_up(hop_s * sr))
    return win, hop, 1 << (win - 1).bit_length()


def n_frames(n_samples: int, sr: int, *, win_s: float = 0.025, hop_s: float = 0.010) -> int:
    """Number of STFT frames: 1 + (n - win) // hop, and 1 for 0 < n < win."""
    if n_samples <= 0:
        raise ValueError(f"n_samples must be > 0, got {n_samples}")
    win, hop, _ = frame_params(sr, win_s=win_s, hop_s=hop_s)
    return 1 + max(0, n_samples - win) // hop


def mel_filterbank(
    sr: int, n_fft: int, *, n_mels: int = 64, fmin: float = 20.0, fmax: float = 8000.0
) -> np.ndarray:
    """Triangular HTK-mel filters, shape (n_mels, n_fft // 2 + 1), peak 1.

    Edges ``f_0 .. f_{n_mels+1}`` are equally spaced in mel between fmin and fmax; filter i
    rises linearly from f_{i-1} to 1 at f_i and falls to 0 at f_{i+1} (1-based centres), so
    between the first and last centre the filters sum to exactly 1.
    """
    if not 0 <= fmin < fmax:
        raise ValueError(f"need 0 <= fmin < fmax, got fmin={fmin}, fmax={fmax}")
    if fmax > sr / 2:
        raise ValueError(
            f"fmax={fmax} Hz is above the Nyquist frequency {sr / 2} Hz of sr={sr}; "
            f"use audio sampled at >= {2 * fmax:g} Hz or lower fmax"
        )
    if n_mels < 1 or n_fft < 2:
        raise ValueError(f"need n_mels >= 1 and n_fft >= 2, got {n_mels}, {n_fft}")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    edges[0], edges[-1] = fmin, fmax  # exact band limits (no round-trip error)
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    lo, centre, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lo) / (centre - lo)
    falling = (hi - freqs[None, :]) / (hi - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def _check_signal(signal: np.ndarray, source: str) -> np.ndarray:
    x = np.asarray(signal, dtype=np.float64)
    where = f"{source}: " if source else ""
    if x.ndim != 1:
        raise ValueError(f"{where}expected a mono 1-D signal, got shape {x.shape}; mix down first")
    if x.size == 0:
        raise ValueError(f"{where}audio signal is empty (0 samples); check the source file")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{where}audio signal contains NaN or Inf; re-encode the source file")
    return x


def log_mel(
    signal: np.ndarray,
    sr: int,
    *,
    n_mels: int = 64,
    fmin: float = 20.0,
    fmax: float = 8000.0,
    win_s: float = 0.025,
    hop_s: float = 0.010,
    source: str = "",
) -> np.ndarray:
    """Log Mel-spectrogram (n_mels, T) float64 of a mono signal (see module docstring)."""
    x = _check_signal(signal, source)
    if fmax > sr / 2:
        where = f"{source}: " if source else ""
        raise ValueError(
            f"{where}sampling rate {sr} Hz is too low for a Mel bank up to {fmax:g} Hz "
            f"(Nyquist {sr / 2:g} Hz); resample the audio to >= {2 * fmax:g} Hz"
        )
    win, hop, n_fft = frame_params(sr, win_s=win_s, hop_s=hop_s)
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    t = 1 + (x.size - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(t)[:, None]
    frames = x[idx] * get_window("hamming", win, fftbins=False)[None, :]
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2
    fb = mel_filterbank(sr, n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return np.log(fb @ power.T + LOG_EPS)


def deltas(x: np.ndarray, *, N: int = 2) -> np.ndarray:
    """Regression deltas along the last (time) axis, same shape as x.

    d_t = sum_{n=1..N} n (c_{t+n} - c_{t-n}) / (2 sum_{n=1..N} n^2); frames outside the
    utterance are the first/last frame repeated (HTK convention).
    """
    if N < 1:
        raise ValueError(f"N must be >= 1, got {N}")
    c = np.asarray(x, dtype=np.float64)
    if c.ndim < 1 or c.shape[-1] == 0:
        raise ValueError(f"deltas need at least one frame on the last axis, got shape {c.shape}")
    t = c.shape[-1]
    pad = [(0, 0)] * (c.ndim - 1) + [(N, N)]
    p = np.pad(c, pad, mode="edge")
    num = np.zeros_like(c)
    for n in range(1, N + 1):
        num += n * (p[..., N + n : N + n + t] - p[..., N - n : N - n + t])
    return num / (2.0 * sum(n * n for n in range(1, N + 1)))


def stack_deltas(static: np.ndarray, *, N: int = 2) -> np.ndarray:
    """(n_mels, T) static -> (n_mels, T, 3): static, Δ = deltas(static), ΔΔ = deltas(Δ)."""
    s = np.asarray(static, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"expected a (n_mels, T) log-Mel array, got shape {s.shape}")
    d1 = deltas(s, N=N)
    return np.stack([s, d1, deltas(d1, N=N)], axis=-1)


def default_shift(length: int) -> int:
    """Shift used when none is given: round(length * 30 / 64) (30 for 64, 7 for 15)."""
    return max(1, _round_half_up(length * PAPER_SHIFT / PAPER_LENGTH))


def _pad_edges(x: np.ndarray, length: int) -> np.ndarray:
    """Repeat edge frames (axis 1) to ``length``: front floor(missing/2), back the rest."""
    missing = length - x.shape[1]
    if missing <= 0:
        return x
    pad = [(0, 0)] * x.ndim
    pad[1] = (missing // 2, missing - missing // 2)
    return np.pad(x, pad, mode="edge")


def segments(x3: np.ndarray, *, length: int = 64, shift: int | None = None) -> np.ndarray:
    """Cut (n_mels, T, C) into (n_seg, n_mels, length, C) windows starting at k * shift.

    n_seg = 1 + (T - length) // shift (trailing frames dropped). If T < length the input is
    first padded to one segment by repeating its edge frames (front floor, back ceil of the
    missing count).
    """
    x = np.asarray(x3)
    if x.ndim != 3 or x.shape[1] == 0:
        raise ValueError(f"expected (n_mels, T, channels) with T >= 1, got shape {x.shape}")
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    shift = default_shift(length) if shift is None else shift
    if shift < 1:
        raise ValueError(f"shift must be >= 1, got {shift}")
    x = _pad_edges(x, length)
    n_seg = 1 + (x.shape[1] - length) // shift
    starts = shift * np.arange(n_seg)
    idx = starts[:, None] + np.arange(length)[None, :]
    return np.moveaxis(x[:, idx, :], 1, 0)


def segment_count(
    n_samples: int,
    sr: int,
    *,
    length: int = 64,
    shift: int | None = None,
    win_s: float = 0.025,
    hop_s: float = 0.010,
) -> int:
    """Closed form of len(utterance_segments(...)): 1 + max(0, T - length) // shift."""
    shift = default_shift(length) if shift is None else shift
    t = n_frames(n_samples, sr, win_s=win_s, hop_s=hop_s)
    return 1 + max(0, t - length) // shift


def segment_bounds_s(
    n_seg: int,
    sr: int,
    *,
    length: int = 64,
    shift: int | None = None,
    win_s: float = 0.025,
    hop_s: float = 0.010,
) -> np.ndarray:
    """(n_seg, 2) start/end times (s) of each segment's audio: [k*shift*hop, +(length-1)*hop+win).

    For the paper's values the span is 655 ms (10 ms x 63 + 25 ms); use it to pick the video
    frames of the matching visual segment.
    """
    shift = default_shift(length) if shift is None else shift
    win, hop, _ = frame_params(sr, win_s=win_s, hop_s=hop_s)
    start = np.arange(n_seg) * shift * hop / sr
    return np.stack([start, start + ((length - 1) * hop + win) / sr], axis=1)


def utterance_segments(
    signal: np.ndarray,
    sr: int,
    *,
    length: int = 64,
    shift: int | None = None,
    n_mels: int = 64,
    source: str = "",
) -> np.ndarray:
    """Signal -> float32 (n_seg, n_mels, length, 3) Zhang segments.

    An utterance shorter than one segment has its *static* log-Mel padded by repeating edge
    frames before the deltas, so the padded frames have zero Δ/ΔΔ.
    """
    static = _pad_edges(log_mel(signal, sr, n_mels=n_mels, source=source), length)
    return segments(stack_deltas(static), length=length, shift=shift).astype(np.float32)
