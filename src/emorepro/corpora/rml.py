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
from typing import Any

from emorepro.corpora._common import CategoricalAdapter, media_row, safe_id
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


class RmlAdapter(CategoricalAdapter):
    """Reads ``[rml-*/]s<N>/[<language>/]<code><k>.avi``."""

    name = "rml"
    layout = (
        "[rml-1|rml-2/]s<N>/[<language>/]<an|di|fe|ha|sa|su><k>.avi "
        "(speaker folders s1..s8, audio inside the avi)"
    )

    def _speaker_dirs(self, root: Path) -> list[Path]:
        found = [p for p in root.iterdir() if p.is_dir() and _SPEAKER.match(p.name)]
        for sub in root.iterdir():
            if sub.is_dir() and not _SPEAKER.match(sub.name):
                found += [p for p in sub.iterdir() if p.is_dir() and _SPEAKER.match(p.name)]
        return sorted(found)

    def rows(self, root: Path) -> list[dict[str, Any]]:
        speakers = self._speaker_dirs(root)
        if not speakers:
            raise self.layout_error(root, "no speaker folders s<N> found")
        rows: list[dict[str, Any]] = []
        for sdir in speakers:
            clips = sorted(sdir.glob("*.avi")) + sorted(sdir.glob("*/*.avi"))
            if not clips:
                raise self.layout_error(root, f"speaker folder {sdir} holds no .avi clips")
            for clip in clips:
                m = _CLIP.match(clip.stem)
                code = (m.group(1) if m else clip.stem).lower()
                if m is None or code not in EMOTIONS:
                    raise CorruptInputError(
                        clip,
                        f"unknown RML emotion code {code!r} in the file name",
                        fix=f"name clips <code><k>.avi with code in {sorted(EMOTIONS)}",
                    )
                language = clip.parent.name if clip.parent != sdir else None
                parts = [sdir.name.lower(), *([language] if language else []), clip.stem]
                rows.append({
                    "item_id": safe_id(*parts),
                    "subject": sdir.name.lower(),
                    "emotion": EMOTIONS[code],
                    "language": language,
                    "sentence": m.group(2),
                    **media_row(root, clip),
                })  # fmt: skip
        return rows


ADAPTER = RmlAdapter()
