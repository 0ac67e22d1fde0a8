"""Synthetic twin of the RML (Ryerson Multimedia Lab) audio-visual emotion database.

Layout (as read by albanie/mcnDatasets ``rml/getRmlImdb.m``; see
:mod:`emorepro.corpora.rml`)::

    rml-1/s1/an1.avi ... rml-1/s5/su<k>.avi      # speakers s1-s5
    rml-2/s6/... rml-2/s8/...                     # speakers s6-s8
    rml-2/s7/<language>/an1.avi                   # multi-language speakers: one level deeper

File stem = emotion code (``an di fe ha sa su``) + running number. Each ``.avi`` holds MPEG-4
video at 30 fps and 16-bit PCM mono audio at 22,050 Hz. Six languages over 8 speakers.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from emorepro.corpora.rml import EMOTIONS
from emorepro.synth.layouts._categorical import ClipWriter, add_grid, speaker

#: emotion -> file-name code, the inverse of the adapter's vocabulary
CODES: dict[str, str] = {emotion: code for code, emotion in EMOTIONS.items()}
#: speaker -> language folder(s); one language = clips directly in the speaker folder
LANGUAGES: dict[str, tuple[str, ...]] = {
    "s1": ("english",),
    "s2": ("mandarin",),
    "s3": ("urdu",),
    "s4": ("punjabi",),
    "s5": ("persian",),
    "s6": ("italian",),
    "s7": ("english", "mandarin"),
    "s8": ("english",),
}

#: real RML video: 720x480 at 30 fps (fps not stated in the papers), audio at 22,050 Hz
FPS, SR = 30.0, 22050
#: size = (height, width), reduced below ``full``
SCALES: dict[str, dict] = {
    "tiny": {"speakers": 8, "clips_per_emotion": 2, "duration_s": (1.2, 1.8), "size": (120, 180)},
    "small": {"speakers": 8, "clips_per_emotion": 5, "duration_s": (2.5, 4.0), "size": (240, 360)},
    "full": {"speakers": 8, "clips_per_emotion": 15, "duration_s": (4.0, 6.0), "size": (480, 720)},
}


def _place(
    folder: Path, sid: str, langs: tuple[str, ...], emotion: str, code: str, k: int
) -> tuple[Path, str]:
    """Clip ``k`` of one emotion: ``<code><k + 1>.avi``, alternating the language folders."""
    name = f"{code}{k + 1}"
    if len(langs) > 1:
        folder = folder / langs[k % len(langs)]
    return folder / f"{name}.avi", f"{sid}/{name}"


def generate(root: Path, *, scale: str, seed: int, threads: int = 1) -> None:
    """Write the RML twin under ``root`` (``SCALES[scale]``)."""
    cfg = SCALES[scale]
    root = Path(root)
    writer = ClipWriter("rml", seed, size=cfg["size"], fps=FPS, sr=SR)
    for i in range(cfg["speakers"]):
        sid = f"s{i + 1}"
        langs = LANGUAGES.get(sid, ("english",))
        folder = root / ("rml-1" if i < 5 else "rml-2") / sid
        spk = speaker(seed, "rml", sid, language=langs[0])
        add_grid(writer, spk, sid, codes=CODES, n=cfg["clips_per_emotion"],
                 span=cfg["duration_s"], place=partial(_place, folder, sid, langs))  # fmt: skip
    writer.write_all(threads=threads)
