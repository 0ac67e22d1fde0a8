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
import hashlib
import json
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
    key = cache_key(feature_set, window_s=window_s, hop_s=hop_s)
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

    ``n = ceil(duration / hop_s)``; index ``time_s`` = k*hop_s. Row k summarises the samples in
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
    if len(df) < n or df.iloc[:n].isna().any().any():
        raise CorruptInputError(
            source,
            f"openSMILE {feature_set} gave {len(df)} valid windows, expected {n} "
            f"({x.size / sr:.3f} s of audio, window {window_s} s, hop {hop_s} s)",
            fix=_FIX,
        )
    out = df.iloc[:n].reset_index(drop=True).astype(np.float64)
    out.index = pd.Index(np.round(np.arange(n) * hop_s, 6), name="time_s")
    out.columns.name = None
    return out


def cache_key(feature_set: str, **params: object) -> str:
    """Stable 16-hex-digit hash of extractor name, params and the opensmile version.

    >>> cache_key("eGeMAPSv02", window_s=8.0) == cache_key("eGeMAPSv02", window_s=8.0)
    True
    >>> len(cache_key("eGeMAPSv02"))
    16
    """
    payload = json.dumps(
        {
            "extractor": f"opensmile:{feature_set}",
            "params": params,
            "opensmile": opensmile.__version__,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
