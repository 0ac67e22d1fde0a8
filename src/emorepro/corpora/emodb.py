"""EmoDB (Berlin Database of Emotional Speech) adapter: a real corpus anyone may use.

Layout, as in the corpus' own download (Burkhardt et al., Interspeech 2005; CC0-1.0)::

    <root>/wav/<SS><TTT><E><V>.wav     # 535 utterances, audio only
    <root>/erkennung.txt               # optional: listening-test recognition and naturalness

File name: characters 0-1 the speaker (03, 08-16), 2-4 the text id (``a01`` ... ``b10``),
5 the emotion letter (German initials: W Wut/anger, L Langeweile/boredom, E Ekel/disgust,
A Angst/fear, F Freude/happiness, T Trauer/sadness, N neutral), 6 the version (a, b, ...).
Any sample rate and length are accepted (the original is 16 kHz, 1.2-9 s; the processed copy
in ``shared/data/emodb`` is 22,050 Hz, cut or padded to 2.0 s).

``erkennung.txt`` (Latin-1, tab-separated, decimal comma; header ``Nr. Satz erkannt
natuerlich``) gives per file the recognition rate and the naturalness rating in percent of 20
listeners; they become the optional index columns ``recognition`` and ``naturalness``.
Speaker genders and ages are those of the corpus documentation.
"""

from __future__ import annotations

import re
from pathlib import Path

import soundfile as sf

from emorepro.corpora._common import CategoricalAdapter, Row, check_file, rel
from emorepro.errors import CorruptInputError

#: emotion letter of the file name -> canonical emotion
EMOTIONS: dict[str, str] = {
    "W": "anger",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happiness",
    "T": "sadness",
    "N": "neutral",
}
#: the seven EmoDB classes in a fixed order
LABELS: tuple[str, ...] = ("anger", "boredom", "disgust", "fear", "happiness", "sadness",
                           "neutral")  # fmt: skip
#: speaker -> (gender, age), from the corpus documentation
SPEAKERS: dict[str, tuple[str, int]] = {
    "03": ("M", 31), "08": ("F", 34), "09": ("F", 21), "10": ("M", 32), "11": ("M", 26),
    "12": ("M", 30), "13": ("F", 32), "14": ("F", 35), "15": ("M", 25), "16": ("F", 31),
}  # fmt: skip
NAME = re.compile(r"^(?P<speaker>\d{2})(?P<text>[a-z]\d{2})(?P<emotion>[A-Z])(?P<version>[a-z])$")
RATINGS = "erkennung.txt"
LAYOUT = (
    "wav/<SS><TTT><E><V>.wav (speaker, text id, emotion letter W L E A F T N, version) and "
    "optionally erkennung.txt (listening-test ratings)"
)


def parse_name(path: Path) -> dict[str, str]:
    """Speaker, text id, emotion and version of an EmoDB file name; others raise
    :class:`CorruptInputError` naming the file and the naming rule."""
    m = NAME.match(path.stem)
    if m is None:
        raise CorruptInputError(
            path,
            "not an EmoDB file name",
            fix="name files <speaker 2 digits><text id><emotion letter><version>.wav, "
            "e.g. 03a01Fa.wav",
        )
    if m["emotion"] not in EMOTIONS:
        raise CorruptInputError(
            path,
            f"unknown EmoDB emotion letter {m['emotion']!r} (6th character of the name)",
            fix=f"use one of {' '.join(EMOTIONS)} ({', '.join(EMOTIONS.values())})",
        )
    return {**m.groupdict(), "emotion": EMOTIONS[m["emotion"]]}


def read_ratings(path: Path) -> dict[str, tuple[float, float]]:
    """``file stem -> (recognition %, naturalness %)`` from ``erkennung.txt``."""
    check_file(path)
    ratings = {}
    text = path.read_text(encoding="latin-1")
    for line_no, line in enumerate(text.splitlines(), start=1):
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) < 4 or not fields[1].lower().endswith(".wav"):
            continue  # header or blank line
        try:
            recognised, natural = (float(fields[k].replace(",", ".")) for k in (2, 3))
        except ValueError:
            raise CorruptInputError(
                path, f"line {line_no}: ratings {fields[2:4]} are not numbers",
                fix="restore erkennung.txt from the corpus download",
            ) from None  # fmt: skip
        ratings[Path(fields[1]).stem] = (recognised, natural)
    return ratings


def _audio_facts(path: Path) -> tuple[int, float]:
    """Sample rate and duration from the header; unreadable or empty audio raises."""
    check_file(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise CorruptInputError(
            path, f"not a readable audio file ({err})", fix="restore it from the corpus download"
        ) from None
    if info.frames == 0:
        raise CorruptInputError(path, "audio has 0 samples", fix="restore it from the download")
    return int(info.samplerate), round(info.frames / info.samplerate, 4)


def _row(root: Path, path: Path, ratings: dict[str, tuple[float, float]] | None) -> Row:
    name = parse_name(path)
    sr, duration = _audio_facts(path)
    gender, age = SPEAKERS.get(name["speaker"], (None, None))
    recognition, naturalness = (ratings or {}).get(path.stem, (None, None))
    return {
        "item_id": path.stem,
        "subject": name["speaker"],
        "audio_path": rel(root, path),
        "emotion": name["emotion"],
        "sentence": name["text"],
        "sample_rate": sr,
        "duration_s": duration,
        "gender": gender,
        "age": age,
        "language": "german",
        "recognition": recognition,
        "naturalness": naturalness,
    }


def read_rows(adapter: CategoricalAdapter, root: Path) -> list[Row]:
    """One row per ``wav/*.wav``; ratings from ``erkennung.txt`` when it is there."""
    folder = root / "wav"
    if not folder.is_dir():
        raise adapter.layout_error(root, "folder wav/ not found")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav")
    if not files:
        raise adapter.layout_error(root, "wav/ holds no .wav files")
    ratings = read_ratings(root / RATINGS) if (root / RATINGS).exists() else None
    return [_row(root, path, ratings) for path in files]


ADAPTER = CategoricalAdapter(name="emodb", layout=LAYOUT, read_rows=read_rows, labels=LABELS)
