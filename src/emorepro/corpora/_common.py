"""Helpers shared by the corpus adapters.

The categorical corpora (RML, eNTERFACE'05, BAUM-1s, AFEW, OMG) are all one class,
:class:`CategoricalAdapter`, configured per corpus with data: its registry name, its layout
line, its class vocabulary and a row reader returning one dict per clip. The class checks
the root and builds and validates the canonical index; RECOLA and YouTube-8M use the root,
error and index helpers below directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from emorepro.corpora.base import CorpusAdapter
from emorepro.corpora.index import make_index, validate_index
from emorepro.emotions import BASIC6
from emorepro.errors import CorpusLayoutError, CorruptInputError

#: one index row (column -> value) before :func:`make_index`
Row = dict[str, Any]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def layout_error(adapter: CorpusAdapter, root: Path, problem: str) -> CorpusLayoutError:
    """A :class:`CorpusLayoutError` carrying the adapter's expected layout."""
    return CorpusLayoutError(adapter.name, root, problem, expected=adapter.layout)


def corpus_root(
    adapter: CorpusAdapter, root: Path | str, problem: str = "corpus root does not exist"
) -> Path:
    """``root`` as a :class:`Path`; a layout error (``problem``) if it is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise layout_error(adapter, root, problem)
    return root


def finish_index(adapter: CorpusAdapter, root: Path, rows: list[Row]) -> pd.DataFrame:
    """Fill the ``corpus`` column, then build and validate the canonical index."""
    for row in rows:
        row.setdefault("corpus", adapter.name)
    frame = make_index(rows)
    validate_index(frame, corpus=adapter.name, root=root)
    return frame


@dataclass(frozen=True)
class CategoricalAdapter:
    """One categorical corpus: ``index(root)`` = check root -> row reader -> index."""

    #: registry name, equal to the ``corpus`` column of the index
    name: str
    #: one-line description of the expected layout, used in error messages
    layout: str
    #: ``read_rows(adapter, root)``: one row dict per clip (index columns)
    read_rows: Callable[[CategoricalAdapter, Path], list[Row]]
    #: the class vocabulary in its fixed order (confusion matrices, per-class metrics)
    labels: tuple[str, ...] = BASIC6

    def index(self, root: Path) -> pd.DataFrame:
        """Return the validated canonical index of the corpus copy at ``root``."""
        root = corpus_root(self, root, "corpus root does not exist or is not a folder")
        rows = self.rows(root)
        if not rows:
            raise self.layout_error(root, "no clips found")
        return finish_index(self, root, rows)

    def rows(self, root: Path) -> list[Row]:
        """One row dict per clip, from this corpus' row reader."""
        return self.read_rows(self, root)

    def layout_error(self, root: Path, problem: str) -> CorpusLayoutError:
        """A :class:`CorpusLayoutError` carrying this corpus' expected layout."""
        return layout_error(self, root, problem)


def safe_id(*parts: str) -> str:
    """Join parts with ``_`` and replace characters outside ``[A-Za-z0-9_.-]``."""
    return _UNSAFE.sub("_", "_".join(parts)).strip("_")


def rel(root: Path, path: Path) -> str:
    """POSIX path of ``path`` relative to ``root``."""
    return path.relative_to(root).as_posix()


def subfolders(folder: Path) -> list[Path]:
    """The folders directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_dir())


def partition_sources(
    adapter: CorpusAdapter,
    root: Path,
    sources: Mapping[str, str],
    present: Callable[[Path], bool],
    *,
    problem: str,
) -> list[tuple[Path, str]]:
    """``(root / name, partition)`` for each ``name -> partition`` whose path is ``present``.

    ``present`` is ``Path.is_dir`` (subset folders) or ``Path.is_file`` (sheets); when none
    is present, a layout error says ``problem``.
    """
    found = [(root / name, part) for name, part in sources.items() if present(root / name)]
    if not found:
        raise layout_error(adapter, root, problem)
    return found


def folder_label(
    adapter: CorpusAdapter,
    root: Path,
    folder: Path,
    key: str,
    table: Mapping[str, str],
    *,
    what: str,
) -> str:
    """``table[key]`` for a class folder; an unknown key is a layout error naming the folder."""
    if key not in table:
        raise layout_error(
            adapter,
            root,
            f"unknown {what} folder {rel(root, folder)!r}; expected one of {sorted(table)}",
        )
    return table[key]


def check_file(path: Path, *, referenced_by: Path | None = None) -> None:
    """Raise :class:`CorruptInputError` naming ``path`` if it is missing or 0 bytes."""
    where = f" (listed in {referenced_by})" if referenced_by is not None else ""
    if not path.is_file():
        raise CorruptInputError(
            path, f"file is missing{where}", fix="restore it from the original corpus release"
        )
    if path.stat().st_size == 0:
        raise CorruptInputError(
            path, f"file is empty (0 bytes){where}", fix="re-copy it from the original release"
        )


def probe_clip(path: Path) -> dict[str, Any]:
    """Container facts of one clip: ``fps``, ``duration_s``, ``sample_rate`` (header only).

    Missing/empty files and files PyAV cannot open raise :class:`CorruptInputError`.
    """
    check_file(path)
    import av  # on first use: indexing a wav-only corpus never loads FFmpeg

    try:
        with av.open(str(path)) as container:
            video = next((s for s in container.streams if s.type == "video"), None)
            audio = next((s for s in container.streams if s.type == "audio"), None)
            fps = float(video.average_rate) if video is not None and video.average_rate else None
            duration = None
            if container.duration:
                duration = float(container.duration) / av.time_base
            elif video is not None and video.frames and fps:
                duration = video.frames / fps
            sample_rate = int(audio.rate) if audio is not None and audio.rate else None
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise CorruptInputError(
            path, f"cannot read media container: {exc}", fix="re-copy the clip"
        ) from None
    if video is None:
        raise CorruptInputError(path, "no video stream", fix="re-copy the clip")
    return {
        "fps": fps,
        "duration_s": round(duration, 4) if duration else None,
        "sample_rate": sample_rate,
    }


def clip_row(root: Path, path: Path, *, listed_in: Path | None = None, **fields: Any) -> Row:
    """``fields`` plus the media columns of a clip whose audio is inside the video container.

    ``listed_in``: the sheet that lists the clip, named in the error if the clip is missing.
    """
    if listed_in is not None:
        check_file(path, referenced_by=listed_in)
    rp = rel(root, path)
    return {**fields, "audio_path": rp, "video_path": rp, **probe_clip(path)}
