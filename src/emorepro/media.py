"""Reading audio and video defensively (every feature extractor and trainer uses this).

Every failure (missing, empty, corrupt file, missing stream, no samples or frames) becomes a
:class:`~emorepro.errors.CorruptInputError` naming the file and the fix. The deterministic
writers of the synthetic twins are in :mod:`emorepro.synth.media`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from emorepro.errors import CorruptInputError

if TYPE_CHECKING:
    import av

_SOUNDFILE_EXT = {".wav", ".flac", ".ogg", ".aiff", ".aif"}


def _decode_errors() -> tuple[type[BaseException], ...]:
    """What a failed decode raises. PyAV (FFmpeg) is imported on first use, so a job that
    reads only wav/flac files never loads it."""
    import av

    return (av.error.FFmpegError, OSError, ValueError, EOFError, IndexError)


@dataclass(frozen=True)
class VideoInfo:
    """Basic video stream properties."""

    fps: float
    n_frames: int
    width: int
    height: int
    duration_s: float


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
    import av

    try:
        return av.open(str(path), "r")
    except _decode_errors() as err:
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
    import av

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
        except _decode_errors() as err:
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
        except _decode_errors() as err:
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
            except _decode_errors() as err:
                raise CorruptInputError(
                    path, f"video stream cannot be read ({err})", fix="re-encode the file"
                ) from err
    if n_frames == 0 or fps <= 0:
        raise CorruptInputError(path, "video has 0 frames", fix="regenerate or re-encode it")
    return VideoInfo(fps, n_frames, width, height, n_frames / fps)
