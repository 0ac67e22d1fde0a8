"""openSMILE functionals: one row per signal, or one row per sliding window (AVEC 2016 style).

Signals are mono float arrays in [-1, 1] (openSMILE scales them by 32768 to int16, so larger
values would wrap around); both entry points check that and raise
:class:`~emorepro.errors.CorruptInputError` naming ``source`` on empty, non-finite, clipped or
too-short audio, instead of openSMILE's silent NaN row.

Windowed functionals run in **one** openSMILE pass: a generated config includes the package's
own ``eGeMAPSv02.conf`` / ``ComParE_2016.conf`` (LLD and functional definitions unchanged) and
switches every ``cFunctionals`` component from ``frameMode = full`` to ``frameMode = fixed``
with ``frameSize = window_s`` and ``frameStep = hop_s`` through the config's own
``frameModeFunctionalsConf`` hook. Functional frame k then covers LLD frames
``[k*hop, k*hop + window)`` of the padded signal; padding ``window_s / 2`` in front makes that
window centred on ``t = k*hop_s`` of the original signal.
"""

from __future__ import annotations

import functools
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import opensmile
import pandas as pd

from emorepro.errors import CorruptInputError

FEATURE_SETS = ("eGeMAPSv02", "ComParE_2016")
"""Supported openSMILE feature sets (both have a 10 ms LLD frame step)."""

_LLD_STEP_S = 0.01
_CONFIG_FILES = {
    "eGeMAPSv02": "egemaps/v02/eGeMAPSv02.conf",
    "ComParE_2016": "compare/ComParE_2016.conf",
}
_FIX = "check that the file holds mono audio in [-1, 1] that is longer than the analysis window"


def _check_feature_set(feature_set: str) -> None:
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature_set {feature_set!r}; choose one of {FEATURE_SETS}")


def _check_signal(signal: np.ndarray, source: str) -> np.ndarray:
    x = np.asarray(signal)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise CorruptInputError(
            source, f"expected a mono signal, got shape {x.shape}", fix="mix down to one channel"
        )
    if x.size == 0:
        raise CorruptInputError(source, "audio is empty", fix=_FIX)
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise CorruptInputError(source, "audio holds NaN or infinite samples", fix=_FIX)
    peak = float(np.max(np.abs(x)))
    if peak > 1.0:
        raise CorruptInputError(
            source,
            f"audio peak {peak:.3g} exceeds 1.0 (openSMILE would wrap it in int16)",
            fix="load audio as float in [-1, 1] (e.g. soundfile default dtype) or normalise it",
        )
    return x


@functools.lru_cache(maxsize=8)
def _smile(feature_set: str) -> opensmile.Smile:
    return opensmile.Smile(feature_set=feature_set, feature_level="func")


def functionals(
    signal: np.ndarray, sr: int, *, feature_set: str = "eGeMAPSv02", source: str = "<signal>"
) -> pd.Series:
    """One row of openSMILE functionals over the whole signal (88 values for eGeMAPSv02).

    Index = openSMILE feature names. Raises ``CorruptInputError(source, ...)`` where openSMILE
    would return NaN (audio shorter than its analysis frames) or the input is invalid.
    """
    _check_feature_set(feature_set)
    x = _check_signal(signal, source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Segment too short": handled below
        df = _smile(feature_set).process_signal(x, sr)
    row = df.iloc[0]
    if len(df) != 1 or row.isna().any():
        raise CorruptInputError(
            source,
            f"openSMILE {feature_set} gave no valid functionals for {x.size / sr:.3f} s of audio "
            "(too short or unreadable)",
            fix=_FIX,
        )
    row = row.astype(np.float64)
    row.name = source
    return row


def _is_multiple(value: float, step: float) -> bool:
    q = value / step
    return abs(q - round(q)) < 1e-6 and round(q) >= 1


def _config_dir() -> Path:
    d = Path(tempfile.gettempdir()) / f"emorepro-opensmile-{opensmile.__version__}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _atomic_write(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@functools.lru_cache(maxsize=16)
def _windowed_smile(feature_set: str, window_s: float, hop_s: float) -> opensmile.Smile:
    """Smile object on a generated config: package LLDs, functionals with frameMode=fixed."""
    pkg_root = Path(opensmile.__file__).resolve().parent / "core" / "config"
    base = pkg_root / _CONFIG_FILES[feature_set]
    key = f"{feature_set}_w{window_s:.6f}_h{hop_s:.6f}"
    d = _config_dir()
    frame_mode = d / f"{key}.framemode.conf.inc"
    conf = d / f"{key}.conf"
    _atomic_write(
        frame_mode,
        "; emorepro: sliding-window functionals (replaces shared/FrameModeFunctionals.conf.inc)\n"
        f"frameMode = fixed\nframeSize = {window_s:.6f}\nframeStep = {hop_s:.6f}\n"
        "frameCenterSpecial = left\n",
    )
    _atomic_write(
        conf,
        f"; emorepro: {feature_set} functionals over {window_s} s windows every {hop_s} s.\n"
        f"; LLD and functional definitions come unchanged from the opensmile package:\n"
        f"\\{{{base}}}\n",
    )
    return opensmile.Smile(
        feature_set=str(conf),
        feature_level="func",
        options={"frameModeFunctionalsConf": str(frame_mode)},
    )


def windowed_functionals(
    signal: np.ndarray,
    sr: int,
    *,
    feature_set: str = "eGeMAPSv02",
    window_s: float,
    hop_s: float = 0.04,
    source: str = "<signal>",
    pad: Literal["reflect", "zeros"] = "reflect",
) -> pd.DataFrame:
    """Functionals over sliding windows centred on ``t = k*hop_s``, k = 0..n-1.

    ``n = ceil(duration / hop_s)``; index ``time_s`` = k*hop_s; values float32, exactly as
    openSMILE computes them (upcasting to float64 is lossless). Row k summarises the samples in
    ``[t - window_s/2, t + window_s/2)``. The signal is padded by ``window_s/2`` in front and
    ``window_s/2 + hop_s`` at the end, with ``pad="reflect"`` (mirror image without repeating
    the edge sample, default: edge windows keep speech-like statistics) or ``"zeros"``
    (silence); so edge windows are full-length and never NaN. ``window_s`` and ``hop_s`` must
    be multiples of the 10 ms LLD step, and ``hop_s * sr`` an integer.
    """
    _check_feature_set(feature_set)
    if not (_is_multiple(window_s, _LLD_STEP_S) and _is_multiple(hop_s, _LLD_STEP_S)):
        raise ValueError(
            f"window_s={window_s} and hop_s={hop_s} must be positive multiples of the "
            f"{_LLD_STEP_S} s openSMILE LLD step"
        )
    if not _is_multiple(hop_s * sr, 1.0) or not _is_multiple(window_s / 2 * sr, 1.0):
        raise ValueError(f"hop_s * sr and window_s / 2 * sr must be whole samples (sr={sr})")
    x = _check_signal(signal, source)
    n = math.ceil(round(x.size / sr / hop_s, 6))
    half = round(window_s / 2 * sr)
    hop = round(hop_s * sr)
    mode = "reflect" if pad == "reflect" else "constant"
    if pad not in ("reflect", "zeros"):
        raise ValueError(f"pad must be 'reflect' or 'zeros', got {pad!r}")
    if mode == "reflect" and x.size < 2:
        raise CorruptInputError(source, f"audio has {x.size} sample(s)", fix=_FIX)
    xp = np.pad(x, (half, half + hop), mode=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        df = _windowed_smile(feature_set, float(window_s), float(hop_s)).process_signal(xp, sr)
    del xp
    # openSMILE computes in float32: keep its values as they are, without a copy (a
    # ComParE_2016 table of a 300 s recording holds 7,500 x 6,373 values)
    values = df.to_numpy(dtype=np.float32)[:n]
    columns = [str(c) for c in df.columns]
    n_rows = len(df)
    del df
    if n_rows < n or np.isnan(values).any():
        raise CorruptInputError(
            source,
            f"openSMILE {feature_set} gave {n_rows} valid windows, expected {n} "
            f"({x.size / sr:.3f} s of audio, window {window_s} s, hop {hop_s} s)",
            fix=_FIX,
        )
    index = pd.Index(np.round(np.arange(n) * hop_s, 6), name="time_s")
    return pd.DataFrame(values, index=index, columns=columns, copy=False)


LLD_COUNTS = {"eGeMAPSv02": 25, "ComParE_2016": 65}
"""Number of low-level descriptors per feature set (no delta coefficients)."""


@functools.lru_cache(maxsize=4)
def _lld_smile(feature_set: str) -> opensmile.Smile:
    # Plain LLDs only: openSMILE's delta level is a separate output with a different frame
    # count (ComParE_2016: 98 vs 96 frames for 1 s) and does not exist for eGeMAPSv02.
    return opensmile.Smile(feature_set=feature_set, feature_level="lld")


def llds(
    signal: np.ndarray, sr: int, *, feature_set: str, source: str = "<signal>"
) -> pd.DataFrame:
    """openSMILE low-level descriptors, one row per 10 ms frame (no deltas).

    25 columns for eGeMAPSv02, 65 for ComParE_2016 (openSMILE names). Index ``time_s`` =
    frame start time in seconds (k * 0.01 for row k); each frame spans openSMILE's own
    analysis window from there (20-60 ms depending on the descriptor), so the last frame
    starts 40-60 ms before the end of the signal. Invalid or too-short audio ->
    ``CorruptInputError(source)``.
    """
    _check_feature_set(feature_set)
    x = _check_signal(signal, source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Segment too short": handled below
        df = _lld_smile(feature_set).process_signal(x, sr)
    if len(df) == 0 or df.isna().any().any():
        raise CorruptInputError(
            source,
            f"openSMILE {feature_set} gave no valid low-level descriptors for "
            f"{x.size / sr:.3f} s of audio (too short or unreadable)",
            fix=_FIX,
        )
    # openSMILE frame k starts at k * 10 ms. The wrapper's timestamps say so too, except for
    # the last frame, whose end it clips to the signal end (ComParE_2016 then reports the
    # previous frame's start twice), so the index is built from the frame number.
    start = np.round(np.arange(len(df)) * _LLD_STEP_S, 6)
    reported = df.index.get_level_values("start").total_seconds().to_numpy()[:-1]
    if not np.allclose(reported, start[:-1], atol=1e-6):
        raise RuntimeError(
            f"openSMILE {feature_set} LLD frames are not 10 ms apart ({source}); "
            f"check the opensmile version (have {opensmile.__version__})"
        )
    out = df.reset_index(drop=True).astype(np.float64)
    out.index = pd.Index(start, name="time_s")
    out.columns.name = None
    return out


def lld_at_label_rate(
    llds: pd.DataFrame,
    label_times_s: np.ndarray,
    *,
    label_s: float = 0.04,
    max_fill_s: float = 0.1,
) -> np.ndarray:
    """Mean LLD vector per label frame: shape ``(len(label_times_s), n_llds)``.

    Alignment: label frame j covers ``[t_j, t_j + label_s)`` and gets the mean of the LLD rows
    whose start time (the index of :func:`llds`) lies in it (4 rows for 40 ms labels and a
    10 ms LLD step). A label frame with no LLD row (the end of a recording, where openSMILE's
    last frame starts 40-60 ms before the end) takes the nearest LLD row if that row starts
    within ``max_fill_s`` of the label frame; farther away -> ``ValueError`` (labels longer
    than the audio: truncate them). ``label_times_s`` must be strictly increasing and
    ``label_s`` at most the spacing of consecutive label times.
    """
    if len(llds) == 0:
        raise ValueError("lld_at_label_rate: llds is empty; extract them with llds() first")
    t = np.asarray(label_times_s, dtype=np.float64).reshape(-1)
    if t.size == 0:
        raise ValueError("lld_at_label_rate: label_times_s is empty")
    if not label_s > 0:
        raise ValueError(f"lld_at_label_rate: label_s must be > 0, got {label_s}")
    if t.size > 1 and np.min(np.diff(t)) < label_s - 1e-9:
        raise ValueError(
            "lld_at_label_rate: label_times_s must be strictly increasing and at least "
            f"label_s={label_s} apart (min spacing {np.min(np.diff(t)):.6g} s)"
        )
    start = np.asarray(llds.index, dtype=np.float64)
    values = llds.to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        raise ValueError("lld_at_label_rate: llds holds NaN values")
    # rounding to the microsecond keeps k*0.01 and j*0.04 from landing on the wrong side
    s, tt, ls = np.round(start, 6), np.round(t, 6), round(label_s, 6)
    j = np.searchsorted(tt, s, side="right") - 1
    inside = (j >= 0) & (s < np.round(tt[np.clip(j, 0, None)] + ls, 6))
    sums = np.zeros((t.size, values.shape[1]))
    counts = np.zeros(t.size)
    np.add.at(sums, j[inside], values[inside])
    np.add.at(counts, j[inside], 1.0)
    out = sums / np.maximum(counts, 1.0)[:, None]
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        lo, hi = tt[empty], tt[empty] + ls  # nearest LLD start to the interval [lo, hi)
        nearest = np.clip(np.searchsorted(s, lo), 0, s.size - 1)
        prev = np.clip(nearest - 1, 0, None)

        def dist(k: np.ndarray) -> np.ndarray:
            return np.maximum(lo - s[k], 0.0) + np.maximum(s[k] - hi, 0.0)

        d_next, d_prev = dist(nearest), dist(prev)
        pick = np.where(d_prev <= d_next, prev, nearest)
        gap = np.minimum(d_prev, d_next)
        if np.max(gap) > max_fill_s + 1e-9:
            bad = int(empty[np.argmax(gap)])
            raise ValueError(
                f"lld_at_label_rate: label frame at {t[bad]:.3f} s is {np.max(gap):.3f} s away "
                f"from the nearest LLD frame (LLDs span {s[0]:.3f}-{s[-1]:.3f} s); the labels "
                "run past the audio: truncate them to the audio duration"
            )
        out[empty] = values[pick]
    return out
