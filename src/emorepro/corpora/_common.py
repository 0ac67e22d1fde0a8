"""Helpers shared by the categorical corpus adapters (RML, eNTERFACE'05, BAUM-1s, AFEW, OMG).

Each adapter subclasses :class:`CategoricalAdapter` and implements :meth:`rows`, returning
one dict per clip; the base class checks the root, builds and validates the canonical index.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import av
import pandas as pd

from emorepro.corpora.index import make_index, validate_index
from emorepro.emotions import BASIC6
from emorepro.errors import CorpusLayoutError, CorruptInputError

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class CategoricalAdapter:
    """Base class: ``index(root)`` = check root -> :meth:`rows` -> make + validate index."""

    name: str = ""
    layout: str = ""
    #: the class vocabulary in its fixed order (confusion matrices, per-class metrics)
    labels: tuple[str, ...] = BASIC6

    def index(self, root: Path) -> pd.DataFrame:
        """Return the validated canonical index of the corpus copy at ``root``."""
        root = Path(root)
        if not root.is_dir():
            raise self.layout_error(root, "corpus root does not exist or is not a folder")
        rows = self.rows(root)
        if not rows:
            raise self.layout_error(root, "no clips found")
        for row in rows:
            row.setdefault("corpus", self.name)
        frame = make_index(rows)
        validate_index(frame, corpus=self.name, root=root)
        return frame

    def rows(self, root: Path) -> list[dict[str, Any]]:
        """One row dict per clip (index columns); implemented by each corpus."""
        raise NotImplementedError

    def layout_error(self, root: Path, problem: str) -> CorpusLayoutError:
        """A :class:`CorpusLayoutError` carrying this corpus' expected layout."""
        return CorpusLayoutError(self.name, root, problem, expected=self.layout)


def safe_id(*parts: str) -> str:
    """Join parts with ``_`` and replace characters outside ``[A-Za-z0-9_.-]``."""
    return _UNSAFE.sub("_", "_".join(parts)).strip("_")


def rel(root: Path, path: Path) -> str:
    """POSIX path of ``path`` relative to ``root``."""
    return path.relative_to(root).as_posix()


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


def media_row(root: Path, path: Path) -> dict[str, Any]:
    """Row fields for an audio-visual clip whose audio is inside the video container."""
    facts = probe_clip(path)
    rp = rel(root, path)
    return {"audio_path": rp, "video_path": rp, **facts}
