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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from emorepro.corpora.index import make_index, validate_index
from emorepro.errors import CorpusLayoutError, CorruptInputError

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
    frame = pd.DataFrame(out, columns=["time_s", *DIMS])
    return frame


def _audio_info(path: Path) -> tuple[float, int]:
    _need_file(path, "audio file")
    try:
        info = sf.info(str(path))
    except RuntimeError as err:
        raise CorruptInputError(path, f"unreadable audio: {err}", fix="restore it") from None
    if info.frames == 0:
        raise CorruptInputError(path, "audio has no samples", fix="restore it")
    return info.frames / info.samplerate, int(info.samplerate)


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
        root = Path(root)
        if not root.is_dir():
            raise CorpusLayoutError(
                self.name, root, "corpus root does not exist", expected=self.layout
            )
        for sub in ("recordings_audio", "ratings_gold_standard"):
            if not (root / sub).is_dir():
                raise CorpusLayoutError(self.name, root, f"no {sub}/ folder", expected=self.layout)
        names: set[str] = set()
        for pattern in ("recordings_audio/*.wav", "recordings_video/*.mp4"):
            names.update(p.stem for p in root.glob(pattern) if _AVEC_NAME.match(p.stem))
        for dim in DIMS:
            names.update(
                p.stem
                for p in (root / "ratings_gold_standard" / dim).glob("*.arff")
                if _AVEC_NAME.match(p.stem)
            )
        if not names:
            raise CorpusLayoutError(
                self.name, root, "no {train,dev,test}_<n> recordings found", expected=self.layout
            )
        rows = []
        for name in sorted(names):
            partition = name.split("_")[0]
            audio = root / "recordings_audio" / f"{name}.wav"
            video = root / "recordings_video" / f"{name}.mp4"
            duration, sr = _audio_info(audio)
            _need_file(video, "video file")
            label_paths = {d: root / "ratings_gold_standard" / d / f"{name}.arff" for d in DIMS}
            withheld = partition == "test" and not any(p.exists() for p in label_paths.values())
            if not withheld:
                for p in label_paths.values():
                    _need_file(p, "gold-standard ARFF")
            rows.append(
                {
                    "item_id": name,
                    "corpus": self.name,
                    "subject": name,
                    "audio_path": audio.relative_to(root).as_posix(),
                    "video_path": video.relative_to(root).as_posix(),
                    **{
                        f"{d}_path": None if withheld else p.relative_to(root).as_posix()
                        for d, p in label_paths.items()
                    },
                    "partition": partition,
                    "duration_s": round(duration, 6),
                    "sample_rate": sr,
                    "fps": FPS,
                }
            )
        frame = make_index(rows)
        validate_index(frame, corpus=self.name, root=root)
        return frame

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
        root = Path(root)
        if not root.is_dir():
            raise CorpusLayoutError(
                self.name, root, "corpus root does not exist", expected=self.layout
            )
        ann = root / "RECOLA-Annotation" / "emotional_behaviour"
        for sub in ("RECOLA-Audio-recordings", "RECOLA-Video-recordings"):
            if not (root / sub).is_dir():
                raise CorpusLayoutError(self.name, root, f"no {sub}/ folder", expected=self.layout)
        if not ann.is_dir():
            raise CorpusLayoutError(
                self.name, root, "no RECOLA-Annotation/emotional_behaviour/", expected=self.layout
            )
        subjects = {p.stem for p in (root / "RECOLA-Audio-recordings").glob("P*.wav")}
        subjects |= {p.stem for p in (root / "RECOLA-Video-recordings").glob("P*.mp4")}
        for dim in DIMS:
            subjects |= {p.stem for p in (ann / dim).glob("P*.csv")}
        if not subjects:
            raise CorpusLayoutError(
                self.name, root, "no P<n> recordings found", expected=self.layout
            )
        meta = self._metadata(root)
        rows = []
        for sid in sorted(subjects, key=lambda s: (len(s), s)):
            audio = root / "RECOLA-Audio-recordings" / f"{sid}.wav"
            video = root / "RECOLA-Video-recordings" / f"{sid}.mp4"
            duration, sr = _audio_info(audio)
            _need_file(video, "video file")
            labels = {d: ann / d / f"{sid}.csv" for d in DIMS}
            for p in labels.values():
                _need_file(p, "rating file")
            if sid not in meta:
                raise CorruptInputError(root / self.metadata, f"no row for subject {sid}")
            rows.append(
                {
                    "item_id": sid,
                    "corpus": self.name,
                    "subject": sid,
                    "audio_path": audio.relative_to(root).as_posix(),
                    "video_path": video.relative_to(root).as_posix(),
                    **{f"{d}_path": p.relative_to(root).as_posix() for d, p in labels.items()},
                    "partition": None,
                    "duration_s": round(duration, 6),
                    "sample_rate": sr,
                    "fps": FPS,
                    **meta[sid],
                }
            )
        frame = make_index(rows)
        validate_index(frame, corpus=self.name, root=root)
        return frame

    def read_labels(self, root: Path, row: dict) -> pd.DataFrame:
        """Gold standard = mean of the six annotators' ratings per 40 ms frame."""

        def mean_of_raters(path: Path) -> tuple[np.ndarray, np.ndarray]:
            times, ratings = read_ratings_csv(path)
            return times, ratings.mean(axis=0)

        return _labels_frame(Path(root), row, mean_of_raters)


AVEC2016 = AVEC2016Adapter()
FULL = FullAdapter()
