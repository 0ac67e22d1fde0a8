"""Shared clip writer for the categorical twins (RML, eNTERFACE'05, BAUM-1s, AFEW, OMG).

Every clip is one (arousal, valence) point drawn with
:func:`emorepro.synth.affect.emotion_affect` for its emotion and speaker; the voice and the
face frames are driven by that point (small per-frame jitter) and muxed into one container.

Determinism: every random generator is ``np.random.default_rng([seed, *stable_ints(...)])``
with CRC-32 of the corpus and item names, never Python's ``hash()``; a clip draws from its
own generators only, so clips are written in any order, in ``threads`` worker processes
(:meth:`ClipWriter.write_all`), with the same bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from emorepro.parallel import ordered_map
from emorepro.synth.affect import Speaker, emotion_affect, make_speakers
from emorepro.synth.face import FaceRenderer
from emorepro.synth.media import write_video
from emorepro.synth.voice import synthesize_speech

#: per-frame jitter (standard deviation) of arousal/valence around the clip's point
FRAME_JITTER = 0.03


def stable_ints(*parts: object) -> list[int]:
    """CRC-32 of each part's ``str``: stable across processes and Python versions."""
    return [zlib.crc32(str(p).encode("utf-8")) for p in parts]


def rng_for(seed: int, corpus: str, *item: object) -> np.random.Generator:
    """A generator derived from (seed, corpus, item...) only."""
    return np.random.default_rng([int(seed), *stable_ints(corpus, *item)])


def speaker(
    seed: int,
    corpus: str,
    speaker_id: str,
    *,
    language: str | None = None,
    gender: str | None = None,
) -> Speaker:
    """One synthetic speaker whose traits depend on (seed, corpus, speaker_id) only."""
    rng = rng_for(seed, corpus, "speaker", speaker_id)
    genders = None if gender is None else [gender]
    return make_speakers([speaker_id], rng=rng, language=language, genders=genders)[0]


class Clip(NamedTuple):
    """One clip to write: where, which emotion and speaker, how long, and its item name (the
    key of its random generators)."""

    path: Path
    emotion: str
    spk: Speaker
    duration_s: float
    item: str


class ClipWriter:
    """Writes audio-visual clips for one corpus; caches one face renderer per speaker.

    :meth:`write` writes one clip now; :meth:`add` queues one and :meth:`write_all` writes the
    queue in worker processes.
    """

    def __init__(self, corpus: str, seed: int, *, size: tuple[int, int], fps: float, sr: int):
        self.corpus, self.seed, self.size, self.fps, self.sr = corpus, seed, size, fps, sr
        self._renderers: dict[str, Any] = {}
        self._queue: list[Clip] = []

    def add(self, path: Path, *, emotion: str, spk: Speaker, duration_s: float, item: str) -> None:
        """Queue one clip for :meth:`write_all`."""
        self._queue.append(Clip(path, emotion, spk, duration_s, item))

    def write_all(self, *, threads: int = 1) -> list[tuple[float, float]]:
        """Write the queued clips (in ``threads`` worker processes, each with its own renderer
        cache) and empty the queue; returns each clip's (arousal, valence), in queue order."""
        clips, self._queue = self._queue, []

        def one(clip: Clip) -> tuple[float, float]:
            return self.write(clip.path, emotion=clip.emotion, spk=clip.spk,
                              duration_s=clip.duration_s, item=clip.item)  # fmt: skip

        return list(ordered_map(one, clips, threads=threads))

    def _renderer(self, spk: Speaker) -> Any:
        if spk.id not in self._renderers:
            self._renderers[spk.id] = FaceRenderer(spk, size=self.size)
        return self._renderers[spk.id]

    def write(
        self, path: Path, *, emotion: str, spk: Speaker, duration_s: float, item: str
    ) -> tuple[float, float]:
        """Write one clip (container from the suffix); return its (arousal, valence)."""
        rng = rng_for(self.seed, self.corpus, "clip", item)
        arousal, valence = emotion_affect(emotion, speaker=spk, rng=rng)
        audio = synthesize_speech(
            arousal=arousal,
            valence=valence,
            speaker=spk,
            duration_s=duration_s,
            sr=self.sr,
            rng=rng,
        )
        n_frames = max(1, round(duration_s * self.fps))
        jitter = rng.normal(0.0, FRAME_JITTER, size=(n_frames, 2))
        face_rng = rng_for(self.seed, self.corpus, "face", item)
        renderer = self._renderer(spk)

        def frames() -> Iterator[np.ndarray]:
            for da, dv in jitter:
                yield renderer.render(
                    arousal=float(np.clip(arousal + da, -1.0, 1.0)),
                    valence=float(np.clip(valence + dv, -1.0, 1.0)),
                    rng=face_rng,
                )

        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, frames(), fps=self.fps, audio=audio, sr=self.sr)
        return float(arousal), float(valence)


def durations(rng: np.random.Generator, n: int, lo: float, hi: float) -> list[float]:
    """``n`` clip durations uniform in [lo, hi], rounded to 0.1 s."""
    return [round(float(d), 1) for d in rng.uniform(lo, hi, size=n)]


def add_grid(
    writer: ClipWriter,
    spk: Speaker,
    key: object,
    *,
    codes: Mapping[str, str],
    n: int,
    span: tuple[float, float],
    place: Callable[[str, str, int], tuple[Path, str]],
) -> None:
    """Queue ``n`` clips of every emotion in ``codes`` (emotion -> file code) for one speaker
    (:meth:`ClipWriter.add`).

    Durations (uniform in ``span``) come emotion-major from the stream ``(seed, corpus,
    "durations", key)``; ``place(emotion, code, k)`` returns the path and the item name of
    repetition ``k`` (counted from 0).
    """
    durs = durations(rng_for(writer.seed, writer.corpus, "durations", key), n * len(codes), *span)
    for e, (emotion, code) in enumerate(codes.items()):
        for k in range(n):
            path, item = place(emotion, code, k)
            writer.add(path, emotion=emotion, spk=spk, duration_s=durs[e * n + k], item=item)
