"""Synthetic twin of the eNTERFACE'05 audio-visual emotion database.

Layout (see :mod:`emorepro.corpora.enterface05` for the sources)::

    subject <N>/<anger|disgust|fear|happiness|sadness|surprise>/sentence <M>/s<N>_<code>_<M>.avi
    subject 6/<emotion>/s6_<code>_<M>.avi      # subject 6 has no sentence folders (as released)

``code`` is ``an di fe ha sa su``. Each ``.avi``: MPEG-4 video at 25 fps (720x576 at full
scale) and 16-bit PCM mono audio at 48 kHz. English sentences, 5 per emotion in the release.
"""

from __future__ import annotations

from pathlib import Path

from emorepro.corpora.enterface05 import EMOTIONS as CODES
from emorepro.synth.layouts._categorical import ClipWriter, durations, rng_for, speaker

#: the subject whose release has clips directly in the emotion folders
FLAT_SUBJECT = 6

#: size = (height, width); tiny/small use a reduced resolution, real fps and sample rate
SCALES: dict[str, dict] = {
    "tiny": {"subjects": 8, "sentences": 2, "duration_s": (1.2, 1.8),
             "size": (128, 160), "fps": 25.0, "sr": 48000},
    "small": {"subjects": 12, "sentences": 3, "duration_s": (2.5, 4.0),
              "size": (288, 360), "fps": 25.0, "sr": 48000},
    "full": {"subjects": 44, "sentences": 5, "duration_s": (3.0, 4.0),
             "size": (576, 720), "fps": 25.0, "sr": 48000},
}  # fmt: skip


def generate(root: Path, *, scale: str, seed: int) -> None:
    """Write the eNTERFACE'05 twin under ``root`` (``SCALES[scale]``)."""
    cfg = SCALES[scale]
    root = Path(root)
    writer = ClipWriter("enterface05", seed, size=cfg["size"], fps=cfg["fps"], sr=cfg["sr"])
    n = cfg["sentences"]
    for subj in range(1, cfg["subjects"] + 1):
        spk = speaker(seed, "enterface05", f"s{subj}", language="English")
        rng = rng_for(seed, "enterface05", "durations", subj)
        durs = durations(rng, n * len(CODES), *cfg["duration_s"])
        for e, (emotion, code) in enumerate(CODES.items()):
            for m in range(1, n + 1):
                folder = root / f"subject {subj}" / emotion
                if subj != FLAT_SUBJECT:
                    folder = folder / f"sentence {m}"
                name = f"s{subj}_{code}_{m}"
                writer.write(folder / f"{name}.avi", emotion=emotion, spk=spk,
                             duration_s=durs[e * n + m - 1], item=name)  # fmt: skip
