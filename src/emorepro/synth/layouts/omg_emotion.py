"""Synthetic twin of the OMG-Emotion (One-Minute Gradual Emotion) dataset.

Layout (see :mod:`emorepro.corpora.omg_emotion` for the sources)::

    omg_TrainVideos.csv        # link,start,end,video,utterance,arousal,valence,EmotionMaxVote
    omg_ValidationVideos.csv
    <video>/<utterance>        # e.g. 74de88564/utterance_1.mp4

EmotionMaxVote: 0 Anger, 1 Disgust, 2 Fear, 3 Happy, 4 Neutral, 5 Sad, 6 Surprise. Gold
arousal in [0, 1], valence in [-1, 1]. Clips: H.264 video at 30 fps + AAC audio at 44.1 kHz
(YouTube sources vary; not stated by the papers). One monologue video = one speaker.
"""

from __future__ import annotations

import csv
from pathlib import Path

from emorepro.synth.layouts._categorical import (
    ClipWriter,
    durations,
    rng_for,
    speaker,
    stable_ints,
)

#: EmotionMaxVote code order
EMOTIONS: tuple[str, ...] = (
    "anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
)  # fmt: skip
SPLITS: dict[str, str] = {"train": "omg_TrainVideos.csv", "dev": "omg_ValidationVideos.csv"}
COLUMNS: tuple[str, ...] = (
    "link", "start", "end", "video", "utterance", "arousal", "valence", "EmotionMaxVote",
)  # fmt: skip
_YT = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

#: YouTube sources vary; 30 fps and 44.1 kHz are not stated by the papers
FPS, SR = 30.0, 44100
#: size = (height, width); videos/utterances per split
SCALES: dict[str, dict] = {
    "tiny": {"videos": {"train": 4, "dev": 2}, "utterances": 7,
             "duration_s": (1.2, 1.8), "size": (120, 160)},
    "small": {"videos": {"train": 12, "dev": 4}, "utterances": 7,
              "duration_s": (2.0, 4.0), "size": (240, 320)},
    "full": {"videos": {"train": 244, "dev": 62}, "utterances": 10,
             "duration_s": (2.0, 10.0), "size": (720, 1280)},
}  # fmt: skip


def _video_id(seed: int, split: str, i: int) -> str:
    return f"{stable_ints(f'omg_emotion/{seed}/{split}/{i}')[0]:08x}{i % 10}"


def _link(seed: int, video: str) -> str:
    rng = rng_for(seed, "omg_emotion", "link", video)
    return "https://www.youtube.com/watch?v=" + "".join(rng.choice(list(_YT), size=11))


def generate(root: Path, *, scale: str, seed: int, threads: int = 1) -> None:
    """Write the OMG-Emotion twin under ``root`` (``SCALES[scale]``; clips in ``threads``
    processes)."""
    cfg = SCALES[scale]
    root = Path(root)
    writer = ClipWriter("omg_emotion", seed, size=cfg["size"], fps=FPS, sr=SR)
    n_utt = cfg["utterances"]
    # every clip of both splits first (written together), then each split's sheet
    sheets: dict[str, list[tuple[str, str, int, str, float, float]]] = {}
    for split in SPLITS:
        plan = sheets[split] = []
        for i in range(cfg["videos"][split]):
            video = _video_id(seed, split, i)
            spk = speaker(seed, "omg_emotion", video, language="English")
            link = _link(seed, video)
            durs = durations(rng_for(seed, "omg_emotion", "dur", video), n_utt, *cfg["duration_s"])
            t = 0.0
            for k in range(n_utt):
                code = (k + i) % len(EMOTIONS)
                utt = f"utterance_{k + 1}.mp4"
                writer.add(root / video / utt, emotion=EMOTIONS[code], spk=spk,
                           duration_s=durs[k], item=f"{video}/{utt}")  # fmt: skip
                start, t = t, round(t + durs[k], 2)
                plan.append((link, video, code, utt, start, t))
    affect = iter(writer.write_all(threads=threads))
    for split, sheet in SPLITS.items():
        rows: list[list[str]] = []
        for (link, video, code, utt, start, t), (a, v) in zip(sheets[split], affect, strict=False):
            rows.append([link, f"{start:.2f}", f"{t:.2f}", video, utt,
                         f"{(a + 1.0) / 2.0:.6f}", f"{v:.6f}", str(code)])  # fmt: skip
        with open(root / sheet, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(COLUMNS)
            out.writerows(rows)
