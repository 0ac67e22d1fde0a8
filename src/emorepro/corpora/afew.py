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

from emorepro.corpora._common import (
    CategoricalAdapter,
    Row,
    clip_row,
    folder_label,
    partition_sources,
    safe_id,
    subfolders,
)
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
LAYOUT = (
    "Train_AFEW/<Angry|Disgust|Fear|Happy|Neutral|Sad|Surprise>/<id>.avi and "
    "Val_AFEW/<class>/<id>.avi"
)


def read_rows(adapter: CategoricalAdapter, root: Path) -> list[Row]:
    """One row per ``<subset>/<class>/<id>.avi``; the clip id is also the subject."""
    subsets = partition_sources(
        adapter, root, SUBSETS, Path.is_dir, problem="neither Train_AFEW/ nor Val_AFEW/ found"
    )
    rows: list[Row] = []
    for sdir, partition in subsets:
        for cdir in subfolders(sdir):
            emotion = folder_label(adapter, root, cdir, cdir.name, CLASSES, what="class")
            rows += [
                clip_row(
                    root,
                    clip,
                    item_id=safe_id(partition, clip.stem),
                    subject=safe_id(clip.stem),
                    emotion=emotion,
                    partition=partition,
                )
                for clip in sorted(cdir.iterdir())
                if clip.suffix.lower() in VIDEO_EXT
            ]
    return rows


ADAPTER = CategoricalAdapter(name="afew", layout=LAYOUT, read_rows=read_rows, labels=SEVEN)
