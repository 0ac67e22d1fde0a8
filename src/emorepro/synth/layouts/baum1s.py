"""Synthetic twin of BAUM-1s (spontaneous part of the BAUM-1 Turkish audio-visual database).

Layout (see :mod:`emorepro.corpora.baum1s` for the sources)::

    Annotations_BAUM1s.csv                 # No,Subject,Gender,Clip,Emotion,Code
    BAUM1s_MP4 - All/s<NNN>/S<NNN>_<MMM>.mp4

The release ships the sheet as ``Annotations_BAUM1s.xlsx``; the twin writes the CSV export
with the column positions the cited reader uses (subject = column 2, clip = column 4,
emotion code = column 6). Codes: 1 Anger, 2 Boredom, 3 Bothered, 4 Concentrating,
5 Contempt, 6 Disgust, 7 Fear, 8 Happiness, 9 Neutral, 10 Sadness, 11 Surprise, 12 Thinking,
13 Unsure. Clips: H.264 video at 30 fps (720x576 at full scale) + AAC audio at 48 kHz
(the papers do not state BAUM-1s' audio rate or frame rate; 30 fps follows Zhang et al.).
"""

from __future__ import annotations

import csv
from pathlib import Path

from emorepro.synth.layouts._categorical import ClipWriter, durations, rng_for, speaker

#: code -> emotion name as written in the sheet
CODE_NAMES: dict[int, str] = {
    1: "Anger", 2: "Boredom", 3: "Bothered", 4: "Concentrating", 5: "Contempt", 6: "Disgust",
    7: "Fear", 8: "Happiness", 9: "Neutral", 10: "Sadness", 11: "Surprise", 12: "Thinking",
    13: "Unsure",
}  # fmt: skip
#: six basic emotions -> code (Zhang et al. use these 521 clips)
BASIC_CODES: dict[str, int] = {
    "anger": 1, "happiness": 8, "sadness": 10, "fear": 7, "disgust": 6, "surprise": 11,
}  # fmt: skip
OTHER_CODES: tuple[int, ...] = (9, 2, 3, 4, 5, 12, 13)
CLIP_DIR = "BAUM1s_MP4 - All"
SHEET = "Annotations_BAUM1s.csv"

#: frame rate (after Zhang et al.) and audio rate; neither is stated for BAUM-1s
FPS, SR = 30.0, 48000
#: size = (height, width); basic/other = total clips with a six-basic / another code
SCALES: dict[str, dict] = {
    "tiny": {"subjects": 10, "basic": 60, "other": 4,
             "duration_s": (1.2, 1.8), "size": (128, 160)},
    "small": {"subjects": 31, "basic": 186, "other": 31,
              "duration_s": (1.5, 3.0), "size": (288, 360)},
    "full": {"subjects": 31, "basic": 521, "other": 701,
             "duration_s": (1.5, 4.0), "size": (576, 720)},
}  # fmt: skip


def generate(root: Path, *, scale: str, seed: int, threads: int = 1) -> None:
    """Write the BAUM-1s twin under ``root`` (``SCALES[scale]``; clips in ``threads``
    processes)."""
    cfg = SCALES[scale]
    root = Path(root)
    n_subj = cfg["subjects"]
    basic = list(BASIC_CODES)
    # (subject index, emotion for the signal, code); clip k goes to subject k % n_subj
    plan = [(k % n_subj, basic[(k // n_subj) % 6], BASIC_CODES[basic[(k // n_subj) % 6]])
            for k in range(cfg["basic"])]  # fmt: skip
    plan += [(k % n_subj, "neutral", OTHER_CODES[(k // n_subj) % len(OTHER_CODES)])
             for k in range(cfg["other"])]  # fmt: skip
    plan.sort(key=lambda p: p[0])
    writer = ClipWriter("baum1s", seed, size=cfg["size"], fps=FPS, sr=SR)
    durs = durations(rng_for(seed, "baum1s", "durations"), len(plan), *cfg["duration_s"])
    speakers = {
        s: speaker(seed, "baum1s", f"s{s + 1:03d}", language="Turkish",
                   gender="F" if s % 2 == 0 else "M")
        for s in range(n_subj)
    }  # fmt: skip
    counters = dict.fromkeys(range(n_subj), 0)
    rows: list[list[str]] = []
    for k, (s, emotion, code) in enumerate(plan):
        counters[s] += 1
        clip = f"S{s + 1:03d}_{counters[s]:03d}"
        path = root / CLIP_DIR / f"s{s + 1:03d}" / f"{clip}.mp4"
        writer.add(path, emotion=emotion, spk=speakers[s], duration_s=durs[k], item=clip)
        rows.append([str(k + 1), str(s + 1), speakers[s].gender, clip, CODE_NAMES[code], str(code)])
    writer.write_all(threads=threads)
    with open(root / SHEET, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["No", "Subject", "Gender", "Clip", "Emotion", "Code"])
        out.writerows(rows)
