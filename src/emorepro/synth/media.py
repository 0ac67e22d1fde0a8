"""Deterministic audio/video writers of the synthetic twins.

Writers are bit-exact: same inputs -> byte-identical files (single-threaded encoders,
``bitexact`` codec and muxer flags, no creation-time metadata, and x264's AVX-512 kernels
switched off: see :func:`x264_cpu_params`). The readers are in :mod:`emorepro.media`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import numpy as np
import soundfile as sf

_AUDIO_CHUNK = 1024  # AAC frame size; also used for PCM
_CODECS = {
    ".mp4": ("libx264", "aac", "fltp", {"crf": "23", "preset": "fast", "threads": "1"}),
    ".avi": ("mpeg4", "pcm_s16le", "s16", {"qscale": "4", "threads": "1"}),
}
#: CPU flags (as /proc/cpuinfo spells them) that make libx264 pick its AVX-512 kernels
_X264_AVX512_FLAGS = frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})


@cache
def x264_cpu_params(cpuinfo: str | None = None) -> dict[str, str]:
    """libx264 options that keep its output independent of the process' heap contents.

    With its AVX-512 kernels (chosen when the CPU has F, CD, BW, DQ and VL), the libx264 in
    PyAV's wheel (core 165) wrote different bytes for identical frames from one call to the
    next in the same process, single-threaded, depending on what was allocated before (an
    AAC stream opened beside it, the file name's length): measured on a 12-frame 160x128
    BAUM-1s twin clip, 2-4 distinct files in 30 encodes. Restricting x264 to its AVX2 kernels
    (``asm=avx2``: every x86 extension up to AVX2) gave one file in 30 encodes, the same one
    Valgrind's CPU (no AVX-512) writes. Returns ``{}`` on CPUs without those flags (AVX2 and
    older x86, ARM), where x264's own detection is kept. ``cpuinfo`` is for tests; ``None``
    reads ``/proc/cpuinfo`` (absent on non-Linux hosts: no change).
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return {"x264-params": "asm=avx2"} if _X264_AVX512_FLAGS <= set(value.split()) else {}
    return {}


def write_wav(path: Path | str, audio: np.ndarray, sr: int) -> None:
    """Write mono/multichannel float audio in [-1, 1] as PCM_16 WAV (parent dirs created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0), sr, "PCM_16")


def _audio_frames(audio: np.ndarray, sr: int, fmt: str) -> Iterator[av.AudioFrame]:
    """Mono float audio as consecutive AudioFrames of ``_AUDIO_CHUNK`` samples."""
    mono = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    for start in range(0, mono.size, _AUDIO_CHUNK):
        chunk = mono[start : start + _AUDIO_CHUNK]
        if fmt == "s16":
            data = np.round(chunk * 32767.0).astype(np.int16)[None, :]
        else:
            data = chunk[None, :]
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        yield frame


def _encode(
    path: Path,
    suffix: str,
    frames: Iterable[np.ndarray],
    *,
    rate: Fraction,
    audio: np.ndarray | None,
    sr: int | None,
) -> None:
    """Encode frames and audio into ``path`` (see :func:`write_video`)."""
    vcodec, acodec, afmt, vopts = _CODECS[suffix]
    with av.open(str(path), "w", format=suffix[1:], options={"fflags": "+bitexact"}) as out:
        out.metadata.clear()
        vstream = None
        astream = None
        if audio is not None:
            astream = out.add_stream(acodec, rate=sr, layout="mono")
            astream.options = {"flags": "+bitexact", "threads": "1"}
            astream.codec_context.flags |= 0x00800000  # AV_CODEC_FLAG_BITEXACT
        for i, rgb in enumerate(frames):
            rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
            if rgb.ndim != 3 or rgb.shape[2] != 3:
                raise ValueError(f"{path}: frame {i} must be (H, W, 3) RGB, got {rgb.shape}")
            height, width = rgb.shape[:2]
            if vstream is None:
                if height % 2 or width % 2:
                    raise ValueError(f"{path}: frame size {width}x{height} must be even")
                vstream = out.add_stream(vcodec, rate=rate)
                vstream.width, vstream.height, vstream.pix_fmt = width, height, "yuv420p"
                vstream.options = dict(vopts) | (x264_cpu_params() if vcodec == "libx264" else {})
                vstream.thread_count = 1
                vstream.codec_context.flags |= 0x00800000  # AV_CODEC_FLAG_BITEXACT
            elif (height, width) != (vstream.height, vstream.width):
                raise ValueError(f"{path}: frame {i} is {width}x{height}, not like frame 0")
            # colour conversion here, single-threaded, so no thread count can reach the bytes
            # (the run-to-run variation once blamed on swscale's slices was x264's AVX-512
            # kernels: x264_cpu_params)
            vframe = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p", threads=1
            )
            vframe.pts = i
            out.mux(vstream.encode(vframe))
        if vstream is None:
            raise ValueError(f"{path}: no frames to write")
        out.mux(vstream.encode(None))
        if astream is not None and audio is not None and sr is not None:
            for aframe in _audio_frames(audio, sr, afmt):
                out.mux(astream.encode(aframe))
            out.mux(astream.encode(None))


def write_video(
    path: Path | str,
    frames: Iterable[np.ndarray],
    *,
    fps: float,
    audio: np.ndarray | None = None,
    sr: int | None = None,
) -> None:
    """Encode RGB uint8 frames (+ optional mono audio) bit-exactly; codec chosen by suffix.

    ``.mp4``: H.264 (libx264, yuv420p, crf 23, preset fast) + AAC; ``.avi``: MPEG-4 part 2 +
    PCM s16le. Frame sides must be even.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _CODECS:
        raise ValueError(f"{path}: unsupported video suffix {suffix!r}; use one of {list(_CODECS)}")
    if audio is not None and (sr is None or sr <= 0):
        raise ValueError(f"{path}: audio given without a positive sample rate sr")
    rate = Fraction(fps).limit_denominator(1001)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        _encode(tmp, suffix, frames, rate=rate, audio=audio, sr=sr)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
