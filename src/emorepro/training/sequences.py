"""Fixed-length sequences of raw audio and face crops for the end-to-end models (Tzirakis et al.).

Conventions (the papers are silent on all of them; experiments.md §1.2, §1.10 item 8):

* **Sampling.** Audio is resampled to 16 kHz with ``scipy.signal.resample_poly`` (polyphase
  FIR, Kaiser window beta 5, scipy's default) at the reduced ratio ``16000 / sr``; one 40 ms
  label frame = :data:`SAMPLES_PER_FRAME` = 640 samples.
* **Standardisation.** Zero mean, unit (population) variance **per recording**, over the whole
  resampled signal ("to account for variations in different levels of loudness between the
  speakers": one recording = one speaker in RECOLA, and per-6 s statistics would also erase
  loudness changes *within* a speaker that carry arousal).
* **Audio/label alignment.** ``align="end"`` (default): the label at time ``t_i = 0.04 i`` is
  paired with the 640 samples *ending* at ``t_i``, i.e. ``[(i - 1) 640, i 640)``, as in the
  authors' public ``data_generator.py`` (``subclip(time - 0.04, time)``); frame 0 therefore
  has no audio and gets zeros (the mean after standardisation). ``align="start"`` pairs it
  with ``[i 640, (i + 1) 640)``. Audio past the last label is dropped; up to one frame of
  missing audio at the end is zero-padded, more -> ``ValueError``.
* **Video/label alignment.** Label frame ``i`` takes the video frame nearest in time,
  ``k = floor(t_i fps + 1/2)`` clipped to the video (:func:`label_frame_indices`). At 25 fps
  that is the identity; the extra label row at ``t = T`` takes the last frame.
* **Windows.** :func:`cut_sequences`: ``steps`` label frames (150 = 6 s) every ``hop``
  frames (default ``steps``, non-overlapping); a last window ending at the last frame covers
  any tail, so every frame is in at least one window.
* **Pixels.** Crops are ``(T, H, W, 3)`` uint8 RGB; by default items give ``(steps, 3, H, W)``
  float32 in ``[0, 1]`` (pixel / 255, as in the authors' ``data_provider.py``); a
  ``transform`` (e.g. ``models.tzirakis.FaceTransform``) replaces that conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import gcd
from typing import Any, Literal

import numpy as np
import torch
from scipy.signal import resample_poly
from torch.utils.data import Dataset

from emorepro.errors import ConfigError

SR = 16_000
FRAME_S = 0.04
SAMPLES_PER_FRAME = 640
"""16 kHz x 40 ms."""
STEPS = 150
"""6 s of 40 ms label frames: the sequence length of Tzirakis et al."""
TARGETS = ("arousal", "valence")

Align = Literal["end", "start"]


# --------------------------------------------------------------------------- signal helpers


def resample_16k(signal: np.ndarray, sr: int | float) -> np.ndarray:
    """``signal`` at ``sr`` Hz -> float32 at 16 kHz (``resample_poly``, ratio reduced by gcd).

    Output length ``ceil(n * 16000 / sr)``. ``sr == 16000`` returns a float32 copy.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"resample_16k: need a non-empty 1-D signal, got shape {x.shape}")
    if not (isinstance(sr, int | float | np.integer | np.floating) and sr > 0):
        raise ValueError(f"resample_16k: sample rate must be a positive number, got {sr!r}")
    if float(sr) != int(sr):
        raise ValueError(f"resample_16k: sample rate must be a whole number of Hz, got {sr!r}")
    sr = int(sr)
    if sr == SR:
        return x.astype(np.float32)
    g = gcd(SR, sr)
    return resample_poly(x, SR // g, sr // g).astype(np.float32)


def standardise_audio(signal: np.ndarray, *, per: str = "recording") -> np.ndarray:
    """``(x - mean(x)) / std(x)`` over the whole recording (population std), as float32.

    Only ``per="recording"`` is implemented (see the module docstring for why). A constant
    (e.g. silent) signal has no variance -> ``ValueError``.
    """
    if per != "recording":
        raise ConfigError(f"standardise_audio: per={per!r} is not supported; use per='recording'")
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"standardise_audio: need a non-empty 1-D signal, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("standardise_audio: signal contains NaN or Inf; re-read the recording")
    std = x.std()
    if std <= 1e-12:
        raise ValueError(
            "standardise_audio: the signal is constant (silent?), so it cannot be scaled to "
            "unit variance; drop the recording or check the audio track"
        )
    return ((x - x.mean()) / std).astype(np.float32)


def cut_sequences(
    n_frames: int, *, steps: int = STEPS, hop: int | None = None
) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` windows of ``steps`` frames starting at 0, hop, 2 hop, ...

    ``hop=None`` -> ``steps`` (non-overlapping); ``hop`` must be in ``[1, steps]``. If the
    regular windows miss the tail, one more window ``(n_frames - steps, n_frames)`` ends at the
    last frame, so the windows cover ``range(n_frames)``. ``n_frames < steps`` -> ``ValueError``.
    """
    for name, value in (("n_frames", n_frames), ("steps", steps)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"cut_sequences: {name} must be a positive int, got {value!r}")
    hop = steps if hop is None else hop
    if not isinstance(hop, int | np.integer) or isinstance(hop, bool) or not 1 <= hop <= steps:
        raise ConfigError(
            f"cut_sequences: hop must be an int in [1, steps={steps}] or None, got {hop!r} "
            "(a hop longer than a sequence would skip frames)"
        )
    if n_frames < steps:
        raise ValueError(
            f"cut_sequences: a recording of {n_frames} frames is shorter than one sequence of "
            f"{steps} frames; lower steps or drop the recording"
        )
    starts = list(range(0, n_frames - steps + 1, hop))
    if starts[-1] + steps < n_frames:
        starts.append(n_frames - steps)
    return [(int(s), int(s) + int(steps)) for s in starts]


def label_frame_indices(
    n_labels: int, fps: float, n_video: int, *, frame_s: float = FRAME_S
) -> np.ndarray:
    """Video frame index per label frame: nearest timestamp, ``floor(i frame_s fps + 1/2)``.

    Indices are clipped to ``[0, n_video - 1]``; a video that ends more than one label frame
    before the last label time -> ``ValueError``.
    """
    if n_labels < 1 or n_video < 1 or not fps > 0:
        raise ValueError(
            f"label_frame_indices: need n_labels >= 1, n_video >= 1, fps > 0; got "
            f"{n_labels}, {n_video}, {fps}"
        )
    last_t = (n_labels - 1) * frame_s
    if last_t > n_video / fps + frame_s + 1e-9:
        raise ValueError(
            f"label_frame_indices: labels run to {last_t:.2f} s but the video has {n_video} "
            f"frames at {fps} fps ({n_video / fps:.2f} s); use the full video"
        )
    idx = np.floor(np.arange(n_labels) * frame_s * fps + 0.5).astype(np.int64)
    return np.clip(idx, 0, n_video - 1)


# --------------------------------------------------------------------------- datasets


def _labels_array(labels: Any, item: str) -> np.ndarray:
    y = np.asarray(labels, dtype=np.float32)
    if y.ndim != 2 or y.shape[0] == 0 or y.shape[1] != len(TARGETS):
        raise ValueError(
            f"item {item}: labels must be (T, {len(TARGETS)}) = {TARGETS}, got shape {y.shape}"
        )
    if not np.all(np.isfinite(y)):
        raise ValueError(f"item {item}: labels contain NaN or Inf (withheld test labels?)")
    return y


def _frame_audio(audio: Any, n_frames: int, item: str, align: Align) -> np.ndarray:
    """Audio laid out so that label frame i is ``out[i * 640 : (i + 1) * 640]``."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"item {item}: audio must be a non-empty 1-D 16 kHz signal, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"item {item}: audio contains NaN or Inf")
    lag = 1 if align == "end" else 0
    need = (n_frames - lag) * SAMPLES_PER_FRAME
    if x.size < need - SAMPLES_PER_FRAME:
        raise ValueError(
            f"item {item}: audio has {x.size} samples ({x.size / SR:.2f} s at 16 kHz) but its "
            f"{n_frames} label frames need {need} ({need / SR:.2f} s); resample to 16 kHz "
            "first (resample_16k) or check that audio and labels belong together"
        )
    out = np.zeros(n_frames * SAMPLES_PER_FRAME, dtype=np.float32)
    offset = lag * SAMPLES_PER_FRAME
    take = min(x.size, out.size - offset)
    out[offset : offset + take] = x[:take]
    return out


def _frames_array(crops: Any, n_frames: int, item: str) -> np.ndarray:
    v = np.asarray(crops)
    if v.dtype != np.uint8 or v.ndim != 4 or v.shape[-1] != 3:
        raise ValueError(
            f"item {item}: crops must be uint8 (T, H, W, 3) RGB, got {v.dtype} {v.shape}; "
            "use features.faces.video_face_crops(kind='tzirakis')"
        )
    if v.shape[0] != n_frames:
        raise ValueError(
            f"item {item}: {v.shape[0]} crops but {n_frames} label frames; map video frames "
            "to label frames first (label_frame_indices)"
        )
    return v


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {list(allowed)}, got {value!r}")


class SequenceDataset(Dataset):
    """Windows over labelled recordings; subclasses add the input tensors.

    Attributes the trainer relies on: ``items`` (recording names, in order), ``labels``
    (``{item: (T, 2) float32}`` whole-recording gold), ``windows`` (``[(item_index, start,
    stop)]`` in label frames), ``steps``, ``targets``.
    """

    targets = TARGETS

    def __init__(
        self,
        labels: Sequence[Any],
        *,
        items: Sequence[str] | None,
        steps: int,
        hop: int | None,
    ) -> None:
        if len(labels) == 0:
            raise ValueError(f"{type(self).__name__}: no recordings given")
        names = [str(i) for i in range(len(labels))] if items is None else [str(i) for i in items]
        if len(names) != len(labels):
            raise ValueError(
                f"{type(self).__name__}: {len(names)} item names for {len(labels)} recordings"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"{type(self).__name__}: item names are not unique: {names}")
        self.items = names
        self.steps = int(steps)
        self.hop = hop
        self.labels = {it: _labels_array(y, it) for it, y in zip(names, labels, strict=True)}
        self.windows: list[tuple[int, int, int]] = []
        for k, it in enumerate(names):
            try:
                spans = cut_sequences(len(self.labels[it]), steps=steps, hop=hop)
            except ValueError as err:
                raise ValueError(f"item {it}: {err}") from None
            self.windows += [(k, a, b) for a, b in spans]

    def __len__(self) -> int:
        return len(self.windows)

    def _base(self, idx: int) -> tuple[str, int, int, dict[str, Any]]:
        k, a, b = self.windows[idx]
        item = self.items[k]
        target = torch.from_numpy(self.labels[item][a:b].copy())
        return item, a, b, {"target": target, "item": item, "start": a}


def _audio_window(audio: np.ndarray, a: int, b: int) -> torch.Tensor:
    return torch.from_numpy(audio[a * SAMPLES_PER_FRAME : b * SAMPLES_PER_FRAME].copy())


def _default_pixels(crops: np.ndarray) -> torch.Tensor:
    """``(T, H, W, 3)`` uint8 -> ``(T, 3, H, W)`` float32 in ``[0, 1]`` (pixel / 255)."""
    return torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2))).float() / 255.0


class AudioSequences(SequenceDataset):
    """Items ``{"audio": (steps * 640,), "target": (steps, 2), "item": str, "start": int}``.

    ``recordings``: ``[(audio_16k, labels (T, 2)), ...]`` (audio already resampled and
    standardised by the caller, e.g. with :func:`resample_16k` and :func:`standardise_audio`);
    ``align`` as in the module docstring.
    """

    def __init__(
        self,
        recordings: Sequence[tuple[np.ndarray, np.ndarray]],
        *,
        align: Align = "end",
        steps: int = STEPS,
        hop: int | None = None,
        items: Sequence[str] | None = None,
    ) -> None:
        _check_choice("align", align, ("end", "start"))
        super().__init__([r[1] for r in recordings], items=items, steps=steps, hop=hop)
        self.audio = {
            it: _frame_audio(r[0], len(self.labels[it]), it, align)
            for it, r in zip(self.items, recordings, strict=True)
        }

    def __getitem__(self, idx: int) -> dict[str, Any]:
        item, a, b, out = self._base(idx)
        out["audio"] = _audio_window(self.audio[item], a, b)
        return out


class VideoSequences(SequenceDataset):
    """Items ``{"frames": transform(crops[start:stop]), "target", "item", "start"}``.

    ``recordings``: ``[(crops (T, H, W, 3) uint8, labels (T, 2)), ...]`` with ``crops[i]`` the
    face at label frame ``i`` (see :func:`label_frame_indices`). ``transform`` maps one
    window's crops ``(steps, H, W, 3)`` uint8 to the model input (e.g.
    ``models.tzirakis.FaceTransform(train=True)`` for the paper's augmentation, which draws
    from torch's global RNG, seeded and checkpointed by the trainer); default: pixel / 255.
    """

    def __init__(
        self,
        recordings: Sequence[tuple[np.ndarray, np.ndarray]],
        *,
        transform: Callable[[np.ndarray], torch.Tensor] | None = None,
        steps: int = STEPS,
        hop: int | None = None,
        items: Sequence[str] | None = None,
    ) -> None:
        super().__init__([r[1] for r in recordings], items=items, steps=steps, hop=hop)
        self.crops = {
            it: _frames_array(r[0], len(self.labels[it]), it)
            for it, r in zip(self.items, recordings, strict=True)
        }
        self.pixels = transform or _default_pixels

    def __getitem__(self, idx: int) -> dict[str, Any]:
        item, a, b, out = self._base(idx)
        out["frames"] = self.pixels(self.crops[item][a:b])
        return out


class AVSequences(SequenceDataset):
    """Items with both ``"audio"`` and ``"frames"`` (see the two classes above).

    ``recordings``: ``[(audio_16k, crops (T, H, W, 3) uint8, labels (T, 2)), ...]``;
    ``align`` as for :class:`AudioSequences`, ``transform`` as for :class:`VideoSequences`.
    ``landmarks`` (optional): one ``(T, D)`` float array per recording, given as
    ``"landmarks"`` ``(steps, D)`` float32 (the landmark variant of Table VI).
    """

    def __init__(
        self,
        recordings: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
        *,
        steps: int = STEPS,
        hop: int | None = None,
        items: Sequence[str] | None = None,
        align: Align = "end",
        transform: Callable[[np.ndarray], torch.Tensor] | None = None,
        landmarks: Sequence[np.ndarray] | None = None,
    ) -> None:
        _check_choice("align", align, ("end", "start"))
        super().__init__([r[2] for r in recordings], items=items, steps=steps, hop=hop)
        self.audio, self.crops = {}, {}
        for it, r in zip(self.items, recordings, strict=True):
            n = len(self.labels[it])
            self.audio[it] = _frame_audio(r[0], n, it, align)
            self.crops[it] = _frames_array(r[1], n, it)
        self.pixels = transform or _default_pixels
        self.landmarks: dict[str, np.ndarray] | None = None
        if landmarks is not None:
            if len(landmarks) != len(self.items):
                raise ValueError(
                    f"AVSequences: {len(landmarks)} landmark arrays for {len(self.items)} "
                    "recordings"
                )
            self.landmarks = {}
            for it, lm in zip(self.items, landmarks, strict=True):
                arr = np.asarray(lm, dtype=np.float32)
                if arr.ndim != 2 or arr.shape[0] != len(self.labels[it]):
                    raise ValueError(
                        f"item {it}: landmarks must be (T, D) with T = {len(self.labels[it])} "
                        f"label frames, got shape {arr.shape}"
                    )
                if not np.all(np.isfinite(arr)):
                    raise ValueError(f"item {it}: landmarks contain NaN or Inf")
                self.landmarks[it] = arr

    def __getitem__(self, idx: int) -> dict[str, Any]:
        item, a, b, out = self._base(idx)
        out["audio"] = _audio_window(self.audio[item], a, b)
        out["frames"] = self.pixels(self.crops[item][a:b])
        if self.landmarks is not None:
            out["landmarks"] = torch.from_numpy(self.landmarks[item][a:b].copy())
        return out
