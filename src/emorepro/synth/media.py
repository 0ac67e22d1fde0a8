"""Deterministic audio/video writers and defensive readers.

Writers are bit-exact: same inputs -> byte-identical files (single-threaded encoders,
``bitexact`` codec and muxer flags, no creation-time metadata, and x264's AVX-512 kernels
switched off: see :func:`x264_cpu_params`). Readers turn every failure
(missing, empty, corrupt file, missing stream, no samples or frames) into
:class:`~emorepro.errors.CorruptInputError` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from emorepro.errors import CorruptInputError

_SOUNDFILE_EXT = {".wav", ".flac", ".ogg", ".aiff", ".aif"}
_AUDIO_CHUNK = 1024  # AAC frame size; also used for PCM
_CODECS = {
    ".mp4": ("libx264", "aac", "fltp", {"crf": "23", "preset": "fast", "threads": "1"}),
    ".avi": ("mpeg4", "pcm_s16le", "s16", {"qscale": "4", "threads": "1"}),
}
_DECODE_ERRORS = (av.error.FFmpegError, OSError, ValueError, EOFError, IndexError)
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


@dataclass(frozen=True)
class VideoInfo:
    """Basic video stream properties."""

    fps: float
    n_frames: int
    width: int
    height: int
    duration_s: float


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


def _check_file(path: Path) -> None:
    """Raise CorruptInputError for a missing, non-regular or empty file."""
    if not path.exists():
        raise CorruptInputError(path, "file does not exist", fix="check the path or regenerate")
    if not path.is_file():
        raise CorruptInputError(path, "is not a regular file", fix="point to a media file")
    if path.stat().st_size == 0:
        raise CorruptInputError(path, "file is empty (0 bytes)", fix="re-copy or regenerate it")


def _open(path: Path) -> av.container.InputContainer:
    """Open a media container for reading, mapping failures to CorruptInputError."""
    _check_file(path)
    try:
        return av.open(str(path), "r")
    except _DECODE_ERRORS as err:
        raise CorruptInputError(
            path, f"unreadable media container ({err})", fix="re-encode or re-copy the file"
        ) from err


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    """Audio via soundfile, averaged to mono float32."""
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as err:
        raise CorruptInputError(
            path, f"unreadable audio file ({err})", fix="re-encode it as PCM WAV or FLAC"
        ) from err
    return data.mean(axis=1).astype(np.float32), int(sr)


def _read_container_audio(path: Path) -> tuple[np.ndarray, int]:
    """First audio stream of a container, resampled to float mono at its native rate."""
    with _open(path) as container:
        if not container.streams.audio:
            raise CorruptInputError(
                path, "container has no audio stream", fix="use a file with an audio track"
            )
        stream = container.streams.audio[0]
        sr = int(stream.codec_context.sample_rate or stream.rate or 0)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr or None)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                sr = sr or int(frame.sample_rate)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except _DECODE_ERRORS as err:
            raise CorruptInputError(
                path, f"audio stream cannot be decoded ({err})", fix="re-encode the file"
            ) from err
    audio = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return audio, sr


def read_audio(path: Path | str) -> tuple[np.ndarray, int]:
    """Read float32 mono audio and its sample rate from an audio file or a video container."""
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in _SOUNDFILE_EXT:
        audio, sr = _read_soundfile(path)
    else:
        audio, sr = _read_container_audio(path)
    if audio.size == 0:
        raise CorruptInputError(path, "audio has 0 samples", fix="regenerate or re-record it")
    if not np.all(np.isfinite(audio)):
        raise CorruptInputError(path, "audio contains NaN or Inf samples", fix="re-encode it")
    return audio, sr


def _video_stream(path: Path, container: av.container.InputContainer) -> av.VideoStream:
    """The first video stream or CorruptInputError."""
    if not container.streams.video:
        raise CorruptInputError(
            path, "container has no video stream", fix="use a file with a video track"
        )
    return container.streams.video[0]


def iter_video_frames(
    path: Path | str, *, step: int = 1, max_frames: int | None = None
) -> Iterator[np.ndarray]:
    """Yield every ``step``-th decoded frame as RGB uint8 (at most ``max_frames``)."""
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    path = Path(path)
    with _open(path) as container:
        stream = _video_stream(path, container)
        decoded = yielded = 0
        try:
            for frame in container.decode(stream):
                if max_frames is not None and yielded >= max_frames:
                    break
                if decoded % step == 0:
                    yielded += 1
                    yield frame.to_ndarray(format="rgb24")
                decoded += 1
        except _DECODE_ERRORS as err:
            raise CorruptInputError(
                path, f"video stream cannot be decoded ({err})", fix="re-encode the file"
            ) from err
    if decoded == 0 and (max_frames is None or max_frames > 0):
        raise CorruptInputError(path, "video has 0 frames", fix="regenerate or re-encode it")


def probe_video(path: Path | str) -> VideoInfo:
    """fps, frame count, size and duration (n_frames / fps) of the first video stream."""
    path = Path(path)
    with _open(path) as container:
        stream = _video_stream(path, container)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        n_frames = int(stream.frames or 0)
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        if n_frames == 0:
            try:
                n_frames = sum(1 for p in container.demux(stream) if p.size > 0)
            except _DECODE_ERRORS as err:
                raise CorruptInputError(
                    path, f"video stream cannot be read ({err})", fix="re-encode the file"
                ) from err
    if n_frames == 0 or fps <= 0:
        raise CorruptInputError(path, "video has 0 frames", fix="regenerate or re-encode it")
    return VideoInfo(fps, n_frames, width, height, n_frames / fps)
