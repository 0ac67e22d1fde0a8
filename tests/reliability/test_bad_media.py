"""Truncated media (a copy cut short, a download interrupted; issue 15 §1.6): every cut of a
video or wav either reads (some frames, a shorter signal) or stops with CorruptInputError
naming the file, never another exception and never zero frames in silence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emorepro.errors import CorruptInputError
from emorepro.media import iter_video_frames, probe_video, read_audio
from emorepro.synth.media import write_video, write_wav


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_every_truncation_of_a_video_reads_or_names_the_file(tmp_path: Path, suffix: str) -> None:
    full = tmp_path / f"full{suffix}"
    write_video(full, [np.full((64, 64, 3), 20 * i, np.uint8) for i in range(10)], fps=25.0)
    data = full.read_bytes()
    outcomes = {"read": 0, "refused": 0}
    for cut in range(0, len(data), max(1, len(data) // 60)):
        path = tmp_path / f"cut{cut}{suffix}"
        path.write_bytes(data[:cut])
        try:
            frames = list(iter_video_frames(path))
            info = probe_video(path)
        except CorruptInputError as err:
            assert path.name in str(err), err
            outcomes["refused"] += 1
            continue
        assert 1 <= len(frames) <= 10 and info.n_frames >= 1, (cut, len(frames))
        outcomes["read"] += 1
    assert outcomes["refused"] > 0  # the early cuts at least


def test_every_truncation_of_a_wav_reads_or_names_the_file(tmp_path: Path) -> None:
    full = tmp_path / "full.wav"
    write_wav(full, np.sin(np.arange(1600) / 10.0).astype(np.float32), 16000)
    data = full.read_bytes()
    for cut in range(0, len(data), 37):
        path = tmp_path / f"cut{cut}.wav"
        path.write_bytes(data[:cut])
        try:
            signal, sr = read_audio(path)
        except CorruptInputError as err:
            assert path.name in str(err), err
            continue
        assert sr == 16000 and 1 <= signal.size <= 1600 and np.isfinite(signal).all(), cut
