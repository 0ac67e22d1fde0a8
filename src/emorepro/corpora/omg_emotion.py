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
from typing import Any

import pandas as pd

from emorepro.corpora._common import CategoricalAdapter, check_file, media_row, safe_id
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


class OmgEmotionAdapter(CategoricalAdapter):
    """Reads the OMG sheets and ``<video>/<utterance>`` clips."""

    name = "omg_emotion"
    labels = SEVEN
    layout = (
        "omg_TrainVideos.csv + omg_ValidationVideos.csv (link,start,end,video,utterance,"
        "arousal,valence,EmotionMaxVote 0-6) and clips <video>/<utterance>.mp4"
    )

    def rows(self, root: Path) -> list[dict[str, Any]]:
        sheets = [(root / f, p) for f, p in SHEETS.items() if (root / f).is_file()]
        if not sheets:
            raise self.layout_error(root, "no omg_TrainVideos.csv / omg_ValidationVideos.csv")
        rows: list[dict[str, Any]] = []
        for sheet, partition in sheets:
            check_file(sheet)
            table = pd.read_csv(sheet, dtype=str, keep_default_na=False)
            table.columns = [c.strip() for c in table.columns]
            lower = {c.lower(): c for c in table.columns}
            missing = [c for c in REQUIRED if c.lower() not in lower]
            if missing:
                raise CorruptInputError(sheet, f"missing columns {missing}")
            col = {c: lower[c.lower()] for c in REQUIRED}
            for line, rec in enumerate(table.to_dict(orient="records"), start=2):
                video, utt = rec[col["video"]].strip(), rec[col["utterance"]].strip()
                raw = rec[col["EmotionMaxVote"]].strip()
                code = raw[:-2] if raw.endswith(".0") else raw
                if code not in EMOTIONS:
                    raise CorruptInputError(
                        sheet, f"line {line} ({video}/{utt}): unknown EmotionMaxVote {raw!r}",
                        fix="codes are 0 anger .. 6 surprise",
                    )  # fmt: skip
                name = utt if utt.lower().endswith(".mp4") else f"{utt}.mp4"
                path = root / video / name
                check_file(path, referenced_by=sheet)
                rows.append({
                    "item_id": safe_id(partition, video, name.rsplit(".", 1)[0]),
                    "subject": video,
                    "emotion": EMOTIONS[code],
                    "partition": partition,
                    "language": "English",
                    "sentence": name.rsplit(".", 1)[0],
                    **media_row(root, path),
                })  # fmt: skip
        return rows


ADAPTER = OmgEmotionAdapter()
