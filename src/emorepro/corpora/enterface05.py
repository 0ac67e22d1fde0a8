"""eNTERFACE'05 audio-visual emotion database adapter.

Layout contract, verified against public readers of the release:
albanie/mcnDatasets ``enterface/getEnterfaceImdb.m`` (``subject <N>/<emotion>/<sentence>``
folders with emotion folder names ``anger disgust fear happiness sadness surprise``,
inconsistent depth flattened; README: 44 subject folders, 1293 clips, spaces in folder names)
and Canziyos/Mood_Detection ``raw_data_collection/enterface/DoNotREADME.md`` (clip names
``sXX_yy_Z.avi``, ``yy`` in ``an di fe ha sa su``, ``Z`` = repetition/sentence)::

    <root>/subject <N>/<emotion>/sentence <M>/s<N>_<code>_<M>.avi
    <root>/subject 6/<emotion>/s6_<code>_<M>.avi     # no sentence folders for subject 6

Folder names with ``-``/``_`` instead of the space are accepted. The emotion comes from the
emotion folder; the sentence from ``sentence <M>`` or else the last number of the file name.
Audio (48 kHz) is inside the ``.avi``. Subject = ``<N>`` (written ``s<N>``).
"""

from __future__ import annotations

import re
from pathlib import Path

from emorepro.corpora._common import (
    CategoricalAdapter,
    Row,
    clip_row,
    folder_label,
    rel,
    safe_id,
    subfolders,
)

EMOTIONS: dict[str, str] = {
    "anger": "an",
    "disgust": "di",
    "fear": "fe",
    "happiness": "ha",
    "sadness": "sa",
    "surprise": "su",
}
_SUBJECT = re.compile(r"^subject[ _-]?(\d+)$", re.IGNORECASE)
_SENTENCE = re.compile(r"^sentence[ _-]?(\d+)$", re.IGNORECASE)
_LAST_NUMBER = re.compile(r"(\d+)\D*$")
LAYOUT = (
    "subject <N>/<anger|disgust|fear|happiness|sadness|surprise>/sentence <M>/"
    "s<N>_<an|di|fe|ha|sa|su>_<M>.avi (subject 6 without sentence folders)"
)


def sentence_of(clip: Path) -> str:
    """``<M>`` of a ``sentence <M>`` parent folder, else the last number of the file name."""
    sm = _SENTENCE.match(clip.parent.name)
    nm = _LAST_NUMBER.search(clip.stem)
    return sm.group(1) if sm else (nm.group(1) if nm else clip.stem)


def read_rows(adapter: CategoricalAdapter, root: Path) -> list[Row]:
    """One row per clip under ``subject <N>/<emotion>/``; emotion = the emotion folder."""
    subjects = sorted(
        (int(m.group(1)), p) for p in subfolders(root) if (m := _SUBJECT.match(p.name))
    )
    if not subjects:
        raise adapter.layout_error(root, "no 'subject <N>' folders found")
    rows: list[Row] = []
    used: set[str] = set()
    for num, sdir in subjects:
        for edir in subfolders(sdir):
            emotion = edir.name.lower()
            code = folder_label(adapter, root, edir, emotion, EMOTIONS, what="emotion")
            clips = sorted(edir.rglob("*.avi"))
            if not clips:
                raise adapter.layout_error(root, f"emotion folder {rel(root, edir)!r} is empty")
            for clip in clips:
                sentence = sentence_of(clip)
                item = safe_id(f"s{num}", code, sentence)
                if item in used:
                    item = safe_id(rel(root, clip).rsplit(".", 1)[0].replace("/", "_"))
                used.add(item)
                rows.append(
                    clip_row(
                        root,
                        clip,
                        item_id=item,
                        subject=f"s{num}",
                        emotion=emotion,
                        language="English",
                        sentence=sentence,
                    )
                )
    return rows


ADAPTER = CategoricalAdapter(name="enterface05", layout=LAYOUT, read_rows=read_rows)
