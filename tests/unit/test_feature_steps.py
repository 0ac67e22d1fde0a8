"""Per-item cached feature steps on a real twin layout: log-Mel segments and face crops."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emorepro.corpora.index import read_index, write_index
from emorepro.steps.data import index_step
from emorepro.steps.features import CorpusFiles, face_crops_step, logmel_step
from emorepro.synth import generate_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("enterface")
    root = base / "enterface05"
    generate_corpus("enterface05", root, scale="tiny", seed=5)
    full = index_step("enterface05", root, base / "full.csv")
    index = base / "two.csv"
    write_index(full.iloc[:2].reset_index(drop=True), index)
    return root, index


def test_logmel_manifest_and_cache(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    root, index = corpus
    cache = tmp_path / "cache"
    files = CorpusFiles("enterface05", root, index, cache)
    frame = logmel_step(files, tmp_path / "m.parquet", length=64)
    assert list(frame["item_id"]) == list(read_index(index)["item_id"])
    with np.load(cache / frame.loc[0, "file"]) as data:
        seg = data["segments"]
        assert seg.shape[1:] == (64, 64, 3) and seg.dtype == np.float16
        assert len(seg) == frame.loc[0, "n_segments"] == len(data["bounds_s"])
    # a second run reuses the cached items (no recomputation: same bytes, same mtime)
    mtime = (cache / frame.loc[0, "file"]).stat().st_mtime_ns
    again = logmel_step(files, tmp_path / "m2.parquet", length=64)
    pd.testing.assert_frame_equal(frame, again)
    assert (cache / frame.loc[0, "file"]).stat().st_mtime_ns == mtime
    short = logmel_step(files, tmp_path / "s.parquet", length=15)
    assert (short["n_segments"] > frame["n_segments"]).all()


def test_face_crops_manifest(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    root, index = corpus
    files = CorpusFiles("enterface05", root, index, tmp_path)
    frame = face_crops_step(files, tmp_path / "f.parquet", kind="zhang")
    assert (
        frame["n_detected"] + frame["n_held"] + frame["n_backfilled"] == frame["n_frames"]
    ).all()
    assert (frame["n_detected"] > 0.8 * frame["n_frames"]).all()
    with np.load(tmp_path / frame.loc[0, "file"]) as data:
        assert data["crops"].shape[1:] == (150, 110, 3) and data["crops"].dtype == np.uint8


def _descriptors(rng: np.random.Generator, n_items: int = 6, n: int = 60) -> pd.DataFrame:
    parts = []
    for k in range(n_items):
        raw = rng.random((n, 12))
        part = pd.DataFrame(raw, columns=[f"app_raw_{j}" for j in range(12)])
        part.insert(0, "time_s", np.arange(n) * 0.04)
        part.insert(0, "item_id", f"r{k}")
        part["geo_mean_0"], part["geo_std_0"] = rng.random(n), rng.random(n)
        part["arousal"], part["valence"] = rng.random(n), rng.random(n)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def test_video_windowed_fits_appearance_pca_on_training_recordings_only(tmp_path: Path) -> None:
    from emorepro.steps.features import video_windowed_step

    table = _descriptors(np.random.default_rng(0))
    sheet = pd.DataFrame(
        {
            "fold": 0,
            "item_id": [f"r{k}" for k in range(6)],
            "subject": [f"s{k}" for k in range(6)],
            "role": ["train", "train", "dev", "dev", "test", "test"],
        }
    )
    table.to_parquet(tmp_path / "d.parquet")
    sheet.to_csv(tmp_path / "s.csv", index=False)
    kw = {"kind": "appearance", "pca_dim": 3, "window_s": 0.4}
    out = video_windowed_step(
        tmp_path / "d.parquet", tmp_path / "s.csv", tmp_path / "o.parquet", **kw
    )
    assert [c for c in out.columns if c.startswith("app_")] == [
        *(f"app_mean_pc{i}" for i in range(3)),
        *(f"app_std_pc{i}" for i in range(3)),
    ]
    assert list(out.columns[-2:]) == ["arousal", "valence"] and len(out) == len(table)
    # changing the test recordings' raw histograms leaves the train/dev rows unchanged
    changed = table.copy()
    test_rows = changed["item_id"].isin(["r4", "r5"])
    changed.loc[test_rows, [f"app_raw_{j}" for j in range(12)]] = 5.0
    changed.to_parquet(tmp_path / "d2.parquet")
    out2 = video_windowed_step(
        tmp_path / "d2.parquet", tmp_path / "s.csv", tmp_path / "o2.parquet", **kw
    )
    keep = ~out["item_id"].isin(["r4", "r5"])
    pd.testing.assert_frame_equal(out[keep], out2[keep])
    geo = video_windowed_step(tmp_path / "d.parquet", tmp_path / "s.csv", tmp_path / "g.parquet",
                              kind="geometric", pca_dim=3, window_s=0.4)  # fmt: skip
    assert list(geo.columns) == [
        "item_id",
        "time_s",
        "geo_mean_0",
        "geo_std_0",
        "arousal",
        "valence",
    ]


@pytest.mark.parametrize(("n", "logged"), [(3, [1, 2, 3]), (101, [25, 50, 75, 100, 101])])
def test_progress_lines_every_item_for_long_recordings(n: int, logged: list[int], caplog) -> None:
    from emorepro.progress import Progress

    progress = Progress("faces x", n)
    with caplog.at_level(logging.INFO, logger="emorepro"):
        for i in range(1, n + 1):
            progress.step(i)
    lines = [r.getMessage() for r in caplog.records]
    assert [int(m.split(": ")[1].split("/")[0]) for m in lines] == logged
    assert lines[-1].startswith(f"faces x: {n}/{n} items (") and "s left)" in lines[-1]
