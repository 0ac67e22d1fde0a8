"""RML (Ryerson Multimedia Lab) emotion database adapter.

Layout contract (verified against albanie/mcnDatasets ``rml/getRmlImdb.m`` and
``rml/split_into_frames.py``, which read the release as ``<subset>/<speaker>/<clip>.avi``
with subsets ``rml-1`` (s1-s5) and ``rml-2`` (s6-s8), "flatten speakers with multiple
languages" = one extra folder level, and the emotion taken from the first two letters of the
clip name, ``an di fe ha sa su``)::

    <root>/[rml-1|rml-2/]s<N>/[<language>/]<an|di|fe|ha|sa|su><k>.avi

Speaker folders may also sit directly under the root. Audio is inside the ``.avi``
(22,050 Hz). Subject = speaker folder; language = the language sub-folder where present.
"""

from __future__ import annotations

import re
from pathlib import Path

from emorepro.corpora._common import CategoricalAdapter, Row, clip_row, safe_id, subfolders
from emorepro.errors import CorruptInputError

EMOTIONS: dict[str, str] = {
    "an": "anger",
    "di": "disgust",
    "fe": "fear",
    "ha": "happiness",
    "sa": "sadness",
    "su": "surprise",
}
_SPEAKER = re.compile(r"^s\d+$", re.IGNORECASE)
_CLIP = re.compile(r"^([A-Za-z]+)(\d+)$")
LAYOUT = (
    "[rml-1|rml-2/]s<N>/[<language>/]<an|di|fe|ha|sa|su><k>.avi "
    "(speaker folders s1..s8, audio inside the avi)"
)


def speaker_folders(root: Path) -> list[Path]:
    """``s<N>`` folders directly under ``root`` or inside one of its other folders, sorted."""
    top = subfolders(root)
    found = [p for p in top if _SPEAKER.match(p.name)]
    for sub in top:
        if not _SPEAKER.match(sub.name):
            found += [p for p in subfolders(sub) if _SPEAKER.match(p.name)]
    return sorted(found)


def _row(root: Path, sdir: Path, clip: Path) -> Row:
    """The row of one clip of speaker folder ``sdir``; the emotion comes from its name."""
    m = _CLIP.match(clip.stem)
    code = (m.group(1) if m else clip.stem).lower()
    if m is None or code not in EMOTIONS:
        raise CorruptInputError(
            clip,
            f"unknown RML emotion code {code!r} in the file name",
            fix=f"name clips <code><k>.avi with code in {sorted(EMOTIONS)}",
        )
    subject = sdir.name.lower()
    language = clip.parent.name if clip.parent != sdir else None
    return clip_row(
        root,
        clip,
        item_id=safe_id(subject, *([language] if language else []), clip.stem),
        subject=subject,
        emotion=EMOTIONS[code],
        language=language,
        sentence=m.group(2),
    )


def read_rows(adapter: CategoricalAdapter, root: Path) -> list[Row]:
    """One row per ``.avi`` in a speaker folder or its language sub-folders."""
    speakers = speaker_folders(root)
    if not speakers:
        raise adapter.layout_error(root, "no speaker folders s<N> found")
    rows: list[Row] = []
    for sdir in speakers:
        clips = sorted(sdir.glob("*.avi")) + sorted(sdir.glob("*/*.avi"))
        if not clips:
            raise adapter.layout_error(root, f"speaker folder {sdir} holds no .avi clips")
        rows += [_row(root, sdir, clip) for clip in clips]
    return rows


ADAPTER = CategoricalAdapter(name="rml", layout=LAYOUT, read_rows=read_rows)
