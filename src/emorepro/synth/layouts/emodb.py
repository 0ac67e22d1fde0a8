"""Synthetic twin of EmoDB (Berlin Database of Emotional Speech) in the corpus' own layout.

Layout (see :mod:`emorepro.corpora.emodb`)::

    wav/<SS><TTT><E><V>.wav     # speaker 03, 08-16; text a01..b10; emotion letter; version
    erkennung.txt               # Latin-1, tab-separated, decimal comma: Nr. Satz erkannt natuerlich

Audio only (16 kHz mono PCM, the original corpus' rate); each utterance is one (arousal,
valence) point of its emotion (:func:`emorepro.synth.affect.emotion_affect`, boredom = low
arousal, mildly unpleasant) for its speaker, voiced by :func:`emorepro.synth.voice.
synthesize_speech`. The listening-test ratings are drawn plausibly (recognition 70-100 %,
naturalness 60-100 %); they carry no signal.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from emorepro.corpora.emodb import EMOTIONS, RATINGS, SPEAKERS
from emorepro.parallel import ordered_map
from emorepro.synth.affect import Speaker, emotion_affect
from emorepro.synth.layouts._categorical import durations, rng_for, speaker
from emorepro.synth.media import write_wav
from emorepro.synth.voice import synthesize_speech

SR = 16000
#: the ten texts of the corpus (five short, five long)
TEXTS: tuple[str, ...] = ("a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10")
#: emotion -> file letter, the inverse of the adapter's vocabulary
LETTERS: dict[str, str] = {emotion: letter for letter, emotion in EMOTIONS.items()}
#: texts spoken per emotion and speaker (the real corpus: 535 of 10 x 10 x 7 after selection)
SCALES: dict[str, dict] = {
    "tiny": {"texts": 1, "duration_s": (1.0, 1.6)},
    "small": {"texts": 3, "duration_s": (1.5, 3.0)},
    "full": {"texts": 8, "duration_s": (1.2, 9.0)},
}


def _comma(x: float) -> str:
    """A percentage with a decimal comma, as ``erkennung.txt`` writes it."""
    return f"{x:.2f}".replace(".", ",")


def _ratings_line(n: int, name: str, rng: np.random.Generator) -> str:
    recognised, natural = rng.uniform(70, 100), rng.uniform(60, 100)
    return f"{n}\t{name}\t{_comma(recognised)}\t{_comma(natural)}"


def _utterance(root: Path, seed: int, job: tuple[int, str, Speaker, str, float]) -> str:
    """Write one utterance (``job``: line number, name, speaker, emotion, duration); return its
    ratings line, drawn after the audio from the utterance's own generator."""
    n, name, spk, emotion, duration_s = job
    rng = rng_for(seed, "emodb", "utterance", name)
    arousal, valence = emotion_affect(emotion, speaker=spk, rng=rng)
    audio = synthesize_speech(arousal=arousal, valence=valence, speaker=spk,
                              duration_s=duration_s, sr=SR, rng=rng)  # fmt: skip
    write_wav(root / "wav" / f"{name}.wav", audio, SR)
    return _ratings_line(n, f"{name}.wav", rng)


def generate(root: Path, *, scale: str, seed: int, threads: int = 1) -> None:
    """Write the EmoDB twin under ``root`` (``SCALES[scale]`` texts per emotion and speaker;
    utterances in ``threads`` processes)."""
    cfg = SCALES[scale]
    root = Path(root)
    jobs: list[tuple[int, str, Speaker, str, float]] = []
    for sid, (gender, _age) in SPEAKERS.items():
        spk = speaker(seed, "emodb", sid, language="german", gender=gender)
        n = cfg["texts"] * len(LETTERS)
        durs = durations(rng_for(seed, "emodb", "durations", sid), n, *cfg["duration_s"])
        for k, (emotion, letter) in enumerate(
            (e, letter) for e, letter in LETTERS.items() for _ in range(cfg["texts"])
        ):
            text = TEXTS[(k + int(sid)) % len(TEXTS)]
            name = f"{sid}{text}{letter}a"
            jobs.append((len(jobs) + 1, name, spk, emotion, durs[k]))
    lines = ["Nr.\tSatz\terkannt\tnatuerlich"]
    lines += ordered_map(partial(_utterance, root, seed), jobs, threads=threads)
    (root / RATINGS).write_text("\n".join(lines) + "\n", encoding="latin-1")
