"""Latent affect model: speakers, categorical emotions in arousal/valence space, annotation.

Every synthetic signal is driven by a latent (arousal, valence) point or trajectory in
``[-1, 1]^2``. Categorical emotions are noisy points around fixed centres
(:data:`EMOTION_AV`) shifted by a per-speaker bias; continuous corpora use a smooth random
trajectory (:func:`latent_trajectory`) that simulated raters annotate with a delay and
smoothing (:func:`annotate`), as real continuous annotations do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import lfilter

from emorepro.emotions import SEVEN


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: voice, face identity and affect offsets."""

    id: str
    gender: str  # "F" or "M"
    age: int
    f0_hz: float  # base F0 (F ~ 190-230 Hz, M ~ 100-130 Hz)
    arousal_bias: float  # speaker offset added to arousal expression
    valence_bias: float
    seed: int  # per-speaker seed (voice timbre, face identity)
    language: str | None = None


#: Canonical emotion -> (arousal, valence) centre; pairwise distances >= 0.55.
EMOTION_AV: dict[str, tuple[float, float]] = {
    "anger": (0.75, -0.65),
    "disgust": (0.0, -0.85),
    "fear": (0.85, -0.05),
    "happiness": (0.3, 0.85),
    "sadness": (-0.65, -0.55),
    "surprise": (0.85, 0.5),
    "neutral": (0.0, 0.0),
    # EmoDB's seventh class: low arousal, neither pleasant nor unpleasant (Russell's
    # circumplex puts it low-arousal, slightly negative; 0.57 from sadness, the nearest)
    "boredom": (-0.8, 0.0),
}
assert set(SEVEN) <= set(EMOTION_AV)


def make_speakers(
    ids: Sequence[str],
    *,
    rng: np.random.Generator,
    language: str | None = None,
    genders: Sequence[str] | None = None,
) -> list[Speaker]:
    """Draw one :class:`Speaker` per id.

    Gender alternates F/M unless ``genders`` is given; F0 ~ U(190, 230) Hz (F) or
    U(100, 130) Hz (M); biases ~ N(0, 0.15); age ~ U{20..60}.
    """
    if genders is not None and len(genders) != len(ids):
        raise ValueError(f"genders has {len(genders)} entries for {len(ids)} speaker ids")
    speakers = []
    for i, sid in enumerate(ids):
        gender = genders[i] if genders is not None else ("F" if i % 2 == 0 else "M")
        if gender not in ("F", "M"):
            raise ValueError(f"gender of speaker {sid!r} must be 'F' or 'M', got {gender!r}")
        lo, hi = (190.0, 230.0) if gender == "F" else (100.0, 130.0)
        speakers.append(
            Speaker(
                id=str(sid),
                gender=gender,
                age=int(rng.integers(20, 61)),
                f0_hz=float(rng.uniform(lo, hi)),
                arousal_bias=float(rng.normal(0.0, 0.15)),
                valence_bias=float(rng.normal(0.0, 0.15)),
                seed=int(rng.integers(0, 2**31 - 1)),
                language=language,
            )
        )
    return speakers


def emotion_affect(
    emotion: str, *, speaker: Speaker, rng: np.random.Generator, spread: float = 0.12
) -> tuple[float, float]:
    """(arousal, valence) = clip(EMOTION_AV[emotion] + speaker bias + N(0, spread^2))."""
    if emotion not in EMOTION_AV:
        raise ValueError(f"unknown emotion {emotion!r}; known emotions: {', '.join(EMOTION_AV)}")
    a0, v0 = EMOTION_AV[emotion]
    na, nv = rng.normal(0.0, spread, size=2)
    a = float(np.clip(a0 + speaker.arousal_bias + na, -1.0, 1.0))
    v = float(np.clip(v0 + speaker.valence_bias + nv, -1.0, 1.0))
    return a, v


def _ar2_lowpass(noise: np.ndarray, pole: float) -> np.ndarray:
    """Two cascaded one-pole low-passes y[n] = pole*y[n-1] + (1-pole)*x[n] along axis 0."""
    b, a = [1.0 - pole], [1.0, -pole]
    return lfilter(b, a, lfilter(b, a, noise, axis=0), axis=0)


def latent_trajectory(
    n_frames: int, *, rng: np.random.Generator, frame_s: float = 0.04, tau_s: float = 3.0
) -> np.ndarray:
    """Smooth latent (arousal, valence) trajectory, shape ``(n_frames, 2)``.

    White noise through two one-pole low-passes (time constant ``tau_s``), started in the
    stationary state (burn-in), scaled to unit stationary variance, then ``tanh(0.9 z)``:
    bounded in (-1, 1) with mean |value| ~ 0.5.
    """
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    pole = float(np.exp(-frame_s / tau_s))
    burn = int(np.ceil(6 * tau_s / frame_s))
    impulse = np.zeros(burn * 2)
    impulse[0] = 1.0
    stationary_sd = float(np.sqrt(np.sum(_ar2_lowpass(impulse, pole) ** 2)))
    z = _ar2_lowpass(rng.standard_normal((burn + n_frames, 2)), pole)[burn:] / stationary_sd
    return np.tanh(0.9 * z)


def _delay(x: np.ndarray, shift: int) -> np.ndarray:
    """x delayed by ``shift`` samples, start padded with x[0]; same length."""
    if shift <= 0:
        return x.copy()
    shift = min(shift, len(x))
    return np.concatenate([np.full(shift, x[0]), x[: len(x) - shift]])


def annotate(
    latent: np.ndarray,
    *,
    rng: np.random.Generator,
    frame_s: float = 0.04,
    lag_s: float = 2.4,
    smooth_s: float = 1.0,
    n_raters: int = 6,
    rater_noise: float = 0.1,
    lag_jitter_s: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated continuous annotation of a 1-D latent trace.

    rater_r[n] = clip(MA_smooth(latent[n - lag_r]) + bias_r + noise_r[n], -1, 1) with
    lag_r = lag_s + N(0, lag_jitter_s^2), a centred moving average over ``smooth_s``,
    bias_r ~ N(0, 0.05^2) and noise ~ N(0, rater_noise^2) smoothed over 0.2 s.
    gold = mean over raters. Returns ``(gold (n,), raters (n_raters, n))``.
    """
    latent = np.asarray(latent, dtype=float)
    if latent.ndim != 1:
        raise ValueError(f"latent must be 1-D, got shape {latent.shape}")
    if n_raters < 1:
        raise ValueError(f"n_raters must be >= 1, got {n_raters}")
    n = latent.size
    raters = np.zeros((n_raters, n))
    if n == 0:
        return np.zeros(0), raters
    win = max(1, round(smooth_s / frame_s))
    noise_win = max(1, round(0.2 / frame_s))
    for r in range(n_raters):
        lag = max(0.0, lag_s + rng.normal(0.0, lag_jitter_s))
        delayed = _delay(latent, round(lag / frame_s))
        smooth = uniform_filter1d(delayed, size=win, mode="nearest")
        noise = uniform_filter1d(rng.standard_normal(n), size=noise_win, mode="nearest")
        noise *= rater_noise * np.sqrt(noise_win)
        raters[r] = np.clip(smooth + rng.normal(0.0, 0.05) + noise, -1.0, 1.0)
    return raters.mean(axis=0), raters
