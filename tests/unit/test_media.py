"""Deterministic media writers, round trips, and CorruptInputError for bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import emorepro.synth.layouts._categorical as categorical
from emorepro.errors import CorruptInputError
from emorepro.media import iter_video_frames, probe_video, read_audio
from emorepro.synth.layouts._categorical import ClipWriter, speaker
from emorepro.synth.media import write_video, write_wav, x264_cpu_params

SR = 16000
FPS = 25.0


def _frames(n: int = 20, size: tuple[int, int] = (64, 96)) -> list[np.ndarray]:
    yy, xx = np.mgrid[: size[0], : size[1]]
    base = np.stack([xx * 2, yy * 3, (xx + yy) % 200], axis=-1).astype(np.uint8)
    return [np.roll(base, 2 * i, axis=1) for i in range(n)]


def _audio(seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_wav_round_trip(tmp_path: Path) -> None:
    audio = np.random.default_rng(1).uniform(-0.9, 0.9, SR).astype(np.float32)
    path = tmp_path / "sub" / "a.wav"
    write_wav(path, audio, SR)
    back, sr = read_audio(path)
    assert sr == SR and back.dtype == np.float32 and back.shape == audio.shape
    assert np.abs(back - audio).max() <= 1 / 32768 + 1e-7


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_write_video_byte_identical_and_round_trip(tmp_path: Path, suffix: str) -> None:
    frames, audio = _frames(), _audio(0.8)
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    write_video(a, frames, fps=FPS, audio=audio, sr=SR)
    write_video(b, iter(frames), fps=FPS, audio=audio, sr=SR)
    assert a.read_bytes() == b.read_bytes()
    info = probe_video(a)
    assert info.n_frames == len(frames) and info.fps == pytest.approx(FPS)
    assert (info.width, info.height) == (96, 64)
    assert info.duration_s == pytest.approx(len(frames) / FPS)
    decoded = list(iter_video_frames(a))
    assert len(decoded) == len(frames) and decoded[0].shape == (64, 96, 3)
    assert np.abs(decoded[0].astype(float) - frames[0]).mean() < 12
    assert len(list(iter_video_frames(a, step=3, max_frames=4))) == 4
    back, sr = read_audio(a)
    assert sr == SR and abs(back.size / sr - audio.size / SR) <= 0.1
    assert 0.15 < np.sqrt(np.mean(back**2)) < 0.25


def test_mp4_bytes_do_not_depend_on_process_state(tmp_path: Path, monkeypatch) -> None:
    """The same BAUM-1s-like clip (H.264 + AAC, 12 frames) encoded 10 times in one process.

    File names of growing length shift the heap between encodes: with x264's AVX-512 kernels
    this gave 2-4 different files (CI failure of the BAUM-1s determinism test).
    """
    captured: dict[str, tuple] = {}

    def keep(path, frames, *, fps, audio=None, sr=None) -> None:
        captured["clip"] = (list(frames), fps, audio, sr)

    writer = ClipWriter("baum1s", 1, size=(128, 160), fps=30.0, sr=48000)
    spk = speaker(1, "baum1s", "s002", language="Turkish", gender="M")
    monkeypatch.setattr(categorical, "write_video", keep)
    writer.write(tmp_path / "x.mp4", emotion="anger", spk=spk, duration_s=0.4, item="S002_001")
    monkeypatch.undo()
    frames, fps, audio, sr = captured["clip"]
    files = set()
    for i in range(10):
        path = tmp_path / f"{'n' * (i + 1)}.mp4"
        write_video(path, frames, fps=fps, audio=audio, sr=sr)
        files.add(path.read_bytes())
    assert len(files) == 1


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse2 avx2 avx512f avx512dq avx512cd avx512bw avx512vl", {"x264-params": "asm=avx2"}),
        ("fpu sse2 avx2 avx512f", {}),  # x264 needs all five for its AVX-512 kernels
        ("fpu sse2 avx avx2 bmi2", {}),
    ],
)
def test_x264_cpu_params(flags: str, expected: dict[str, str]) -> None:
    info = f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n"
    assert x264_cpu_params(info) == expected
    assert x264_cpu_params("Processor\t: AArch64\nFeatures\t: fp asimd\n") == {}


def test_video_without_audio_and_odd_size(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    write_video(path, _frames(5), fps=30.0)
    assert probe_video(path).n_frames == 5
    with pytest.raises(CorruptInputError, match="no audio stream"):
        read_audio(path)
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "odd.mp4", _frames(2, size=(63, 96)), fps=30.0)
    assert not list(tmp_path.glob("odd*"))


def _bad_files(tmp_path: Path) -> list[Path]:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    bad_wav = tmp_path / "bad.wav"
    bad_wav.write_bytes(b"RIFF" + bytes(100))
    empty_wav = tmp_path / "silent.wav"
    write_wav(empty_wav, np.zeros(0, np.float32), SR)
    return [tmp_path / "missing.mp4", empty, garbage, bad_wav, empty_wav]


def test_corrupt_inputs_raise_corrupt_input_error(tmp_path: Path) -> None:
    for path in _bad_files(tmp_path):
        with pytest.raises(CorruptInputError, match=path.name):
            read_audio(path)
        if path.suffix != ".wav":
            with pytest.raises(CorruptInputError, match=path.name):
                probe_video(path)
            with pytest.raises(CorruptInputError, match=path.name):
                list(iter_video_frames(path))
    wav = tmp_path / "audio_only.wav"
    write_wav(wav, _audio(0.2), SR)
    with pytest.raises(CorruptInputError, match="no video stream"):
        probe_video(wav)


def test_reading_wav_never_loads_pyav(tmp_path: Path) -> None:
    """PyAV (FFmpeg) is imported on first use: an audio-only job reading wav files (the speech
    networks, the device benchmark's bundles) works where PyAV is not installed."""
    import subprocess
    import sys

    wav = tmp_path / "a.wav"
    write_wav(wav, np.zeros(1600, dtype=np.float32), 16000)
    code = (
        "import sys; import emorepro.media as m, emorepro.corpora._common; "
        f"x, sr = m.read_audio({str(wav)!r}); assert sr == 16000 and x.size == 1600; "
        "print('av' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
