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

from pathlib import Path

from emorepro.corpora.rml import EMOTIONS
from emorepro.synth.layouts._categorical import ClipWriter, durations, rng_for, speaker

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

#: size = (height, width); real RML video is 720x480, 30 fps (fps not stated in the papers)
SCALES: dict[str, dict] = {
    "tiny": {"speakers": 8, "clips_per_emotion": 2, "duration_s": (1.2, 1.8),
             "size": (120, 180), "fps": 30.0, "sr": 22050},
    "small": {"speakers": 8, "clips_per_emotion": 5, "duration_s": (2.5, 4.0),
              "size": (240, 360), "fps": 30.0, "sr": 22050},
    "full": {"speakers": 8, "clips_per_emotion": 15, "duration_s": (4.0, 6.0),
             "size": (480, 720), "fps": 30.0, "sr": 22050},
}  # fmt: skip


def generate(root: Path, *, scale: str, seed: int) -> None:
    """Write the RML twin under ``root`` (``SCALES[scale]``)."""
    cfg = SCALES[scale]
    root = Path(root)
    writer = ClipWriter("rml", seed, size=cfg["size"], fps=cfg["fps"], sr=cfg["sr"])
    n = cfg["clips_per_emotion"]
    for i in range(cfg["speakers"]):
        sid = f"s{i + 1}"
        langs = LANGUAGES.get(sid, ("english",))
        subset = "rml-1" if i < 5 else "rml-2"
        spk = speaker(seed, "rml", sid, language=langs[0])
        durs = durations(rng_for(seed, "rml", "durations", sid), n * len(CODES), *cfg["duration_s"])
        for e, (emotion, code) in enumerate(CODES.items()):
            for k in range(n):
                folder = root / subset / sid
                if len(langs) > 1:
                    folder = folder / langs[k % len(langs)]
                name = f"{code}{k + 1}"
                writer.write(folder / f"{name}.avi", emotion=emotion, spk=spk,
                             duration_s=durs[e * n + k], item=f"{sid}/{name}")  # fmt: skip
