"""RECOLA: the AVEC 2016 package (``AVEC2016``) and the full 46-subject release (``FULL``).

AVEC 2016 layout contract (27 recordings ``{train,dev,test}_{1..9}``)::

    recordings_audio/<name>.wav   recordings_video/<name>.mp4
    ratings_gold_standard/{arousal,valence}/<name>.arff
        @attribute Instance_name string / frameTime numeric / GoldStandard numeric,
        rows ``<name>,<time>,<value>`` every 40 ms from 0 to 300 s inclusive (7,501 rows)
    ratings_individual/{arousal,valence}/<name>.csv   (time;6 raters, not read here)

Partition = file-name prefix. The public package has no test gold standard: test items
without ARFF files get ``arousal_path``/``valence_path`` = None (the twin ships them).
Sources: AudioVisualEmotionChallenge/AVEC2018 ``scripts_GES/GoldStandardCreation/
templateGS.arff`` (the ARFF header and row format), the AVEC 2016 MASC gold-standard script
that reads ``ratings_gold_standard`` / ``ratings_individual/<dim>/*.csv`` (``;``, 1 header
line, time + 6 raters, 7,501 frames = 0:0.04:300), and user loaders joining
``ratings_gold_standard/<dim>/{split}_{id}.arff`` with ``recordings_audio/{split}_*.wav``
(e.g. the ``RECOLA_2016.py`` runner: ``-w RECOLA_2016/recordings_audio
-a RECOLA_2016/ratings_gold_standard``); the last two were found by content search, which
did not name their repositories.

Full-release layout contract (subjects ``P<n>``)::

    RECOLA-Audio-recordings/P16.wav   RECOLA-Video-recordings/P16.mp4
    RECOLA-Annotation/emotional_behaviour/{arousal,valence}/P16.csv
        ``;``-separated, header ``time;FM1;FM2;FM3;FF1;FF2;FF3`` (blanks in names ignored)
    RECOLA-Metadata/participants.csv   subject,gender,age,mother_tongue

Sources: loaders using ``RECOLA-Video-recordings/P{id}.mp4`` and
``RECOLA-Annotation/emotional_behaviour`` (content search, repositories not named), an
analysis script reading ``emotional_behaviour/{valence,arousal}/*.csv`` with ``sep=';'`` and
columns ``FM1..FF3`` indexed by ``time``, and tzirakis/Multimodal-Emotion-Recognition
``data_generator.py`` (P-numbered subjects, mp4 with the audio track, 7,500 40-ms steps).
No public code shows a metadata file: ``participants.csv`` is this project's format.
The full-release gold standard used here is the plain mean of the six annotators
(AVEC's released gold standards are CCC-centred means; documented difference).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from emorepro.corpora._common import Row, corpus_root, finish_index, layout_error, rel
from emorepro.corpora.base import CorpusAdapter
from emorepro.errors import CorruptInputError

FRAME_S = 0.04
FPS = 25.0
DIMS = ("arousal", "valence")
_AVEC_NAME = re.compile(r"^(train|dev|test)_([0-9]+)$")


def _need_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise CorruptInputError(path, f"{what} is missing", fix="restore it from the corpus")
    if path.stat().st_size == 0:
        raise CorruptInputError(path, f"{what} is empty (0 bytes)", fix="restore it")


def _number(text: str, path: Path, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CorruptInputError(
            path, f"line {line}: non-numeric value {text.strip()!r}", fix="repair the label file"
        ) from None
    if not math.isfinite(value):
        raise CorruptInputError(path, f"line {line}: value {text.strip()!r} is not finite")
    return value


def read_arff_gold(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(frameTime, GoldStandard)`` of an AVEC gold-standard ARFF file."""
    _need_file(path, "gold-standard ARFF")
    times: list[float] = []
    values: list[float] = []
    in_data = False
    for ln, raw in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        parts = line.split(",")
        if len(parts) < 3:
            raise CorruptInputError(path, f"line {ln}: expected name,frameTime,GoldStandard")
        times.append(_number(parts[-2], path, ln))
        values.append(_number(parts[-1], path, ln))
    if not values:
        raise CorruptInputError(path, "no @data rows", fix="restore the file")
    return np.asarray(times), np.asarray(values)


def read_ratings_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(time, ratings (n_raters, n))`` of a ``;``-separated per-annotator rating file."""
    _need_file(path, "rating file")
    lines = path.read_text(errors="replace").splitlines()
    header = [c.strip() for c in lines[0].split(";")] if lines else []
    if len(header) < 2 or header[0].lower() != "time":
        raise CorruptInputError(path, "line 1: expected header 'time;FM1;...'")
    times: list[float] = []
    rows: list[list[float]] = []
    for ln, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        cells = raw.split(";")
        if len(cells) != len(header):
            raise CorruptInputError(
                path, f"line {ln}: {len(cells)} fields, header has {len(header)}"
            )
        times.append(_number(cells[0], path, ln))
        rows.append([_number(c, path, ln) for c in cells[1:]])
    if not rows:
        raise CorruptInputError(path, "no rating rows", fix="restore the file")
    return np.asarray(times), np.asarray(rows).T


def _check_times(times: np.ndarray, path: Path) -> None:
    steps = np.diff(times)
    if times[0] != 0 or (steps.size and np.abs(steps - FRAME_S).max() > 1e-3):
        raise CorruptInputError(path, f"frame times must start at 0 and step by {FRAME_S} s")


def _labels_frame(root: Path, row: dict, read: Any) -> pd.DataFrame:
    out: dict[str, np.ndarray] = {}
    for dim in DIMS:
        rel = row.get(f"{dim}_path")
        if not rel:
            raise CorruptInputError(root / str(row.get("item_id")), f"item has no {dim} labels")
        path = root / rel
        times, values = read(path)
        _check_times(times, path)
        if "time_s" in out and len(values) != len(out["time_s"]):
            raise CorruptInputError(path, f"{len(values)} frames, arousal has {len(out['time_s'])}")
        out.setdefault("time_s", times)
        out[dim] = values
        _check_coverage(times, row.get("duration_s"), path)
    frame = pd.DataFrame(out, columns=["time_s", *DIMS])
    return frame


#: a label track may end this much before its recording (seconds, or this share of it)
LABEL_SHORTFALL_S = 1.0
LABEL_SHORTFALL_SHARE = 0.01


def _check_coverage(times: np.ndarray, duration_s: Any, path: Path) -> None:
    """A label track must cover its recording: ending more than ``max(LABEL_SHORTFALL_S,
    LABEL_SHORTFALL_SHARE * duration)`` before the audio ends means a truncated file."""
    try:
        duration = float(duration_s)
    except (TypeError, ValueError):
        return  # no duration in the row (an index from before it was recorded)
    if not math.isfinite(duration):
        return
    covered = float(times[-1]) + FRAME_S
    if duration - covered > max(LABEL_SHORTFALL_S, LABEL_SHORTFALL_SHARE * duration):
        raise CorruptInputError(
            path,
            f"labels end at {covered:.2f} s but the recording lasts {duration:.2f} s "
            "(a truncated label file?)",
            fix="restore the label file",
        )


def _audio_info(path: Path) -> tuple[float, int]:
    _need_file(path, "audio file")
    try:
        info = sf.info(str(path))
    except RuntimeError as err:
        raise CorruptInputError(path, f"unreadable audio: {err}", fix="restore it") from None
    if info.frames == 0:
        raise CorruptInputError(path, "audio has no samples", fix="restore it")
    return info.frames / info.samplerate, int(info.samplerate)


@dataclass(frozen=True)
class RecordingFolders:
    """Where one RECOLA package keeps each recording's files (folders relative to the root)."""

    #: folder of ``<name>.wav``
    audio: str
    #: folder of ``<name>.mp4``
    video: str
    #: folder of ``<dim>/<name><label_ext>``
    labels: str
    label_ext: str
    #: what error messages call one label file
    label_file: str
    #: file stems that name a recording
    names: re.Pattern[str]

    def recordings(self, root: Path) -> set[str]:
        """Names of the recordings that have an audio, video or label file."""
        patterns = [f"{self.audio}/*.wav", f"{self.video}/*.mp4"]
        patterns += [f"{self.labels}/{dim}/*{self.label_ext}" for dim in DIMS]
        return {p.stem for pat in patterns for p in root.glob(pat) if self.names.match(p.stem)}

    def files(self, root: Path, name: str) -> tuple[Path, Path, dict[str, Path]]:
        """Audio, video and ``{dim: label file}`` of recording ``name``."""
        labels = {dim: root / self.labels / dim / f"{name}{self.label_ext}" for dim in DIMS}
        return root / self.audio / f"{name}.wav", root / self.video / f"{name}.mp4", labels


AVEC_FOLDERS = RecordingFolders(
    audio="recordings_audio", video="recordings_video", labels="ratings_gold_standard",
    label_ext=".arff", label_file="gold-standard ARFF", names=_AVEC_NAME,
)  # fmt: skip
FULL_FOLDERS = RecordingFolders(
    audio="RECOLA-Audio-recordings", video="RECOLA-Video-recordings",
    labels="RECOLA-Annotation/emotional_behaviour", label_ext=".csv", label_file="rating file",
    names=re.compile(r"^P"),
)  # fmt: skip


def require_folders(adapter: CorpusAdapter, root: Path, *subs: str) -> None:
    """A layout error ``no <sub>/ folder`` for the first of ``subs`` missing under ``root``."""
    for sub in subs:
        if not (root / sub).is_dir():
            raise layout_error(adapter, root, f"no {sub}/ folder")


def recording_row(
    root: Path, folders: RecordingFolders, name: str, *, may_withhold: bool = False
) -> Row:
    """Index fields of one recording (item_id = subject = ``name``) after checking its files.

    With ``may_withhold``, a recording with neither label file gets ``arousal_path`` /
    ``valence_path`` None (AVEC 2016 test partition); otherwise both must exist.
    """
    audio, video, labels = folders.files(root, name)
    duration, sr = _audio_info(audio)
    _need_file(video, "video file")
    withheld = may_withhold and not any(p.exists() for p in labels.values())
    if not withheld:
        for p in labels.values():
            _need_file(p, folders.label_file)
    return {
        "item_id": name,
        "subject": name,
        "audio_path": rel(root, audio),
        "video_path": rel(root, video),
        **{f"{d}_path": None if withheld else rel(root, p) for d, p in labels.items()},
        "duration_s": round(duration, 6),
        "sample_rate": sr,
        "fps": FPS,
    }


class AVEC2016Adapter:
    """The AVEC 2016 RECOLA package: 27 recordings with a fixed 9/9/9 partition."""

    name = "recola_avec2016"
    frame_s = FRAME_S
    layout = (
        "<root>/recordings_audio/{train,dev,test}_{1..9}.wav, recordings_video/<name>.mp4, "
        "ratings_gold_standard/{arousal,valence}/<name>.arff"
    )

    def index(self, root: Path) -> pd.DataFrame:
        """One row per recording; subject = recording name (one subject per recording)."""
        root = corpus_root(self, root)
        require_folders(self, root, AVEC_FOLDERS.audio, AVEC_FOLDERS.labels)
        names = AVEC_FOLDERS.recordings(root)
        if not names:
            raise layout_error(self, root, "no {train,dev,test}_<n> recordings found")
        rows = []
        for name in sorted(names):
            partition = name.split("_")[0]
            row = recording_row(root, AVEC_FOLDERS, name, may_withhold=partition == "test")
            rows.append({**row, "partition": partition})
        return finish_index(self, root, rows)

    def read_labels(self, root: Path, row: dict) -> pd.DataFrame:
        """Gold standard of one recording from its two ARFF files (40 ms frames)."""
        return _labels_frame(Path(root), row, read_arff_gold)


class FullAdapter:
    """The full RECOLA release: 46 subjects, six annotators, subject metadata; no partition."""

    name = "recola_full"
    frame_s = FRAME_S
    metadata = "RECOLA-Metadata/participants.csv"
    layout = (
        "<root>/RECOLA-Audio-recordings/P<n>.wav, RECOLA-Video-recordings/P<n>.mp4, "
        "RECOLA-Annotation/emotional_behaviour/{arousal,valence}/P<n>.csv "
        "(time;FM1;FM2;FM3;FF1;FF2;FF3), RECOLA-Metadata/participants.csv "
        "(subject,gender,age,mother_tongue)"
    )

    def _metadata(self, root: Path) -> dict[str, dict[str, Any]]:
        path = root / self.metadata
        _need_file(path, "subject metadata")
        meta = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = {"subject", "gender", "age", "mother_tongue"} - set(meta.columns)
        if missing:
            raise CorruptInputError(path, f"line 1: missing columns {sorted(missing)}")
        out: dict[str, dict[str, Any]] = {}
        for i, rec in enumerate(meta.to_dict(orient="records"), start=2):
            gender = rec["gender"].strip().upper()
            if gender not in ("F", "M") or not rec["age"].strip().isdigit():
                raise CorruptInputError(path, f"line {i}: gender must be F/M and age an integer")
            out[rec["subject"].strip()] = {
                "gender": gender,
                "age": int(rec["age"]),
                "language": rec["mother_tongue"].strip() or None,
            }
        return out

    def index(self, root: Path) -> pd.DataFrame:
        """One row per subject (item_id = subject = ``P<n>``), partition None."""
        root = corpus_root(self, root)
        require_folders(self, root, FULL_FOLDERS.audio, FULL_FOLDERS.video)
        if not (root / FULL_FOLDERS.labels).is_dir():
            raise layout_error(self, root, "no RECOLA-Annotation/emotional_behaviour/")
        subjects = FULL_FOLDERS.recordings(root)
        if not subjects:
            raise layout_error(self, root, "no P<n> recordings found")
        meta = self._metadata(root)
        rows = []
        for sid in sorted(subjects, key=lambda s: (len(s), s)):
            row = recording_row(root, FULL_FOLDERS, sid)
            if sid not in meta:
                raise CorruptInputError(root / self.metadata, f"no row for subject {sid}")
            rows.append({**row, **meta[sid]})
        return finish_index(self, root, rows)

    def read_labels(self, root: Path, row: dict) -> pd.DataFrame:
        """Gold standard = mean of the six annotators' ratings per 40 ms frame."""

        def mean_of_raters(path: Path) -> tuple[np.ndarray, np.ndarray]:
            times, ratings = read_ratings_csv(path)
            return times, ratings.mean(axis=0)

        return _labels_frame(Path(root), row, mean_of_raters)


AVEC2016 = AVEC2016Adapter()
FULL = FullAdapter()
