"""Synthetic twin of AFEW (Acted Facial Expressions in the Wild, EmotiW audio-video track).

Layout (see :mod:`emorepro.corpora.afew` for the sources)::

    Train_AFEW/<Angry|Disgust|Fear|Happy|Neutral|Sad|Surprise>/<9-digit id>.avi
    Val_AFEW/<class>/<9-digit id>.avi

Clips are movie excerpts without speaker ids; the twin gives every clip its own speaker.
``.avi`` = MPEG-4 video at 25 fps (720x576 at full scale) + PCM audio at 48 kHz (movie
sources vary; these values are not stated by the papers).
"""

from __future__ import annotations

from pathlib import Path

from emorepro.corpora.afew import CLASSES
from emorepro.synth.layouts._categorical import ClipWriter, durations, rng_for, speaker

SPLITS: dict[str, str] = {"Train_AFEW": "train", "Val_AFEW": "val"}
#: EmotiW 2016 (AFEW 6.0) counts per class, from albanie/mcnDatasets afew3.0/README.md
FULL_TRAIN: dict[str, int] = {"Angry": 133, "Disgust": 74, "Fear": 81, "Happy": 150,
                              "Neutral": 144, "Sad": 117, "Surprise": 74}  # fmt: skip
FULL_VAL: dict[str, int] = {"Angry": 64, "Disgust": 40, "Fear": 46, "Happy": 63,
                            "Neutral": 63, "Sad": 61, "Surprise": 46}  # fmt: skip

#: movie sources vary; 25 fps and 48 kHz are not stated by the papers
FPS, SR = 25.0, 48000
#: size = (height, width); train/val = clips per class
SCALES: dict[str, dict] = {
    "tiny": {"train": dict.fromkeys(CLASSES, 4), "val": dict.fromkeys(CLASSES, 2),
             "duration_s": (1.2, 1.8), "size": (128, 160)},
    "small": {"train": dict.fromkeys(CLASSES, 12), "val": dict.fromkeys(CLASSES, 6),
              "duration_s": (1.5, 3.0), "size": (288, 360)},
    "full": {"train": FULL_TRAIN, "val": FULL_VAL,
             "duration_s": (1.0, 5.0), "size": (576, 720)},
}  # fmt: skip


def generate(root: Path, *, scale: str, seed: int, threads: int = 1) -> None:
    """Write the AFEW twin under ``root`` (``SCALES[scale]``; clips in ``threads`` processes)."""
    cfg = SCALES[scale]
    root = Path(root)
    writer = ClipWriter("afew", seed, size=cfg["size"], fps=FPS, sr=SR)
    for s, (folder, key) in enumerate(SPLITS.items()):
        counts = cfg[key]
        total = sum(counts.values())
        durs = durations(rng_for(seed, "afew", "durations", key), total, *cfg["duration_s"])
        j = 0
        for cls, emotion in CLASSES.items():
            for _ in range(counts.get(cls, 0)):
                clip = f"{(s + 1) * 10_000_000 + 7919 * j:09d}"
                spk = speaker(seed, "afew", clip)
                writer.add(root / folder / cls / f"{clip}.avi", emotion=emotion, spk=spk,
                           duration_s=durs[j], item=f"{key}/{clip}")  # fmt: skip
                j += 1
    writer.write_all(threads=threads)
