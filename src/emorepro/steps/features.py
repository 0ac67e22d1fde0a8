"""Feature steps: audio and video features of every item of a corpus, cached per item.

Each step reads the corpus index, computes (or reuses) one cache file per item under
``<cache_dir>/<key>/<corpus>/`` and writes its output table atomically. ``key`` comes from
:func:`emorepro.features.cache.cache_key` over the extractor's configuration, the versions of
the libraries it runs and the source of our code it runs (one ``*_cache_key`` function per
extractor below), so a change to any of them selects a fresh cache directory.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from emorepro import media
from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index
from emorepro.errors import ConfigError, CorruptInputError
from emorepro.features.cache import cache_key
from emorepro.io import atomic_write, cached_arrays, file_digest, write_parquet
from emorepro.parallel import ordered_map
from emorepro.progress import Progress
from emorepro.protocols import read_sheet

if TYPE_CHECKING:
    from emorepro.features.landmarks import LandmarkModel

log = logging.getLogger("emorepro")
T = TypeVar("T")

AUDIO_LIBRARIES = ("soundfile", "av", "numpy")
"""Distributions behind :func:`emorepro.media.read_audio`."""
VIDEO_LIBRARIES = ("av", "numpy")
"""Distributions behind :func:`emorepro.media.iter_video_frames`."""
OPENCV, DLIB = "opencv-python-headless", "dlib-bin"


# ----------------------------------------------------------------------------------------------
# Cache keys


def opensmile_cache_key(feature_set: str, level: str, **params: float) -> str:
    """Key of the openSMILE caches; ``level``: functionals, windowed or lld_label_rate."""
    from emorepro.features import opensmile_features

    steps: dict[str, tuple[Callable[..., object], ...]] = {
        "functionals": (functionals_step,),
        "windowed": (windowed_step, windowed_frame),
        "lld_label_rate": (lld_step,),
    }
    return cache_key(
        f"opensmile:{feature_set}",
        config={"level": level, **params},
        libraries=("opensmile", *AUDIO_LIBRARIES),
        modules=(opensmile_features, media, *steps[level]),
    )


def logmel_cache_key(*, length: int, shift: int) -> str:
    """Key of the log-Mel segment caches (64 Mel bands, 20-8000 Hz)."""
    from emorepro.features import logmel

    return cache_key(
        "logmel",
        config={"length": length, "shift": shift, "n_mels": 64, "fmin": 20, "fmax": 8000},
        libraries=(*AUDIO_LIBRARIES, "scipy"),
        modules=(logmel, media, logmel_step),
    )


def faces_cache_key(kind: str, fps_out: float | None = None) -> str:
    """Key of the face-crop caches (detector: ``"dlib-hog"`` for ``aminbeidokhti``, whose Haar
    fallback keeps OpenCV in the key too, ``"haar"`` otherwise; ``kind`` of crop; frames kept
    per second: None = every frame)."""
    from emorepro.features import faces

    dlib = kind == "aminbeidokhti"
    return cache_key(
        "faces",
        config={"kind": kind, "detector": "dlib-hog" if dlib else "haar", "fps_out": fps_out},
        libraries=(OPENCV, *((DLIB,) if dlib else ()), *VIDEO_LIBRARIES),
        modules=(faces, media, face_crops_step),
    )


def landmark_model_config(model: LandmarkModel) -> dict[str, object]:
    """What a landmark model contributes to a key: its file digest, reference and groups."""
    reference = np.ascontiguousarray(model.reference, dtype=np.float64)
    return {
        "model": file_digest(model.source),
        "reference": hashlib.sha256(reference.tobytes()).hexdigest()[:16],
        "groups": {name: list(idx) for name, idx in sorted(model.groups.items())},
    }


def video_cache_key(model: LandmarkModel, *, window_s: float) -> str:
    """Key of the AVEC-style video descriptor caches."""
    from emorepro.features import landmarks, video_descriptors

    return cache_key(
        "video_descriptors",
        config={**landmark_model_config(model), "window_s": window_s},
        libraries=(DLIB, OPENCV, "scikit-image", "scipy", *VIDEO_LIBRARIES),
        modules=(video_descriptors, landmarks, media, video_descriptors_step),
    )


def landmark_frames_cache_key(model: LandmarkModel) -> str:
    """Key of the Procrustes-aligned landmark caches."""
    from emorepro.features import landmark_frames, landmarks, video_descriptors
    from emorepro.training.sequences import label_frame_indices

    return cache_key(
        "landmark_frames",
        config=landmark_model_config(model),
        libraries=(DLIB, OPENCV, "scipy", *VIDEO_LIBRARIES),
        modules=(
            landmark_frames,
            landmarks,
            video_descriptors,  # face-box gap rule and the no-face check
            media,
            label_frame_indices,
            landmark_frames_step,
        ),
    )


# ----------------------------------------------------------------------------------------------
# Shared loops


def each_item(
    label: str,
    index: pd.DataFrame,
    one: Callable[[dict[str, Any]], T],
    *,
    unit: str = "items",
    threads: int = 1,
) -> list[T]:
    """``one(row)`` for every index row (a dict), results in index order, with
    :class:`Progress` lines. ``threads > 1`` runs ``one`` in that many forked worker processes
    (:func:`emorepro.parallel.ordered_map`): its results are pickled back, so they should be
    small, and it must not depend on the rows computed before it."""
    progress = Progress(label, len(index), unit)
    results = []
    rows = index.to_dict(orient="records")
    for i, result in enumerate(ordered_map(one, rows, threads=threads), 1):
        results.append(result)
        progress.step(i)
    return results


@dataclass(frozen=True)
class CorpusFiles:
    """What every per-item feature step reads: a corpus (its name, its root folder, its
    canonical index) and the feature cache folder."""

    corpus: str
    root: Path | str
    index_csv: Path | str
    cache_dir: Path | str

    def items(self, path_column: str, key: str) -> ItemSource:
        """Its items' media files in ``path_column``, cached under the cache named ``key``."""
        return ItemSource(self.corpus, self.root, self.index_csv, path_column, self.cache_dir, key)


@dataclass(frozen=True)
class ItemSource:
    """The items of a corpus a feature step reads, and where it caches one file per item:
    ``<cache_dir>/<key>/<corpus>/<item_id>.<ext>``."""

    corpus: str
    root: Path | str
    index_csv: Path | str
    path_column: str
    """Index column naming each item's media file (``audio_path`` or ``video_path``)."""
    cache_dir: Path | str
    key: str

    @property
    def cache(self) -> Path:
        """This corpus' directory of the cache named by ``key``."""
        return Path(self.cache_dir) / self.key / self.corpus

    def media_path(self, row: Mapping[str, Any]) -> Path:
        """The media file of an index row."""
        return Path(self.root) / row[self.path_column]


def label_rate_table(
    label: str,
    items: ItemSource,
    out: Path | str,
    compute: Callable[[Path, pd.DataFrame], pd.DataFrame],
    *,
    threads: int = 1,
) -> Path:
    """Per-recording features at the 40 ms label rate, joined with the gold standard.

    ``compute(path, labels)`` returns one row per label frame (cached per recording under
    ``items.cache``); rows beyond the shorter of features and labels are dropped, with a
    warning when they differ by more than 2 frames. Output columns: ``item_id, time_s,
    <features>, arousal, valence``; feature columns keep the dtype ``compute`` returns.

    Memory scales with one recording, not the corpus: each recording's rows are read back
    from its cache file, joined and written in row groups of ``_ROWS_PER_GROUP`` rows.
    ``threads > 1`` computes the missing cache files in that many forked worker processes
    (:func:`emorepro.parallel.ordered_map`); the output is the same for any ``threads``.
    Returns ``out``.
    """
    adapter = get_adapter(items.corpus)
    rows = read_index(items.index_csv).to_dict(orient="records")
    if not rows:
        raise CorruptInputError(items.index_csv, "the index lists no recordings", fix="rebuild it")

    def labels_of(row: dict[str, Any]) -> pd.DataFrame:
        return adapter.read_labels(Path(items.root), row)

    def cache_of(row: dict[str, Any]) -> Path:
        return items.cache / f"{row['item_id']}.parquet"

    def write(tmp: Path) -> None:
        progress = Progress(f"{label} {items.corpus}", len(rows), "recordings")
        writer: Any = None
        ready = _cached_items(rows, labels_of, cache_of, items, compute, threads)
        try:
            for i, (row, labels) in enumerate(ready, 1):
                for part in _label_rate_parts(row, labels, cache_of(row)):
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, part.schema)
                    elif not part.schema.equals(writer.schema):
                        if part.schema.names != writer.schema.names:
                            raise CorruptInputError(
                                cache_of(row),
                                "cached features name other columns than the first recording's",
                                fix="delete this cache folder and rerun",
                            )
                        part = part.cast(writer.schema)
                    writer.write_table(part)
                progress.step(i)
        finally:
            if writer is not None:
                writer.close()

    return atomic_write(out, write)


_ROWS_PER_GROUP = 1000
"""Rows per Parquet row group of the label-rate tables and their caches: 40 s of 40 ms
frames, 25 MB of ComParE_2016 float32 features; what a writer or reader buffers at once."""


def _label_rate_parts(row: dict[str, Any], labels: pd.DataFrame, cache: Path) -> Iterator[pa.Table]:
    """One recording's output rows, ``_ROWS_PER_GROUP`` at a time: cached features cut to the
    label frames, with keys and gold standard (the columns and values of the former
    ``pd.concat`` of all recordings)."""
    source = pq.ParquetFile(cache)
    n_feats = source.metadata.num_rows
    n = min(n_feats, len(labels))
    if abs(n_feats - len(labels)) > 2:
        log.warning(
            "%s: %d feature frames vs %d label frames; using the first %d",
            row["item_id"],
            n_feats,
            len(labels),
            n,
        )
    start = 0
    for batch in source.iter_batches(batch_size=_ROWS_PER_GROUP):
        stop = min(start + batch.num_rows, n)
        if stop <= start:
            break
        feats = batch.slice(0, stop - start)
        cols = {"item_id": pa.array([row["item_id"]] * (stop - start)),
                "time_s": pa.array(labels["time_s"].to_numpy()[start:stop])}  # fmt: skip
        cols.update(zip(feats.schema.names, feats.columns, strict=True))
        for t in ("arousal", "valence"):
            cols[t] = pa.array(labels[t].to_numpy()[start:stop])
        yield pa.Table.from_arrays(list(cols.values()), names=list(cols))
        start = stop


def _cached_items(
    rows: list[dict[str, Any]],
    labels_of: Callable[[dict[str, Any]], pd.DataFrame],
    cache_of: Callable[[dict[str, Any]], Path],
    items: ItemSource,
    compute: Callable[[Path, pd.DataFrame], pd.DataFrame],
    threads: int,
) -> Iterator[tuple[dict[str, Any], pd.DataFrame]]:
    """``(row, labels)`` in index order, each once its cache file exists (computed here, or
    in ``threads`` worker processes that run ahead of the consumer)."""
    todo = [r for r in rows if not cache_of(r).exists()]

    def one(row: dict[str, Any]) -> pd.DataFrame:
        labels = labels_of(row)
        _cache_item(cache_of(row), compute, items.media_path(row), labels)
        return labels

    computed = ordered_map(one, todo, threads=threads)
    todo_ids = {r["item_id"] for r in todo}
    for row in rows:
        yield row, next(computed) if row["item_id"] in todo_ids else labels_of(row)


def _cache_item(
    target: Path,
    compute: Callable[[Path, pd.DataFrame], pd.DataFrame],
    path: Path,
    labels: pd.DataFrame,
) -> None:
    """Compute one recording's features and cache them."""
    frame = compute(path, labels).reset_index(drop=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)  # no copy of the values
    del frame
    atomic_write(target, lambda p: pq.write_table(table, p, row_group_size=_ROWS_PER_GROUP))


def npz_manifest(
    label: str,
    items: ItemSource,
    out: Path | str,
    compute: Callable[[Path], dict[str, np.ndarray]],
    describe: Callable[[dict[str, np.ndarray]], dict[str, Any]],
    *,
    threads: int = 1,
) -> pd.DataFrame:
    """Compute (or reuse) one ``.npz`` per item under ``items.cache`` and write the manifest:
    ``item_id``, the file relative to ``items.cache_dir``, and ``describe(arrays)``.

    ``threads > 1`` computes the items in that many forked worker processes, each writing its
    own cache files and returning only its manifest row; the manifest is the same for any
    ``threads``."""

    def one(row: dict[str, Any]) -> dict[str, Any]:
        target = items.cache / f"{row['item_id']}.npz"
        arrays = cached_arrays(target, lambda: compute(items.media_path(row)))
        rel = target.relative_to(Path(items.cache_dir)).as_posix()
        return {"item_id": row["item_id"], "file": rel, **describe(arrays)}

    index = read_index(items.index_csv)
    frame = pd.DataFrame(each_item(f"{label} {items.corpus}", index, one, threads=threads))
    write_parquet(out, frame)
    return frame


# ----------------------------------------------------------------------------------------------
# Audio


def functionals_step(files: CorpusFiles, out: Path | str, *, feature_set: str) -> pd.DataFrame:
    """openSMILE functionals per item (one row per item_id, then an ``item_id`` column).

    Cache, per item: ``<item>.npz``, uncompressed (``values`` float64 and ``names_sha256``,
    the SHA-256 of the feature names joined by newlines); once per cache folder:
    ``feature_names.txt`` (those names, one per line). A one-row Parquet file of ComParE's
    6,373 columns costs about 1 s to write and read back, the ``.npz`` well under 1 ms, and
    zlib on 51 kB of floats (and, before, the 150 kB of names each item carried) was 30 % of
    the step's cost above openSMILE on 5 s clips. Items whose names differ from the folder's
    stop the step (the fix: delete the folder). The table is written through pyarrow column
    by column (pandas' ``to_parquet`` spends seconds on 6,373 columns), without dictionary
    pages or statistics for the float columns (they never repeat, and nothing filters them).
    """
    from emorepro.features.opensmile_features import functionals

    key = opensmile_cache_key(feature_set, "functionals")
    items = files.items("audio_path", key)
    names_file = items.cache / "feature_names.txt"

    def one(row: dict[str, Any]) -> dict[str, np.ndarray]:
        path = items.media_path(row)

        def compute() -> dict[str, np.ndarray]:
            signal, sr = media.read_audio(path)
            values = functionals(signal, sr, feature_set=feature_set, source=str(path))
            names = "\n".join(map(str, values.index.tolist()))
            if not names_file.exists():
                atomic_write(names_file, lambda p: p.write_text(names + "\n", "utf-8"))
            return {"values": values.to_numpy(np.float64), "names_sha256": _sha256(names)}

        return cached_arrays(items.cache / f"{row['item_id']}.npz", compute, compress=False)

    index = read_index(files.index_csv)
    arrays = each_item(f"functionals {files.corpus}", index, one)
    columns = names_file.read_text("utf-8").splitlines() if names_file.exists() else []
    expected = _sha256("\n".join(columns))
    if any(not np.array_equal(a.get("names_sha256"), expected) for a in arrays):
        raise CorruptInputError(
            items.cache,
            f"cached functionals name other features than {names_file.name}",
            fix="delete this cache folder and rerun",
        )
    values = np.vstack([a["values"] for a in arrays])
    item_ids = index["item_id"].to_list()
    table = pa.Table.from_arrays(
        [*(pa.array(values[:, j]) for j in range(values.shape[1])), pa.array(item_ids)],
        names=[*columns, "item_id"],
    )
    atomic_write(
        out,
        lambda p: pq.write_table(
            table, p, use_dictionary=["item_id"], write_statistics=["item_id"]
        ),
    )
    frame = pd.DataFrame(values, columns=columns)
    return frame.assign(item_id=item_ids)


def _sha256(text: str) -> np.ndarray:
    """The SHA-256 of ``text`` (UTF-8) as 32 ``uint8``."""
    return np.frombuffer(hashlib.sha256(text.encode("utf-8")).digest(), np.uint8)


def windowed_frame(
    path: Path, labels: pd.DataFrame, *, feature_set: str, window_s: float, hop_s: float
) -> pd.DataFrame:
    """Windowed functionals of one recording (float32, one row per ``hop_s``): what
    :func:`windowed_step` caches per recording. Module level so worker processes can run it."""
    from emorepro.features.opensmile_features import windowed_functionals

    signal, sr = media.read_audio(path)
    return windowed_functionals(
        signal, sr, feature_set=feature_set, window_s=window_s, hop_s=hop_s, source=str(path)
    )


def windowed_step(
    files: CorpusFiles,
    out: Path | str,
    *,
    feature_set: str,
    window_s: float,
    hop_s: float,
    threads: int = 1,
) -> Path:
    """Windowed functionals per label frame joined with the gold standard, one row per frame
    (feature columns float32, openSMILE's own precision); recordings are computed in
    ``threads`` processes and written one at a time (:func:`label_rate_table`)."""
    compute = functools.partial(
        windowed_frame, feature_set=feature_set, window_s=window_s, hop_s=hop_s
    )
    key = opensmile_cache_key(feature_set, "windowed", window_s=window_s, hop_s=hop_s)
    items = files.items("audio_path", key)
    label = f"windowed {feature_set} functionals"
    return label_rate_table(label, items, out, compute, threads=threads)


def lld_step(files: CorpusFiles, out: Path | str, *, feature_set: str) -> Path:
    """openSMILE LLDs averaged into each 40 ms label frame, joined with the gold standard.

    One row per (item_id, label frame): ``item_id, time_s, <LLDs...>, arousal, valence``;
    cached per recording (:func:`opensmile_cache_key`).
    """
    from emorepro.features.opensmile_features import lld_at_label_rate, llds

    def compute(path: Path, labels: pd.DataFrame) -> pd.DataFrame:
        times = labels["time_s"].to_numpy()
        signal, sr = media.read_audio(path)
        frame = llds(signal, sr, feature_set=feature_set, source=str(path))
        n = int(np.searchsorted(times, frame.index.to_numpy()[-1] + 0.1, side="right"))
        if n < len(times):
            log.warning(
                "%s: labels run %.2f s past the audio; truncated", path, times[-1] - times[n - 1]
            )
        values = lld_at_label_rate(frame, times[:n])
        return pd.DataFrame(values, columns=[str(c) for c in frame.columns])

    key = opensmile_cache_key(feature_set, "lld_label_rate")
    items = files.items("audio_path", key)
    return label_rate_table(f"{feature_set} LLDs", items, out, compute)


def logmel_step(files: CorpusFiles, out: Path | str, *, length: int) -> pd.DataFrame:
    """Zhang et al. log-Mel segments (64 x ``length`` x 3) of every item, cached per item.

    The output table is a manifest: one row per item with its segment count and the cached
    ``.npz`` (array ``segments``, float16 ``(n_seg, 64, length, 3)``; ``bounds_s`` start/end
    time of each segment) relative to ``cache_dir``.
    """
    from emorepro.features import logmel as LM

    shift = LM.default_shift(length)

    def n_segments(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        return {"n_segments": len(arrays["segments"])}

    def compute(path: Path) -> dict[str, np.ndarray]:
        signal, sr = media.read_audio(path)
        seg = LM.utterance_segments(signal, sr, length=length, shift=shift, source=str(path))
        bounds = LM.segment_bounds_s(len(seg), sr, length=length, shift=shift)
        return {"segments": seg.astype(np.float16), "bounds_s": bounds}

    key = logmel_cache_key(length=length, shift=shift)
    items = files.items("audio_path", key)
    frame = npz_manifest(f"log-Mel 64x{length}", items, out, compute, describe=n_segments)
    log.info("%s: %d segments of 64x%dx3", files.corpus, frame["n_segments"].sum(), length)
    return frame


# ----------------------------------------------------------------------------------------------
# Video


def face_crops_step(
    files: CorpusFiles,
    out: Path | str,
    *,
    kind: str,
    fps_out: float | None = None,
    threads: int = 1,
) -> pd.DataFrame:
    """Face crops of every item's video (``zhang``: eye-normalised 150x110; ``tzirakis``:
    96x96; ``aminbeidokhti``: dlib-detected, frontal-aligned 256x256), cached per item as
    ``.npz`` (``crops`` uint8 (n_frames, h, w, 3)); the output is a manifest with the per-item
    detection statistics (``fps`` and ``step`` say which frames were kept: every
    ``round(fps_video / fps_out)``-th, all when ``fps_out`` is None; ``aminbeidokhti`` adds
    ``detector_dlib``, ``detector_haar`` and ``no_face``, the clips without any face, which
    get centred squares and are counted in the log). Videos are processed in ``threads``
    worker processes (:func:`npz_manifest`); the output is the same for any ``threads``."""
    from emorepro.features.faces import video_face_crops

    def compute(path: Path) -> dict[str, np.ndarray]:
        crops, found = video_face_crops(path, kind=kind, fps_out=fps_out)
        return {"crops": crops, "stats": np.asarray(json.dumps(found))}

    def describe(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        found = json.loads(str(arrays["stats"]))
        return {"n_frames": len(arrays["crops"]), **{k: found[k] for k in sorted(found)}}

    key = faces_cache_key(kind, fps_out)
    items = files.items("video_path", key)
    frame = npz_manifest(f"faces ({kind})", items, out, compute, describe, threads=threads)
    if "no_face" in frame:
        n_none = int(frame["no_face"].sum())
        (log.warning if n_none else log.info)(
            "%s: %d of %d clips had no face (centred-square crops)",
            files.corpus,
            n_none,
            len(frame),
        )
    return frame


def landmark_model_step(out: Path | str, *, seed: int) -> Path:
    """Train the landmark detector on synthetic faces (used when no model file is configured)."""
    from emorepro.features.landmarks import train_synthetic_model

    log.info("training a dlib shape predictor on rendered faces (seed %d)", seed)
    out = Path(out)
    tmp = out.with_name(f".tmp-{out.name}")
    train_synthetic_model(tmp, seed=seed)
    # sidecar first: a model file is never present without its reference points
    os.replace(tmp.with_name(tmp.name + ".json"), out.with_name(out.name + ".json"))
    os.replace(tmp, out)
    return out


def video_descriptors_step(
    files: CorpusFiles,
    out: Path | str,
    *,
    landmark_model: Path | str,
    window_s: float,
    threads: int = 1,
) -> Path:
    """AVEC-style video descriptors of every recording at the 40 ms label rate, joined with
    the gold standard: windowed geometric functionals and raw LBP-TOP histograms (their PCA
    is fitted per protocol on training recordings by :func:`video_windowed_step`).
    Recordings are computed in ``threads`` forked worker processes (:func:`label_rate_table`);
    the output is the same for any ``threads``."""
    from emorepro.features.landmarks import LandmarkModel
    from emorepro.features.video_descriptors import video_descriptors

    model = LandmarkModel.load(landmark_model)

    def compute(path: Path, labels: pd.DataFrame) -> pd.DataFrame:
        return video_descriptors(
            path, landmark_model=model, n_label_frames=len(labels), window_s=window_s
        )

    key = video_cache_key(model, window_s=window_s)
    items = files.items("video_path", key)
    return label_rate_table("video descriptors", items, out, compute, threads=threads)


def landmark_frames_step(
    files: CorpusFiles, out: Path | str, *, landmark_model: Path | str, threads: int = 1
) -> pd.DataFrame:
    """Aligned landmarks of every recording of a continuous corpus, cached per item.

    Cache: ``<cache_dir>/<key>/<corpus>/<item>.npz`` with ``landmarks`` (T, 2 K) float32,
    ``face`` (T,) bool and ``stats`` (JSON string); ``key``: :func:`landmark_frames_cache_key`
    (model file, reference shape and groups, libraries, code). T = the item's label frame
    count (``adapter.read_labels``, read only when the item is computed). The manifest ``out``
    (parquet): ``item_id``, ``file`` (relative to ``cache_dir``), ``n_frames``, ``n_points``,
    ``face_fraction``. Recordings are processed in ``threads`` worker processes
    (:func:`npz_manifest`); the output is the same for any ``threads``.
    """
    from emorepro.features import landmark_frames as LF
    from emorepro.features.landmarks import LandmarkModel

    model = LandmarkModel.load(landmark_model)
    adapter = get_adapter(files.corpus)
    rows = {
        Path(files.root) / r["video_path"]: r
        for r in read_index(files.index_csv).to_dict("records")
    }

    def compute(path: Path) -> dict[str, np.ndarray]:
        n_labels = len(adapter.read_labels(Path(files.root), rows[path]))
        pts, face, stats = LF.aligned_landmark_frames(
            path, landmark_model=model, n_label_frames=n_labels
        )
        stats_json = np.asarray(json.dumps(stats, sort_keys=True))
        return {"landmarks": pts, "face": face, "stats": stats_json}

    def describe(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        pts = arrays["landmarks"]
        return {
            "n_frames": len(pts),
            "n_points": pts.shape[1] // 2,
            "face_fraction": float(np.mean(arrays["face"])),
        }

    key = landmark_frames_cache_key(model)
    items = files.items("video_path", key)
    frame = npz_manifest("landmark frames", items, out, compute, describe, threads=threads)
    log.info(
        "%s: %d recordings, %d label frames, %.1f %% with a face",
        files.corpus,
        len(frame),
        frame["n_frames"].sum(),
        100 * frame["face_fraction"].mean(),
    )
    return frame


def video_windowed_step(
    descriptors: Path | str,
    sheet: Path | str,
    out: Path | str,
    *,
    kind: str,
    pca_dim: int,
    window_s: float,
) -> pd.DataFrame:
    """The SVR input of one video descriptor: ``geometric`` (windowed mean/std of the
    landmark features) or ``appearance`` (PCA of the LBP-TOP histograms fitted on the
    protocol's training recordings only, then windowed mean/std)."""
    from emorepro.features.video_descriptors import appearance_functionals, fit_pca

    table = pd.read_parquet(descriptors)
    keys = ["item_id", "time_s"]
    gold = ["arousal", "valence"]
    if kind == "geometric":
        cols = [c for c in table.columns if c.startswith(("geo_mean_", "geo_std_"))]
        frame = table[keys + cols + gold]
    elif kind == "appearance":
        folds = read_sheet(sheet)
        train = set(folds.loc[folds["role"] == "train", "item_id"])
        raw = table.filter(regex=r"^app_raw_")
        pca = fit_pca(raw[table["item_id"].isin(train)].to_numpy(np.float64), pca_dim)
        log.info(
            "appearance PCA: %d -> %d dims on %d training frames",
            raw.shape[1],
            pca_dim,
            int(table["item_id"].isin(train).sum()),
        )
        parts = []
        for _, rec in table.groupby("item_id", sort=False):
            app = appearance_functionals(rec.reset_index(drop=True), pca, window_s=window_s)
            parts.append(
                pd.concat(
                    [rec[keys].reset_index(drop=True), app, rec[gold].reset_index(drop=True)],
                    axis=1,
                )
            )
        frame = pd.concat(parts, ignore_index=True)
    else:
        raise ConfigError(f"video descriptor kind {kind!r}: use geometric or appearance")
    write_parquet(out, frame)
    return frame
