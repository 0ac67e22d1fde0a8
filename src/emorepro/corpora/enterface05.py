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
from typing import Any

from emorepro.corpora._common import CategoricalAdapter, media_row, rel, safe_id

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


class Enterface05Adapter(CategoricalAdapter):
    """Reads ``subject <N>/<emotion>/[sentence <M>/]s<N>_<code>_<M>.avi``."""

    name = "enterface05"
    layout = (
        "subject <N>/<anger|disgust|fear|happiness|sadness|surprise>/sentence <M>/"
        "s<N>_<an|di|fe|ha|sa|su>_<M>.avi (subject 6 without sentence folders)"
    )

    def rows(self, root: Path) -> list[dict[str, Any]]:
        subjects = sorted(
            (int(m.group(1)), p)
            for p in root.iterdir()
            if p.is_dir() and (m := _SUBJECT.match(p.name))
        )
        if not subjects:
            raise self.layout_error(root, "no 'subject <N>' folders found")
        rows: list[dict[str, Any]] = []
        used: set[str] = set()
        for num, sdir in subjects:
            for edir in sorted(p for p in sdir.iterdir() if p.is_dir()):
                emotion = edir.name.lower()
                if emotion not in EMOTIONS:
                    raise self.layout_error(
                        root,
                        f"unknown emotion folder {rel(root, edir)!r}; expected one of "
                        f"{sorted(EMOTIONS)}",
                    )
                clips = sorted(edir.rglob("*.avi"))
                if not clips:
                    raise self.layout_error(root, f"emotion folder {rel(root, edir)!r} is empty")
                for clip in clips:
                    sm = _SENTENCE.match(clip.parent.name)
                    nm = _LAST_NUMBER.search(clip.stem)
                    sentence = sm.group(1) if sm else (nm.group(1) if nm else clip.stem)
                    item = safe_id(f"s{num}", EMOTIONS[emotion], sentence)
                    if item in used:
                        item = safe_id(rel(root, clip).rsplit(".", 1)[0].replace("/", "_"))
                    used.add(item)
                    rows.append({
                        "item_id": item,
                        "subject": f"s{num}",
                        "emotion": emotion,
                        "language": "English",
                        "sentence": sentence,
                        **media_row(root, clip),
                    })  # fmt: skip
        return rows


ADAPTER = Enterface05Adapter()
