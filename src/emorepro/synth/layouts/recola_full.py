"""Synthetic twin of the full RECOLA release (46 subjects, per-annotator ratings).

Layout::

    <root>/RECOLA-Audio-recordings/P16.wav
    <root>/RECOLA-Video-recordings/P16.mp4                       (25 fps, audio muxed in)
    <root>/RECOLA-Annotation/emotional_behaviour/{arousal,valence}/P16.csv
        time;FM1;FM2;FM3;FF1;FF2;FF3   (``;``-separated, 40 ms, 0..T s inclusive)
    <root>/RECOLA-Metadata/participants.csv
        subject,gender,age,mother_tongue   (our format: no public source shows the real one)

Subject ids are P16..P61 (46 consecutive numbers; the real numbering, P16..P65 with gaps, is
not reproduced). Mother tongues follow the reported mix (mostly French, some German and
Italian). Signals as in :mod:`emorepro.synth.layouts.recola_avec2016`.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np

from emorepro.synth.affect import make_speakers
from emorepro.synth.layouts.recola_avec2016 import TwinFolders, write_recordings

_STREAM = 46  # stable stream id of this corpus in every rng seed
METADATA = "RECOLA-Metadata/participants.csv"
FOLDERS = TwinFolders(
    audio="RECOLA-Audio-recordings", video="RECOLA-Video-recordings",
    ratings="RECOLA-Annotation/emotional_behaviour", mux_audio=True,
)  # fmt: skip

#: size profiles: subjects (real: 46), recording length, audio rate (real), video size
#: (height, width; reduced below ``full``)
SCALES: dict[str, dict] = {
    "tiny": {"n_subjects": 46, "duration_s": 8.0, "sr": 44100, "size": (96, 128)},
    "small": {"n_subjects": 46, "duration_s": 60.0, "sr": 44100, "size": (240, 320)},
    "full": {"n_subjects": 46, "duration_s": 300.0, "sr": 44100, "size": (720, 1280)},
}


def subject_ids(n: int) -> list[str]:
    """``P16``, ``P17``, ... (``n`` ids)."""
    return [f"P{16 + i}" for i in range(n)]


def generate(root: Path, *, scale: str, seed: int, threads: int = 1) -> None:
    """Write the full-release twin under ``root`` (recordings in ``threads`` processes)."""
    cfg = SCALES[scale]
    root = Path(root)
    ids = subject_ids(int(cfg["n_subjects"]))
    rng = np.random.default_rng([seed, _STREAM, 0])
    genders = ["F" if i % 2 == 0 else "M" for i in range(len(ids))]
    n_other = len(ids) * 3 // 23  # the reported 17 French / 3 German / 3 Italian mix
    tongues = rng.permutation(
        ["French"] * (len(ids) - 2 * n_other) + ["German"] * n_other + ["Italian"] * n_other
    )
    ages = rng.integers(18, 33, size=len(ids))  # young adults; the real ages are not public
    speakers = [
        replace(sp, age=int(age), language=str(tongue))
        for sp, age, tongue in zip(
            make_speakers(ids, rng=rng, genders=genders), ages, tongues, strict=True
        )
    ]
    meta_path = root / METADATA
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    with open(meta_path, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["subject", "gender", "age", "mother_tongue"])
        for sp in speakers:
            writer.writerow([sp.id, sp.gender, sp.age, sp.language])
    write_recordings(root, FOLDERS, speakers, stream=[seed, _STREAM, 1], cfg=cfg, threads=threads)
