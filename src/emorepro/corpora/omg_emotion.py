"""OMG-Emotion (One-Minute Gradual Emotion) adapter.

Layout contract, from knowledgetechnologyuhh/OMGEmotionChallenge ``README.md`` (files
``omg_TrainVideos.csv``/``omg_ValidationVideos.csv`` with link, start, end, video,
utterance, arousal, valence and the max-vote category coded 0 Anger, 1 Disgust, 2 Fear,
3 Happy, 4 Neutral, 5 Sad, 6 Surprise; ``utterance`` values like ``utterance_1.mp4``) and
public loaders that read the header column ``EmotionMaxVote`` and open clips as
``<video>/<utterance>`` (find_string ``EmotionMaxVote``)::

    <root>/omg_TrainVideos.csv          -> partition train
    <root>/omg_ValidationVideos.csv     -> partition dev
    <root>/omg_TestVideos_WithLabels.csv -> partition test (optional, released later)
    <root>/<video>/<utterance>          # e.g. 74de88564/utterance_1.mp4

Subject = the ``video`` id (one monologue video = one speaker). Audio is inside the ``.mp4``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from emorepro.corpora._common import (
    CategoricalAdapter,
    Row,
    check_file,
    clip_row,
    partition_sources,
    safe_id,
)
from emorepro.emotions import SEVEN
from emorepro.errors import CorruptInputError

EMOTIONS: dict[str, str] = {
    "0": "anger", "1": "disgust", "2": "fear", "3": "happiness", "4": "neutral",
    "5": "sadness", "6": "surprise",
}  # fmt: skip
SHEETS: dict[str, str] = {
    "omg_TrainVideos.csv": "train",
    "omg_ValidationVideos.csv": "dev",
    "omg_TestVideos_WithLabels.csv": "test",
}
REQUIRED: tuple[str, ...] = ("video", "utterance", "EmotionMaxVote")
LAYOUT = (
    "omg_TrainVideos.csv + omg_ValidationVideos.csv (link,start,end,video,utterance,"
    "arousal,valence,EmotionMaxVote 0-6) and clips <video>/<utterance>.mp4"
)


def read_sheet(sheet: Path) -> list[dict[str, str]]:
    """The sheet's records keyed by the :data:`REQUIRED` names (column case ignored)."""
    check_file(sheet)
    table = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    table.columns = [c.strip() for c in table.columns]
    lower = {c.lower(): c for c in table.columns}
    missing = [c for c in REQUIRED if c.lower() not in lower]
    if missing:
        raise CorruptInputError(sheet, f"missing columns {missing}")
    return [{c: rec[lower[c.lower()]] for c in REQUIRED} for rec in table.to_dict("records")]


def read_rows(adapter: CategoricalAdapter, root: Path) -> list[Row]:
    """One row per sheet line; partition from the sheet, subject = the video id."""
    sheets = partition_sources(
        adapter,
        root,
        SHEETS,
        Path.is_file,
        problem="no omg_TrainVideos.csv / omg_ValidationVideos.csv",
    )
    rows: list[Row] = []
    for sheet, partition in sheets:
        for line, rec in enumerate(read_sheet(sheet), start=2):
            video, utt = rec["video"].strip(), rec["utterance"].strip()
            raw = rec["EmotionMaxVote"].strip()
            code = raw[:-2] if raw.endswith(".0") else raw
            if code not in EMOTIONS:
                raise CorruptInputError(
                    sheet, f"line {line} ({video}/{utt}): unknown EmotionMaxVote {raw!r}",
                    fix="codes are 0 anger .. 6 surprise",
                )  # fmt: skip
            name = utt if utt.lower().endswith(".mp4") else f"{utt}.mp4"
            rows.append(
                clip_row(
                    root,
                    root / video / name,
                    listed_in=sheet,
                    item_id=safe_id(partition, video, name.rsplit(".", 1)[0]),
                    subject=video,
                    emotion=EMOTIONS[code],
                    partition=partition,
                    language="English",
                    sentence=name.rsplit(".", 1)[0],
                )
            )
    return rows


ADAPTER = CategoricalAdapter(name="omg_emotion", layout=LAYOUT, read_rows=read_rows, labels=SEVEN)
