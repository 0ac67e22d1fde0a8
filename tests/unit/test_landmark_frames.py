"""Procrustes-aligned landmarks per 40 ms label frame (Tzirakis et al. 2017, "raw + geometric").

Videos are rendered with the synthetic FaceRenderer (as in test_video_descriptors); the step
runs on a two-recording AVEC 2016 twin in the real on-disk layout, read by the real adapter.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index
from emorepro.errors import CorruptInputError
from emorepro.features import landmark_frames as LF
from emorepro.features.landmark_frames import (
    align_and_fill,
    aligned_landmark_frames,
    load_landmark_frames,
)
from emorepro.features.landmarks import (
    LandmarkModel,
    procrustes_align,
    synthetic_reference,
    train_synthetic_model,
)
from emorepro.features.video_descriptors import MAX_BOX_GAP
from emorepro.steps.data import index_step
from emorepro.steps.features import CorpusFiles, landmark_frames_step
from emorepro.synth.affect import Speaker
from emorepro.synth.face import FaceRenderer
from emorepro.synth.layouts.recola_avec2016 import render_recording, write_arff
from emorepro.synth.media import write_video


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> LandmarkModel:
    path = tmp_path_factory.mktemp("lm") / "synth.dat"
    train_synthetic_model(path, seed=0, n_faces=60, cascade_depth=6, oversampling=5)
    return LandmarkModel.load(path)


def _video(path: Path, faces: Sequence[bool]) -> Path:
    """25 fps video: a rendered face where ``faces[i]``, a flat grey frame elsewhere."""
    renderer = FaceRenderer(Speaker("e", "F", 30, 200.0, 0.0, 0.0, 99), size=(96, 128))
    rng = np.random.default_rng(0)

    def frames() -> Iterator[np.ndarray]:
        for i, face in enumerate(faces):
            if face:
                yield renderer.render(arousal=0.0, valence=float(np.sin(0.08 * i)), rng=rng)
            else:
                yield np.full((96, 128, 3), 120, np.uint8)

    write_video(path, frames(), fps=25.0)
    return path


def _similarity(pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    s, theta = rng.uniform(0.1, 50.0), rng.uniform(-np.pi, np.pi)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return s * pts @ rot.T + rng.uniform(-500, 500, size=2)


# ------------------------------------------------------------------------------ pure part


def test_alignment_removes_translation_scale_and_rotation() -> None:
    rng = np.random.default_rng(7)
    ref = synthetic_reference()
    shapes = [ref + rng.normal(0, 0.03, ref.shape) for _ in range(8)]
    rows, valid = align_and_fill(shapes, ref)
    moved, _ = align_and_fill([_similarity(s, rng) for s in shapes], ref)
    assert rows.shape == (8, 2 * len(ref)) and rows.dtype == np.float32 and valid.all()
    np.testing.assert_allclose(moved, rows, atol=1e-5)
    # layout [x0, y0, x1, y1, ...] of the (K, 2) aligned shape
    np.testing.assert_allclose(rows[3, 0::2], procrustes_align(shapes[3], ref)[:, 0], atol=1e-6)
    np.testing.assert_allclose(rows[3, 1::2], procrustes_align(shapes[3], ref)[:, 1], atol=1e-6)


def test_missing_shapes_are_carried_forward_then_backward() -> None:
    rng = np.random.default_rng(3)
    ref = synthetic_reference()
    a, b = (ref + rng.normal(0, 0.05, ref.shape) for _ in range(2))
    rows, valid = align_and_fill([None, None, a, None, None, b, None], ref)
    assert valid.tolist() == [False, False, True, False, False, True, False]
    for i in (0, 1, 3, 4):
        np.testing.assert_array_equal(rows[i], rows[2])
    np.testing.assert_array_equal(rows[6], rows[5])
    assert not np.allclose(rows[2], rows[5])
    with pytest.raises(ValueError, match="no face"):
        align_and_fill([None, None], ref)


# ------------------------------------------------------------------------------ one video


def test_one_row_per_label_frame_and_deterministic(tmp_path: Path, model: LandmarkModel) -> None:
    path = _video(tmp_path / "rec.mp4", [True] * 30)
    pts, face, stats = aligned_landmark_frames(path, landmark_model=model, n_label_frames=31)
    assert pts.shape == (31, 2 * model.n_points) and pts.dtype == np.float32
    assert face.shape == (31,) and face.dtype == bool and face.all()
    assert stats["n_video_frames"] == 30 and stats["fps"] == pytest.approx(25.0)
    assert stats["face_fraction"] == 1.0 and stats["n_points"] == model.n_points
    np.testing.assert_array_equal(pts[30], pts[29])  # the row at t = T takes the last frame
    # in reference units: each aligned face lies close to the reference shape
    ref = model.reference
    err = np.linalg.norm(pts.reshape(31, -1, 2) - ref, axis=2).mean(axis=1)
    assert err.max() < 0.1 * np.linalg.norm(ref - ref.mean(axis=0), axis=1).mean()
    again, face2, stats2 = aligned_landmark_frames(path, landmark_model=model, n_label_frames=31)
    np.testing.assert_array_equal(again, pts)
    np.testing.assert_array_equal(face2, face)
    assert stats2 == stats


def test_frames_without_a_face_hold_the_nearest_earlier_shape(
    tmp_path: Path, model: LandmarkModel
) -> None:
    # 4 blank, 16 faces, then blank frames: the box is held for MAX_BOX_GAP of them
    lead, n_face, tail = 4, 16, MAX_BOX_GAP + 4
    path = _video(tmp_path / "gaps.mp4", [False] * lead + [True] * n_face + [False] * tail)
    n = lead + n_face + tail
    pts, face, stats = aligned_landmark_frames(path, landmark_model=model, n_label_frames=n)
    last = lead + n_face + MAX_BOX_GAP  # first frame after the held boxes
    assert face.tolist() == [False] * lead + [True] * (last - lead) + [False] * (n - last)
    assert stats["n_faces"] == last - lead and stats["n_held"] >= MAX_BOX_GAP
    assert stats["face_fraction"] == pytest.approx(face.mean())
    for i in range(lead):
        np.testing.assert_array_equal(pts[i], pts[lead])
    for i in range(last, n):
        np.testing.assert_array_equal(pts[i], pts[last - 1])


def test_errors_name_the_file(tmp_path: Path, model: LandmarkModel) -> None:
    blank = _video(tmp_path / "blank.mp4", [False] * 6)
    with pytest.raises(CorruptInputError, match=r"blank\.mp4.*no face.*Fix"):
        aligned_landmark_frames(blank, landmark_model=model, n_label_frames=6)
    short = _video(tmp_path / "short.mp4", [True] * 5)
    with pytest.raises(CorruptInputError, match=r"short\.mp4.*too short"):
        aligned_landmark_frames(short, landmark_model=model, n_label_frames=100)


# ------------------------------------------------------------------------------ step


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two 1.2 s recordings of an AVEC 2016 twin (30 video frames, 31 label frames)."""
    base = tmp_path_factory.mktemp("avec")
    root = base / "recola_avec2016"
    for k, name in enumerate(("train_1", "dev_1")):
        labels = render_recording(
            speaker=Speaker(name, "F" if k else "M", 30, 180.0, 0.0, 0.0, 40 + k),
            seed_parts=[11, k],
            duration_s=1.2,
            sr=16000,
            size=(96, 128),
            audio_path=root / "recordings_audio" / f"{name}.wav",
            video_path=root / "recordings_video" / f"{name}.mp4",
            mux_audio=False,
        )
        for dim, (gold, _raters) in labels.items():
            write_arff(root / "ratings_gold_standard" / dim / f"{name}.arff", name, gold)
    index_step("recola_avec2016", root, base / "index.csv")
    return root, base / "index.csv"


def test_step_manifest_cache_and_loader(
    corpus: tuple[Path, Path], model: LandmarkModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, index = corpus
    cache = tmp_path / "cache"
    kw = {"landmark_model": model.source}
    files = CorpusFiles("recola_avec2016", root, index, cache)
    frame = landmark_frames_step(files, tmp_path / "m.parquet", **kw)
    assert list(frame.columns) == ["item_id", "file", "n_frames", "n_points", "face_fraction"]
    assert sorted(frame["item_id"]) == ["dev_1", "train_1"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "m.parquet"), frame)
    adapter = get_adapter("recola_avec2016")
    items = {r["item_id"]: r for r in read_index(index).to_dict("records")}
    for row in frame.to_dict("records"):
        n_labels = len(adapter.read_labels(root, items[row["item_id"]]))
        pts, face = load_landmark_frames(row, cache)
        assert row["n_frames"] == n_labels == 31 == len(pts) == len(face)
        assert row["n_points"] == model.n_points and row["face_fraction"] > 0.9
        assert pts.shape == (31, 2 * model.n_points) and pts.dtype == np.float32
        np.testing.assert_array_equal(load_landmark_frames(row["file"], cache)[0], pts)
        with np.load(cache / row["file"]) as data:
            assert json.loads(str(data["stats"]))["n_video_frames"] == 30
    assert frame["file"].str.match(r"^[0-9a-f]{16}/recola_avec2016/\w+\.npz$").all()

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("cached items must not be recomputed")

    monkeypatch.setattr(LF, "aligned_landmark_frames", boom)
    again = landmark_frames_step(files, tmp_path / "m2.parquet", **kw)
    pd.testing.assert_frame_equal(again, frame)


def test_step_same_for_any_threads(
    corpus: tuple[Path, Path], model: LandmarkModel, tmp_path: Path
) -> None:
    """Recordings in two worker processes: the manifest and the cached arrays are those of
    one process (values compared: the ``.npz`` zip headers carry a timestamp)."""
    root, index = corpus
    frames = {}
    for threads in (1, 2):
        files = CorpusFiles("recola_avec2016", root, index, tmp_path / f"cache{threads}")
        frames[threads] = landmark_frames_step(
            files, tmp_path / f"m{threads}.parquet", landmark_model=model.source, threads=threads
        )
    pd.testing.assert_frame_equal(frames[1], frames[2], check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "m2.parquet"), frames[1])
    for rel in frames[1]["file"]:
        with np.load(tmp_path / "cache1" / rel) as one, np.load(tmp_path / "cache2" / rel) as two:
            assert one.files == two.files
            for key in one.files:
                np.testing.assert_array_equal(one[key], two[key])


def test_video_descriptors_step_same_for_any_threads(
    corpus: tuple[Path, Path], model: LandmarkModel, tmp_path: Path
) -> None:
    """The video descriptors (geometry + LBP-TOP) of the recordings computed in two worker
    processes: the same table, bit for bit, as in one process; every label frame kept."""
    from emorepro.steps.features import video_descriptors_step

    root, index = corpus
    tables = {}
    for threads in (1, 2):
        files = CorpusFiles("recola_avec2016", root, index, tmp_path / f"cache{threads}")
        out = video_descriptors_step(
            files, tmp_path / f"v{threads}.parquet", landmark_model=model.source,
            window_s=0.8, threads=threads,
        )  # fmt: skip
        tables[threads] = pd.read_parquet(out)
    assert len(tables[1]) == 2 * 31 and tables[1]["item_id"].nunique() == 2
    assert tables[1].filter(regex="^app_raw_").shape[1] > 0
    pd.testing.assert_frame_equal(tables[1], tables[2], check_exact=True)


def test_step_error_in_a_worker_names_the_file(
    corpus: tuple[Path, Path], model: LandmarkModel, tmp_path: Path
) -> None:
    root, index = corpus
    broken = tmp_path / "recola_avec2016"
    shutil.copytree(root, broken)
    bad = broken / "recordings_video" / "dev_1.mp4"
    _video(bad, [False] * 30)  # a video without a face
    files = CorpusFiles("recola_avec2016", broken, index, tmp_path / "cache")
    with pytest.raises(CorruptInputError, match=r"dev_1\.mp4.*no face") as err:
        landmark_frames_step(files, tmp_path / "m.parquet", landmark_model=model.source, threads=2)
    assert err.value.path == bad
    assert not (tmp_path / "m.parquet").exists()
    assert not list(tmp_path.glob(".m.parquet*"))


def test_loader_names_a_bad_cache_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not an npz")
    with pytest.raises(CorruptInputError, match=r"x\.npz.*rerun rule landmark_frames"):
        load_landmark_frames("x.npz", tmp_path)
    np.savez(tmp_path / "y.npz", landmarks=np.zeros((3, 4), np.float32), face=np.ones(2, bool))
    with pytest.raises(CorruptInputError, match="do not match"):
        load_landmark_frames({"file": "y.npz"}, tmp_path)
