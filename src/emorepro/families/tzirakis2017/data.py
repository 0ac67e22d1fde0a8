"""Recordings of one end-to-end experiment: gold standard, audio, face crops and landmarks
at the 40 ms label rate, turned into the sequence datasets of :mod:`emorepro.training.sequences`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index
from emorepro.errors import CorruptInputError
from emorepro.families.tzirakis2017.spec import TARGETS, E2ESpec
from emorepro.io import read_cache_arrays
from emorepro.media import read_audio
from emorepro.training.sequences import resample_16k, standardise_audio


def load_recola_recording(
    root: Path | str, row: Mapping[str, Any], adapter: Any
) -> tuple[np.ndarray, np.ndarray]:
    """``(audio_16k, labels)`` of one corpus-index row: standardised 16 kHz audio, (T, 2) gold.

    Audio from ``row["audio_path"]`` (WAV or a video's audio track) via ``read_audio``,
    :func:`resample_16k`, :func:`standardise_audio`; labels from ``adapter.read_labels``
    (arousal, valence every 40 ms from 0 s).
    """
    root = Path(root)
    rel = row.get("audio_path")
    if not rel:
        raise CorruptInputError(
            root / str(row.get("item_id")),
            "index row has no audio_path",
            fix="rebuild the corpus index",
        )
    path = root / str(rel)
    audio, sr = read_audio(path)
    try:
        audio = standardise_audio(resample_16k(audio, sr))
    except ValueError as err:
        raise CorruptInputError(path, str(err), fix="check or re-record the audio") from None
    frame = adapter.read_labels(root, dict(row))
    labels = frame[list(TARGETS)].to_numpy(np.float32)
    return audio, labels


@dataclass
class Recording:
    item: str
    labels: np.ndarray
    audio: np.ndarray | None = None
    crops: np.ndarray | None = None
    landmarks: np.ndarray | None = None


def _load_faces(item: str, manifest: pd.DataFrame, cache_dir: Path, n_labels: int) -> np.ndarray:
    from emorepro.training.sequences import label_frame_indices

    rows = manifest.set_index("item_id")
    if item not in rows.index:
        raise CorruptInputError(
            Path(cache_dir),
            f"no face crops for {item}",
            fix="rerun the face_crops rule for this corpus",
        )
    row = rows.loc[item]
    path = Path(cache_dir) / str(row["file"])
    (crops,) = read_cache_arrays(path, ("crops",), rule="face_crops")
    try:
        idx = label_frame_indices(n_labels, float(row["fps"]), len(crops))
    except ValueError as err:
        raise CorruptInputError(path, str(err), fix="use the complete video") from None
    return crops[idx]


def load_recordings(
    spec: E2ESpec,
    corpus: str,
    items: Sequence[str],
    *,
    root: Path | str,
    index_csv: Path | str,
    faces: Path | str | None = None,
    landmarks: Path | str | None = None,
    cache_dir: Path | str | None = None,
) -> list[Recording]:
    """Gold standard plus the inputs the spec needs, per recording, at the 40 ms label rate."""
    adapter = get_adapter(corpus)
    rows = read_index(index_csv).set_index("item_id")
    face_manifest = pd.read_parquet(faces) if "faces" in spec.needs else None
    lm_manifest = pd.read_parquet(landmarks) if "landmarks" in spec.needs else None
    out = []
    for item in items:
        row = {"item_id": item, **rows.loc[item].to_dict()}
        if "audio" in spec.needs:
            audio, labels = load_recola_recording(root, row, adapter)
        else:
            frame = adapter.read_labels(Path(root), row)
            audio, labels = None, frame[list(TARGETS)].to_numpy(np.float32)
        rec = Recording(item, labels, audio)
        if face_manifest is not None:
            rec.crops = _load_faces(item, face_manifest, Path(str(cache_dir)), len(labels))
        if lm_manifest is not None:
            from emorepro.features.landmark_frames import load_landmark_frames

            lm_row = lm_manifest.set_index("item_id").loc[item]
            coords, _face = load_landmark_frames(lm_row, cache_dir)
            rec.landmarks = _fit_length(np.asarray(coords, np.float32), len(labels), item)
        out.append(rec)
    return out


def _fit_length(x: np.ndarray, n: int, item: str) -> np.ndarray:
    """Landmark rows on the label grid: equal length, or one frame short (repeat the last)."""
    if len(x) == n:
        return x
    if len(x) in (n - 1, n + 1):
        return x[:n] if len(x) > n else np.concatenate([x, x[-1:]])
    raise ValueError(f"item {item}: {len(x)} landmark frames for {n} label frames")


def standardise_landmarks(
    recordings: Mapping[str, Sequence[Recording]],
) -> dict[str, float | list[float]]:
    """``(x - mean) / std`` per coordinate with mean/std over the training recordings' frames
    (population std; a constant coordinate keeps std 1). Modifies the recordings in place and
    returns the statistics."""
    train = np.concatenate([r.landmarks for r in recordings["train"]])
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    for recs in recordings.values():
        for r in recs:
            r.landmarks = ((r.landmarks - mean) / std).astype(np.float32)
    return {"mean": mean.tolist(), "std": std.tolist()}


def make_dataset(
    spec: E2ESpec, recs: Sequence[Recording], settings: Mapping[str, Any], *, train: bool
) -> Any:
    """The sequence dataset of a spec; face frames go through ``FaceTransform`` at the
    profile's face size: the paper's augmentation (random crop, brightness and saturation)
    when ``train`` and the profile's ``face_augment``, the centre crop otherwise."""
    from emorepro.families.tzirakis2017.models import FaceTransform
    from emorepro.training.sequences import AudioSequences, AVSequences, VideoSequences

    steps, items = int(settings["steps"]), [r.item for r in recs]
    if spec.network == "speech":
        return AudioSequences([(r.audio, r.labels) for r in recs], steps=steps, items=items)
    transform = FaceTransform(
        train=train and bool(settings["face_augment"]),
        size=int(settings["face_size"]),
        resize=int(settings["face_resize"]),
    )
    if spec.network == "visual":
        return VideoSequences(
            [(r.crops, r.labels) for r in recs], steps=steps, items=items, transform=transform
        )
    return AVSequences(
        [(r.audio, r.crops, r.labels) for r in recs],
        steps=steps,
        items=items,
        transform=transform,
        landmarks=[r.landmarks for r in recs] if spec.landmarks else None,
    )
