"""Per-item cached feature steps on a real twin layout: log-Mel segments and face crops."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from emorepro.corpora.index import read_index, write_index
from emorepro.errors import CorruptInputError
from emorepro.steps.data import index_step
from emorepro.steps.features import CorpusFiles, face_crops_step, logmel_step, windowed_step
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


def _npz_values(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def test_face_crops_same_for_any_threads(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    """Videos in two worker processes: the manifest and every cached crop array are those of
    one process (the ``.npz`` zip headers carry a timestamp: values are compared)."""
    root, index = corpus
    frames = {}
    for threads in (1, 2):
        files = CorpusFiles("enterface05", root, index, tmp_path / f"cache{threads}")
        frames[threads] = face_crops_step(
            files, tmp_path / f"f{threads}.parquet", kind="tzirakis", threads=threads
        )
    pd.testing.assert_frame_equal(frames[1], frames[2], check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "f2.parquet"), frames[1])
    for rel in frames[1]["file"]:
        one, two = (_npz_values(tmp_path / f"cache{t}" / rel) for t in (1, 2))
        assert one.keys() == two.keys() == {"crops", "stats"}
        for key in one:
            np.testing.assert_array_equal(one[key], two[key])


def test_face_crops_bad_video_in_a_worker_names_the_file(
    corpus: tuple[Path, Path], tmp_path: Path
) -> None:
    root, index = corpus
    rows = read_index(index).to_dict("records")
    broken = tmp_path / "enterface05"
    for row in rows:
        (broken / row["video_path"]).parent.mkdir(parents=True, exist_ok=True)
        (broken / row["video_path"]).write_bytes((root / row["video_path"]).read_bytes())
    bad = broken / rows[1]["video_path"]
    bad.write_bytes(b"RIFF\x00\x00\x00\x00AVI not a video")
    files = CorpusFiles("enterface05", broken, index, tmp_path / "cache")
    with pytest.raises(CorruptInputError, match=bad.name) as err:
        face_crops_step(files, tmp_path / "f.parquet", kind="tzirakis", threads=2)
    assert err.value.path == bad
    assert not (tmp_path / "f.parquet").exists()
    assert not list(tmp_path.glob(".f.parquet*"))  # no partial output either
    # the good video's cache is kept: a rerun after the fix computes only the bad one
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 1


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


# ----------------------------------------------------------------------------------------------
# windowed functionals: streamed per recording, computed in worker processes

SR = 16000
WINDOW = {"feature_set": "eGeMAPSv02", "window_s": 2.0, "hop_s": 0.04}


def _fake_recola(root: Path, durations: list[float]) -> Path:
    """Audio and gold standard of a tiny recola_avec2016 layout; returns the index CSV."""
    from emorepro.corpora.index import make_index
    from emorepro.synth.layouts.recola_avec2016 import write_arff

    rows = []
    for i, seconds in enumerate(durations):
        name = f"train_{i + 1}"
        rng = np.random.default_rng(i)
        t = np.arange(round(seconds * SR)) / SR
        x = 0.3 * np.sin(2 * np.pi * (150 + 20 * i) * t) + 0.02 * rng.standard_normal(t.size)
        (root / "recordings_audio").mkdir(parents=True, exist_ok=True)
        sf.write(root / "recordings_audio" / f"{name}.wav", x.astype(np.float32), SR)
        n_labels = round(seconds / 0.04) + 1 + (3 if i == 1 else 0)  # one with 3 extra frames
        for dim in ("arousal", "valence"):
            write_arff(root / "ratings_gold_standard" / dim / f"{name}.arff", name,
                       rng.uniform(-1, 1, n_labels))  # fmt: skip
        rows.append({"item_id": name, "corpus": "recola_avec2016", "subject": name,
                     "audio_path": f"recordings_audio/{name}.wav",
                     "arousal_path": f"ratings_gold_standard/arousal/{name}.arff",
                     "valence_path": f"ratings_gold_standard/valence/{name}.arff",
                     "partition": "train", "duration_s": seconds, "sample_rate": SR})  # fmt: skip
    index = root.parent / "index.csv"
    write_index(make_index(rows), index)
    return index


@pytest.fixture(scope="module")
def recola(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("recola") / "recola_avec2016"
    return root, _fake_recola(root, [3.0, 2.52, 4.0])


def _one_shot_reference(root: Path, index: Path) -> pd.DataFrame:
    """The previous windowed_step: every recording in memory (float64), one pd.concat."""
    from emorepro import media
    from emorepro.corpora import get_adapter
    from emorepro.features.opensmile_features import windowed_functionals

    adapter = get_adapter("recola_avec2016")
    parts = []
    for row in read_index(index).to_dict(orient="records"):
        labels = adapter.read_labels(root, row)
        signal, sr = media.read_audio(root / row["audio_path"])
        feats = windowed_functionals(signal, sr, **WINDOW).astype(np.float64)
        n = min(len(feats), len(labels))
        part = feats.iloc[:n].reset_index(drop=True)
        part.insert(0, "time_s", labels["time_s"].to_numpy()[:n])
        part.insert(0, "item_id", row["item_id"])
        part["arousal"] = labels["arousal"].to_numpy()[:n]
        part["valence"] = labels["valence"].to_numpy()[:n]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize(("threads", "rows_per_group"), [(1, 1000), (2, 1000), (1, 16)])
def test_windowed_step_streams_the_one_shot_table(
    recola: tuple[Path, Path],
    tmp_path: Path,
    threads: int,
    rows_per_group: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Per-recording, row-group-wise writing gives the table the one-shot concat gave."""
    monkeypatch.setattr("emorepro.steps.features._ROWS_PER_GROUP", rows_per_group)
    root, index = recola
    files = CorpusFiles("recola_avec2016", root, index, tmp_path / "cache")
    out = windowed_step(files, tmp_path / "w.parquet", **WINDOW, threads=threads)
    assert out == tmp_path / "w.parquet"
    meta = pq.ParquetFile(out).metadata
    # written recording after recording, in row groups of at most rows_per_group rows
    assert meta.num_row_groups == sum(-(-n // rows_per_group) for n in (75, 63, 100))
    got = pd.read_parquet(out)
    ref = _one_shot_reference(root, index)
    assert list(got.columns) == list(ref.columns)
    feats = [c for c in ref.columns if c not in ("item_id", "time_s", "arousal", "valence")]
    assert (got[feats].dtypes == np.float32).all()  # openSMILE's own precision
    assert (got[["time_s", "arousal", "valence"]].dtypes == np.float64).all()
    # equal values: float32 -> float64 is exact, so nothing changes but the storage type
    pd.testing.assert_frame_equal(got.astype({c: np.float64 for c in feats}), ref,
                                  check_dtype=False, check_exact=True)  # fmt: skip
    assert list(got.groupby("item_id", sort=False).size()) == [75, 63, 100]
    # a rerun reuses every cached recording (same bytes, mtimes unchanged)
    caches = sorted(files.items("audio_path", "x").cache.parent.parent.rglob("*.parquet"))
    mtimes = [p.stat().st_mtime_ns for p in caches]
    again = windowed_step(files, tmp_path / "w2.parquet", **WINDOW, threads=threads)
    pd.testing.assert_frame_equal(pd.read_parquet(again), got)
    assert [p.stat().st_mtime_ns for p in caches] == mtimes


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("kind", ["one_sample", "garbage"])
def test_windowed_step_corrupt_recording_names_the_file(
    tmp_path: Path, threads: int, kind: str
) -> None:
    root = tmp_path / "recola_avec2016"
    index = _fake_recola(root, [2.0, 2.0, 2.0])
    bad = root / "recordings_audio" / "train_2.wav"
    if kind == "one_sample":
        sf.write(bad, np.zeros(1, np.float32), SR)
    else:
        bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio")
    files = CorpusFiles("recola_avec2016", root, index, tmp_path / "cache")
    with pytest.raises(CorruptInputError, match=r"train_2\.wav") as err:
        windowed_step(files, tmp_path / "w.parquet", **WINDOW, threads=threads)
    assert err.value.path == bad
    assert not (tmp_path / "w.parquet").exists()
    assert not list(tmp_path.glob(".w.parquet*"))  # no partial output either


def test_functionals_step_table_equals_per_item_functionals(
    recola: tuple[Path, Path], tmp_path: Path
) -> None:
    """The pyarrow-written table (and its cached rerun) == functionals() of each file."""
    from emorepro import media
    from emorepro.features.opensmile_features import functionals
    from emorepro.steps.features import functionals_step

    root, index = recola
    files = CorpusFiles("recola_avec2016", root, index, tmp_path / "cache")
    frame = functionals_step(files, tmp_path / "f.parquet", feature_set="eGeMAPSv02")
    rows = read_index(index).to_dict(orient="records")
    ref = pd.DataFrame([functionals(*media.read_audio(root / r["audio_path"])) for r in rows])
    ref = ref.reset_index(drop=True).assign(item_id=[r["item_id"] for r in rows])
    ref.columns = [str(c) for c in ref.columns]
    got = pd.read_parquet(tmp_path / "f.parquet")
    pd.testing.assert_frame_equal(got, ref, check_exact=True, check_dtype=False)
    pd.testing.assert_frame_equal(frame, ref, check_exact=True, check_dtype=False)
    again = functionals_step(files, tmp_path / "g.parquet", feature_set="eGeMAPSv02")
    pd.testing.assert_frame_equal(again, frame)
    assert (got.drop(columns="item_id").dtypes == np.float64).all()


def test_functionals_cache_keeps_names_once_and_stops_on_other_names(
    recola: tuple[Path, Path], tmp_path: Path
) -> None:
    """The per-item cache holds the values and a digest of the names; the names live once in
    ``feature_names.txt``. An item cached with other names, or a lost names file, stops the
    step naming the cache folder (and writes no table)."""
    import hashlib

    from emorepro.io import read_npz, write_npz
    from emorepro.steps.features import functionals_step

    root, index = recola
    files = CorpusFiles("recola_avec2016", root, index, tmp_path / "cache")
    frame = functionals_step(files, tmp_path / "f.parquet", feature_set="eGeMAPSv02")
    (names_file,) = (tmp_path / "cache").rglob("feature_names.txt")
    assert names_file.read_text().splitlines() == list(frame.columns[:-1])
    cached = sorted(names_file.parent.glob("*.npz"))
    assert len(cached) == len(frame)
    one = read_npz(cached[0])
    assert sorted(one) == ["names_sha256", "values"]
    digest = hashlib.sha256("\n".join(frame.columns[:-1]).encode()).digest()
    assert one["names_sha256"].tobytes() == digest
    np.testing.assert_array_equal(one["values"], frame.iloc[0, :-1].to_numpy(np.float64))

    write_npz(cached[1], {**read_npz(cached[1]), "names_sha256": np.zeros(32, np.uint8)})
    with pytest.raises(CorruptInputError, match="name other features") as err:
        functionals_step(files, tmp_path / "g.parquet", feature_set="eGeMAPSv02")
    assert err.value.path == names_file.parent
    assert not (tmp_path / "g.parquet").exists()
    cached[1].unlink()  # recomputed: the step works again
    functionals_step(files, tmp_path / "g.parquet", feature_set="eGeMAPSv02")
    names_file.unlink()
    with pytest.raises(CorruptInputError, match="delete this cache folder"):
        functionals_step(files, tmp_path / "h.parquet", feature_set="eGeMAPSv02")
