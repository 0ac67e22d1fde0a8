"""AFEW (EmotiW audio-video sub-challenge) adapter.

Layout contract, from public readers: albanie/mcnDatasets ``afew3.0/getAfewImdb.m`` (label =
class folder ``Angry Disgust Fear Happy Sad Surprise Neutral`` under each subset, one clip
per file/folder named by its id; the same id may occur in Train and Val) and
Open-Debin/Emotion-FAN ``data/face/readme.md`` (``train_afew``/``val_afew`` with the seven
class folders)::

    <root>/Train_AFEW/<Angry|Disgust|Fear|Happy|Neutral|Sad|Surprise>/<id>.avi
    <root>/Val_AFEW/<class>/<id>.avi            (``Train``/``Val`` also accepted)

Fixed partitions: Train -> ``train``, Val -> ``dev``. AFEW has no speaker ids: every clip id
is treated as its own subject (so a speaker-independent split is a clip-level split).
Audio is inside the ``.avi``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emorepro.corpora._common import CategoricalAdapter, media_row, rel, safe_id
from emorepro.emotions import SEVEN

CLASSES: dict[str, str] = {
    "Angry": "anger",
    "Disgust": "disgust",
    "Fear": "fear",
    "Happy": "happiness",
    "Neutral": "neutral",
    "Sad": "sadness",
    "Surprise": "surprise",
}
#: accepted subset folder names -> partition
SUBSETS: dict[str, str] = {"Train_AFEW": "train", "Train": "train", "Val_AFEW": "dev", "Val": "dev"}
VIDEO_EXT: tuple[str, ...] = (".avi", ".mp4")


class AfewAdapter(CategoricalAdapter):
    """Reads ``Train_AFEW/<class>/<id>.avi`` and ``Val_AFEW/<class>/<id>.avi``."""

    name = "afew"
    labels = SEVEN
    layout = (
        "Train_AFEW/<Angry|Disgust|Fear|Happy|Neutral|Sad|Surprise>/<id>.avi and "
        "Val_AFEW/<class>/<id>.avi"
    )

    def rows(self, root: Path) -> list[dict[str, Any]]:
        subsets = [(root / d, p) for d, p in SUBSETS.items() if (root / d).is_dir()]
        if not subsets:
            raise self.layout_error(root, "neither Train_AFEW/ nor Val_AFEW/ found")
        rows: list[dict[str, Any]] = []
        for sdir, partition in subsets:
            for cdir in sorted(p for p in sdir.iterdir() if p.is_dir()):
                if cdir.name not in CLASSES:
                    raise self.layout_error(
                        root, f"unknown class folder {rel(root, cdir)!r}; expected one of "
                        f"{list(CLASSES)}",
                    )  # fmt: skip
                for clip in sorted(cdir.iterdir()):
                    if clip.suffix.lower() not in VIDEO_EXT:
                        continue
                    rows.append({
                        "item_id": safe_id(partition, clip.stem),
                        "subject": safe_id(clip.stem),
                        "emotion": CLASSES[cdir.name],
                        "partition": partition,
                        **media_row(root, clip),
                    })  # fmt: skip
        return rows


ADAPTER = AfewAdapter()
