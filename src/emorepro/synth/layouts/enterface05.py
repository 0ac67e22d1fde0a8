"""Synthetic twin of the eNTERFACE'05 audio-visual emotion database.

Layout (see :mod:`emorepro.corpora.enterface05` for the sources)::

    subject <N>/<anger|disgust|fear|happiness|sadness|surprise>/sentence <M>/s<N>_<code>_<M>.avi
    subject 6/<emotion>/s6_<code>_<M>.avi      # subject 6 has no sentence folders (as released)

``code`` is ``an di fe ha sa su``. Each ``.avi``: MPEG-4 video at 25 fps (720x576 at full
scale) and 16-bit PCM mono audio at 48 kHz. English sentences, 5 per emotion in the release.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from emorepro.corpora.enterface05 import EMOTIONS as CODES
from emorepro.synth.layouts._categorical import ClipWriter, add_grid, speaker

#: the subject whose release has clips directly in the emotion folders
FLAT_SUBJECT = 6

#: real frame rate and audio rate (all scales)
FPS, SR = 25.0, 48000
#: size = (height, width); tiny/small use a reduced resolution
SCALES: dict[str, dict] = {
    "tiny": {"subjects": 8, "sentences": 2, "duration_s": (1.2, 1.8), "size": (128, 160)},
    "small": {"subjects": 12, "sentences": 3, "duration_s": (2.5, 4.0), "size": (288, 360)},
    "full": {"subjects": 44, "sentences": 5, "duration_s": (3.0, 4.0), "size": (576, 720)},
}


def _place(root: Path, subj: int, emotion: str, code: str, k: int) -> tuple[Path, str]:
    """Clip ``k`` of one emotion = sentence ``k + 1``; subject 6 has no sentence folders."""
    folder = root / f"subject {subj}" / emotion
    if subj != FLAT_SUBJECT:
        folder = folder / f"sentence {k + 1}"
    name = f"s{subj}_{code}_{k + 1}"
    return folder / f"{name}.avi", name


def generate(root: Path, *, scale: str, seed: int, threads: int = 1) -> None:
    """Write the eNTERFACE'05 twin under ``root`` (``SCALES[scale]``)."""
    cfg = SCALES[scale]
    root = Path(root)
    writer = ClipWriter("enterface05", seed, size=cfg["size"], fps=FPS, sr=SR)
    for subj in range(1, cfg["subjects"] + 1):
        spk = speaker(seed, "enterface05", f"s{subj}", language="English")
        add_grid(writer, spk, subj, codes=CODES, n=cfg["sentences"], span=cfg["duration_s"],
                 place=partial(_place, root, subj))  # fmt: skip
    writer.write_all(threads=threads)
