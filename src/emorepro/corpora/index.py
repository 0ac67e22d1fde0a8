"""The canonical corpus index: one row per item, the same columns for every corpus.

Adapters turn a corpus' own layout (real or synthetic twin) into this table; everything
downstream (protocols, features, training) reads only this table plus the files it names.
Paths are POSIX strings relative to the corpus root, so an index moves with its corpus.

Columns (``None``/empty where a corpus has no such thing):

============== ====== =================================================================
column         type   meaning
============== ====== =================================================================
item_id        str    unique within the corpus; used in file names downstream
corpus         str    adapter name (``rml``, ``recola_avec2016`` ...)
subject        str    speaker/subject id; the unit of speaker-independent protocols
audio_path     str    audio file (a ``.wav`` or the audio stream of a video container)
video_path     str    video file
arousal_path   str    continuous arousal label file (continuous corpora)
valence_path   str    continuous valence label file (continuous corpora)
emotion        str    canonical emotion name (:mod:`emorepro.emotions`)
labels         str    space-separated integer class ids (multi-label, YouTube-8M)
partition      str    ``train``/``dev``/``test`` where the corpus fixes one
duration_s     float  clip duration in seconds
sample_rate    int    audio sampling rate in Hz
fps            float  video frame rate
gender         str    ``F``/``M``
age            int    age in years
language       str    language / mother tongue
sentence       str    sentence/utterance id within a subject
feature_path   str    pre-computed feature file (YouTube-8M TFRecord shard)
recognition    float  listening-test recognition rate of the intended emotion, % (EmoDB)
naturalness    float  listening-test naturalness rating, % (EmoDB)
============== ====== =================================================================
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd

from emorepro.errors import CorpusLayoutError

COLUMNS: tuple[str, ...] = (
    "item_id",
    "corpus",
    "subject",
    "audio_path",
    "video_path",
    "arousal_path",
    "valence_path",
    "emotion",
    "labels",
    "partition",
    "duration_s",
    "sample_rate",
    "fps",
    "gender",
    "age",
    "language",
    "sentence",
    "feature_path",
    "recognition",
    "naturalness",
)


def _schema() -> dict[str, Any]:
    text = resources.files("emorepro.schemas").joinpath("corpus_index.schema.json").read_text()
    return json.loads(text)


def make_index(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Build an index DataFrame from row dicts; missing columns become ``None``.

    Rows are sorted by ``item_id`` so that the index (and its hash) does not depend on
    directory listing order.
    """
    frame = pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in rows], columns=list(COLUMNS))
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.sort_values("item_id", kind="stable").reset_index(drop=True)


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def validate_index(frame: pd.DataFrame, *, corpus: str, root: Path | str) -> None:
    """Validate every row against ``corpus_index.schema.json`` and item-id uniqueness.

    Raises :class:`CorpusLayoutError` naming the first offending item and field.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise CorpusLayoutError(corpus, root, f"index lacks columns {missing}")
    if frame.empty:
        raise CorpusLayoutError(corpus, root, "no items found")
    dupes = frame["item_id"][frame["item_id"].duplicated()].tolist()
    if dupes:
        raise CorpusLayoutError(corpus, root, f"duplicate item ids {dupes[:5]}")
    validator = jsonschema.Draft202012Validator(_schema())
    for record in frame.to_dict(orient="records"):
        row = {k: _clean(v) for k, v in record.items()}
        err = jsonschema.exceptions.best_match(validator.iter_errors(row))
        if err is not None:
            where = "/".join(str(p) for p in err.absolute_path) or "<row>"
            raise CorpusLayoutError(
                corpus, root, f"index row {row.get('item_id')!r}, field {where}: {err.message}"
            )


def write_index(frame: pd.DataFrame, path: Path | str) -> None:
    """Write the index as CSV (UTF-8, ``,``-separated, empty cell = missing)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def read_index(path: Path | str) -> pd.DataFrame:
    """Read an index written by :func:`write_index`, restoring ``None`` and int columns."""
    frame = pd.read_csv(path, dtype={"item_id": str, "subject": str, "sentence": str})
    frame = frame.astype(object).where(frame.notna(), None)
    for col in ("sample_rate", "age"):
        frame[col] = [None if v is None else int(v) for v in frame[col]]
    for col in ("labels", "language", "sentence"):
        frame[col] = [None if v is None else str(v) for v in frame[col]]
    return frame
