"""BAUM-1s (spontaneous BAUM-1, Turkish) adapter.

Layout contract, from public readers of the release: a reader that walks
``Annotations_BAUM1s.csv`` (the CSV export of the released ``Annotations_BAUM1s.xlsx``) and
opens ``BAUM1s_MP4 - All/s<NNN>/<clip>.mp4`` with subject number in column 2, clip name in
column 4 and emotion code (1-13) in column 6 (``classify_BAUM1S`` in a public emotion-data
preprocessing script, found by the string ``Annotations_BAUM1s.csv``; its repository name was
not retrievable), and BAUM-1 preprocessing scripts that copy the xlsx sheets to TSV
(clip, emotion, code, gender) with the code list ang bor bot con con dis fea hap neu sad sur
thi uns and clip folders ``BAUM1s_MP4 - All/<speaker>/<S0NN_MMM>.mp4`` (find_string
``Annotations_BAUM1s``)::

    <root>/Annotations_BAUM1s.csv          # header row optional; >= 6 columns
    <root>/BAUM1s_MP4 - All/s<NNN>/<clip>.mp4

Export the xlsx sheet to ``Annotations_BAUM1s.csv`` (same columns) before indexing. Only the
six basic emotions (codes 1, 6, 7, 8, 10, 11; the 521 clips of Zhang et al.) are indexed;
clips with the other known codes (boredom, neutral, ...) are skipped; an unknown code stops.
"""

from __future__ import annotations

import csv
from pathlib import Path

from emorepro.corpora._common import CategoricalAdapter, Row, check_file, clip_row
from emorepro.errors import CorruptInputError

BASIC: dict[int, str] = {
    1: "anger", 6: "disgust", 7: "fear", 8: "happiness", 10: "sadness", 11: "surprise",
}  # fmt: skip
KNOWN_CODES: frozenset[int] = frozenset(range(1, 14))
SHEET = "Annotations_BAUM1s.csv"
CLIP_DIRS: tuple[str, ...] = ("BAUM1s_MP4 - All", "BAUM1s_MP4_all", "BAUM1s_MP4_All")
LAYOUT = (
    "Annotations_BAUM1s.csv (CSV export of Annotations_BAUM1s.xlsx; column 2 = subject, "
    "4 = clip, 6 = emotion code 1-13) + 'BAUM1s_MP4 - All/s<NNN>/<clip>.mp4'"
)


def find_sheet(adapter: CategoricalAdapter, root: Path) -> Path:
    """The annotation sheet; an xlsx without its CSV export asks for the export."""
    sheet = root / SHEET
    if not sheet.is_file():
        if (root / "Annotations_BAUM1s.xlsx").is_file():
            raise adapter.layout_error(
                root, "found Annotations_BAUM1s.xlsx but not its CSV export; save the sheet "
                f"as {SHEET} (same columns) next to it",
            )  # fmt: skip
        raise adapter.layout_error(root, f"annotation sheet {SHEET} not found")
    check_file(sheet)
    return sheet


def read_rows(adapter: CategoricalAdapter, root: Path) -> list[Row]:
    """One row per sheet line with a six-basic emotion code; other known codes are skipped."""
    sheet = find_sheet(adapter, root)
    clip_dir = next((root / d for d in CLIP_DIRS if (root / d).is_dir()), None)
    if clip_dir is None:
        raise adapter.layout_error(root, "clip folder 'BAUM1s_MP4 - All' not found")
    with open(sheet, newline="", encoding="utf-8-sig") as fh:
        table = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    rows: list[Row] = []
    for line, rec in enumerate(table, start=1):
        if len(rec) < 6:
            raise CorruptInputError(sheet, f"row {line} has {len(rec)} columns, need >= 6")
        subj, clip, code = rec[1].strip(), rec[3].strip(), rec[5].strip()
        if line == 1 and not code.isdigit():
            continue  # header row
        if not code.isdigit() or int(code) not in KNOWN_CODES:
            raise CorruptInputError(
                sheet, f"row {line} (clip {clip!r}): unknown emotion code {code!r}",
                fix="use the BAUM-1s codes 1-13",
            )  # fmt: skip
        if int(code) not in BASIC:
            continue
        if not subj.isdigit():
            raise CorruptInputError(sheet, f"row {line}: subject {subj!r} is not a number")
        subject = f"s{int(subj):03d}"
        gender = rec[2].strip()[:1].upper() if len(rec) > 2 else ""
        rows.append(
            clip_row(
                root,
                clip_dir / subject / f"{clip}.mp4",
                listed_in=sheet,
                item_id=clip,
                subject=subject,
                emotion=BASIC[int(code)],
                gender=gender if gender in ("F", "M") else None,
                language="Turkish",
            )
        )
    return rows


ADAPTER = CategoricalAdapter(name="baum1s", layout=LAYOUT, read_rows=read_rows)
