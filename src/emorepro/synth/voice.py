"""Source-filter speech-like synthesiser driven by latent arousal and valence.

Model (all per sample, vectorised):

* syllables of duration ~ 1 / rate with rate = 4 * 2^(0.45 a) syllables/s, separated by short
  pauses (and sometimes phrase breaks); an optional unvoiced onset (filtered noise) and a
  voiced nucleus with one of five vowels;
* F0 = f0_speaker * 2^((5 a + accent + 1.2 v pos + decl) / 12) with a per-syllable rise-fall
  accent of (1.5 + 2.5 (a + 1)) semitones and jitter that grows as valence falls;
* excitation = derivative of a Rosenberg glottal pulse whose closing phase shortens with
  arousal, plus a pre-emphasis term k(a) = 0.9 (a + 1) / 2 (flatter spectral tilt);
* vocal tract = cascade of 4 formant resonators per vowel (scaled by speaker timbre and by
  1 + 0.04 mean(v)), vowels cross-faded per syllable;
* level = 0.035 * 10^(12 a / 20) (+-12 dB over the arousal range).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

from emorepro.synth.affect import Speaker

#: Male reference formants (F1, F2, F3, F4) in Hz for /a/, /e/, /i/, /o/, /u/.
_VOWELS = np.array(
    [
        [730.0, 1090.0, 2440.0, 3400.0],
        [530.0, 1840.0, 2480.0, 3500.0],
        [270.0, 2290.0, 3010.0, 3600.0],
        [570.0, 840.0, 2410.0, 3300.0],
        [300.0, 870.0, 2240.0, 3300.0],
    ]
)
_BANDWIDTHS = np.array([80.0, 100.0, 150.0, 200.0])
_JITTER_STEP = 80  # samples per jitter value (5 ms at 16 kHz)


def _per_sample(value: float | np.ndarray, n: int, sr: int, frame_s: float) -> np.ndarray:
    """Scalar or per-frame values (frame i at time i*frame_s) linearly interpolated to samples."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"per-frame affect must be a non-empty 1-D array, got {arr.shape}")
    t = np.arange(n) / sr
    return np.clip(np.interp(t, np.arange(arr.size) * frame_s, arr), -1.0, 1.0)


def _timbre(speaker: Speaker) -> float:
    """Formant scale: vocal-tract length by gender, +-5 % individual spread from the seed."""
    base = 1.17 if speaker.gender == "F" else 1.0
    return base * float(np.random.default_rng(speaker.seed).uniform(0.95, 1.05))


def _syllables(arousal: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Syllable table, rows (start, onset_end, end, vowel, stress, accent_sign) in samples."""
    n = arousal.size
    rows = []
    t = int(rng.integers(0, int(0.15 * sr) + 1))
    while t < n:
        a = arousal[t]
        dur = int(sr * rng.uniform(0.75, 1.25) / (4.0 * 2.0 ** (0.45 * a)))
        dur = max(dur, int(0.06 * sr))
        onset = int(dur * rng.uniform(0.15, 0.35)) if rng.random() < 0.5 else 0
        rows.append(
            (
                t,
                t + onset,
                min(t + dur, n),
                int(rng.integers(0, len(_VOWELS))),
                rng.uniform(0.7, 1.0),
                1.0 if rng.random() < 0.75 else -1.0,
            )
        )
        pause = rng.uniform(0.35, 0.6) if rng.random() < 0.12 else rng.uniform(0.03, 0.1)
        t += dur + int(pause * sr / 2.0 ** (0.3 * a))
    return np.array(rows, dtype=float).reshape(-1, 6)


def _rosenberg_derivative(phase: np.ndarray, closing: np.ndarray) -> np.ndarray:
    """d/dn of a Rosenberg pulse: 0.5(1-cos(pi p/tp)) rise, cos(pi (p-tp)/(2 tn)) fall."""
    tp = 0.4
    rise = 0.5 * (1.0 - np.cos(np.pi * phase / tp))
    fall = np.cos(np.pi * np.minimum(phase - tp, closing) / (2.0 * closing))
    glottal = np.where(phase < tp, rise, np.where(phase < tp + closing, fall, 0.0))
    return np.diff(glottal, prepend=0.0)


def _vowel_sos(formants: np.ndarray, sr: int) -> np.ndarray:
    """Cascade of unit-peak-ish two-pole resonators for formants below 0.45 sr."""
    sections = []
    for f, bw in zip(formants, _BANDWIDTHS, strict=True):
        if f >= 0.45 * sr:
            continue
        r = math.exp(-math.pi * bw / sr)
        theta = 2.0 * math.pi * f / sr
        sections.append([1.0 - r, 0.0, 0.0, 1.0, -2.0 * r * math.cos(theta), r * r])
    return np.array(sections if sections else [[1.0, 0, 0, 1.0, 0, 0]])


def _unit_rms(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """x / RMS(x[mask]) (x unchanged where the mask is empty)."""
    rms = float(np.sqrt(np.mean(x[mask] ** 2))) if mask.any() else 0.0
    return x / rms if rms > 0 else x


def synthesize_speech(
    *,
    arousal: float | np.ndarray,
    valence: float | np.ndarray,
    speaker: Speaker,
    duration_s: float,
    sr: int,
    rng: np.random.Generator,
    frame_s: float = 0.04,
) -> np.ndarray:
    """Speech-like float32 mono signal in [-1, 1] of length ``round(duration_s * sr)``."""
    if duration_s < 0 or sr <= 0:
        raise ValueError(f"need duration_s >= 0 and sr > 0, got {duration_s}, {sr}")
    n = round(duration_s * sr)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    a = _per_sample(arousal, n, sr, frame_s)
    v = _per_sample(valence, n, sr, frame_s)
    syl = _syllables(a, sr, rng)
    idx = np.arange(n)
    k = np.clip(np.searchsorted(syl[:, 0], idx, side="right") - 1, 0, None)
    start, onset_end, end = syl[k, 0], syl[k, 1], syl[k, 2]
    inside = (idx >= start) & (idx < end)
    voiced = inside & (idx >= onset_end)
    unvoiced = inside & ~voiced
    pos = np.clip((idx - start) / np.maximum(end - start, 1.0), 0.0, 1.0)

    # F0 contour in semitones relative to the speaker's base F0.
    accent_amp = (1.5 + 2.5 * (a + 1.0)) * syl[k, 5] * syl[k, 4]
    semitones = 5.0 * a + accent_amp * np.sin(np.pi * pos) + 1.2 * v * pos
    semitones -= 2.0 * (idx % (3 * sr)) / (3 * sr)  # phrase declination every 3 s
    jitter_sd = 0.004 + 0.008 * np.clip(-v, 0.0, 1.0)
    noise = rng.standard_normal(n)
    jitter = np.repeat(rng.standard_normal(n // _JITTER_STEP + 1), _JITTER_STEP)[:n]
    f0 = speaker.f0_hz * np.exp2(semitones / 12.0) * (1.0 + jitter_sd * jitter)
    phase = np.cumsum(f0 / sr) % 1.0

    bright = (a + 1.0) / 2.0
    source = _rosenberg_derivative(phase, 0.25 - 0.17 * bright)
    dark = lfilter([0.2], [1.0, -0.8], source)
    source = bright * (source + 0.9 * np.diff(source, prepend=0.0)) + (1.0 - bright) * dark
    source += 0.02 * float(np.abs(source).max()) * noise  # aspiration

    scale = _timbre(speaker) * (1.0 + 0.04 * float(np.mean(v)))
    vowel = syl[k, 3].astype(int)
    tract = np.zeros(n)
    for i, formants in enumerate(_VOWELS):
        sel = voiced & (vowel == i)
        if sel.any():
            filtered = sosfilt(_vowel_sos(formants * scale, sr), source)
            tract[sel] = _unit_rms(filtered, voiced)[sel]

    fric_sos = butter(4, min(3000.0, 0.3 * sr) / (sr / 2), btype="highpass", output="sos")
    fric = _unit_rms(sosfilt(fric_sos, noise), unvoiced)
    tract[unvoiced] = 0.35 * fric[unvoiced]

    ramp_on, ramp_off = 0.015 * sr, 0.03 * sr
    envelope = np.minimum(1.0, np.minimum((idx - start) / ramp_on, (end - idx) / ramp_off))
    envelope = np.where(inside, np.clip(envelope, 0.0, 1.0), 0.0) * syl[k, 4]
    level = 0.035 * 10.0 ** (12.0 * a / 20.0)
    out = level * envelope * tract + 2e-4 * noise[::-1]
    return np.clip(out, -1.0, 1.0).astype(np.float32)
