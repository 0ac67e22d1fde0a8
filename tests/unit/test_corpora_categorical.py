"""Synthetic twins + adapters of the categorical corpora (RML, eNTERFACE'05, BAUM-1s, AFEW, OMG).

Each twin is generated once per module at tiny scale; determinism is checked on a micro
profile (same code path, fewer/shorter clips) to keep the file fast.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from importlib import import_module
from pathlib import Path

import pytest

from emorepro.corpora import get_adapter
from emorepro.errors import CorpusLayoutError, CorruptInputError
from emorepro.synth import generate_corpus

NAMES = ("rml", "enterface05", "baum1s", "afew", "omg_emotion")
SEED = 7
_ROOTS: dict[str, Path] = {}


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory):
    def get(name: str) -> Path:
        if name not in _ROOTS:
            root = tmp_path_factory.mktemp(name)
            generate_corpus(name, root, scale="tiny", seed=SEED)
            _ROOTS[name] = root
        return _ROOTS[name]

    return get


@pytest.fixture
def broken(twin, tmp_path: Path):
    def copy(name: str) -> Path:
        dst = tmp_path / name
        shutil.copytree(twin(name), dst)
        return dst

    return copy


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------- layout (real structure)

EXPECTED_PATHS = {
    "rml": ["rml-1/s1/an1.avi", "rml-1/s5/su2.avi", "rml-2/s6/di1.avi",
            "rml-2/s7/english/an1.avi", "rml-2/s7/mandarin/an2.avi", "rml-2/s8/ha2.avi"],
    "enterface05": ["subject 1/anger/sentence 1/s1_an_1.avi",
                    "subject 8/surprise/sentence 2/s8_su_2.avi",
                    "subject 6/fear/s6_fe_2.avi"],
    "baum1s": ["Annotations_BAUM1s.csv", "BAUM1s_MP4 - All/s001/S001_001.mp4",
               "BAUM1s_MP4 - All/s010/S010_006.mp4"],
    "afew": ["Train_AFEW/Angry", "Train_AFEW/Neutral", "Val_AFEW/Surprise"],
    "omg_emotion": ["omg_TrainVideos.csv", "omg_ValidationVideos.csv"],
}  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_twin_has_real_layout(twin, name: str) -> None:
    root = twin(name)
    for rel in EXPECTED_PATHS[name]:
        assert (root / rel).exists(), rel
    if name == "enterface05":
        assert not any((root / "subject 6" / "anger").glob("sentence*"))
    if name == "afew":
        assert len(list((root / "Train_AFEW" / "Angry").glob("*.avi"))) == 4
        assert len(list((root / "Val_AFEW" / "Sad").glob("*.avi"))) == 2
        assert all(len(p.stem) == 9 and p.stem.isdigit() for p in root.rglob("*.avi"))
    if name == "omg_emotion":
        with open(root / "omg_TrainVideos.csv", newline="") as fh:
            head = next(csv.reader(fh))
        assert head == ["link", "start", "end", "video", "utterance", "arousal", "valence",
                        "EmotionMaxVote"]  # fmt: skip
        first_video = next(p for p in root.iterdir() if p.is_dir())
        assert (first_video / "utterance_1.mp4").is_file()


# ---------------------------------------------------------------- index

EXPECTED_INDEX = {
    # name: (rows, subjects, clips per (subject, emotion) or None, sample_rate, fps)
    "rml": (96, 8, 2, 22050, 30.0),
    "enterface05": (96, 8, 2, 48000, 25.0),
    "baum1s": (60, 10, 1, 48000, 30.0),
    "afew": (42, 42, 1, 48000, 25.0),
    "omg_emotion": (42, 6, None, 44100, 30.0),
}


@pytest.mark.parametrize("name", NAMES)
def test_adapter_indexes_twin(twin, name: str) -> None:
    root = twin(name)
    frame = get_adapter(name).index(root)
    n, subjects, per_cell, sr, fps = EXPECTED_INDEX[name]
    assert len(frame) == n
    assert frame["subject"].nunique() == subjects
    assert set(frame["corpus"]) == {name}
    if per_cell is not None:
        assert set(frame.groupby(["subject", "emotion"]).size()) == {per_cell}
    assert set(frame["sample_rate"]) == {sr}
    assert {round(f, 2) for f in frame["fps"]} == {fps}
    assert (frame["audio_path"] == frame["video_path"]).all()
    assert all((root / p).is_file() for p in frame["video_path"])
    assert all(0.5 < d < 3.0 for d in frame["duration_s"])
    n_classes = 7 if name in ("afew", "omg_emotion") else 6
    assert frame["emotion"].nunique() == n_classes


def test_fixed_partitions(twin) -> None:
    afew = get_adapter("afew").index(twin("afew"))
    assert afew.groupby("partition").size().to_dict() == {"dev": 14, "train": 28}
    assert set(afew[afew.partition == "train"].groupby("emotion").size()) == {4}
    omg = get_adapter("omg_emotion").index(twin("omg_emotion"))
    assert omg.groupby("partition").size().to_dict() == {"dev": 14, "train": 28}
    for _, part in omg.groupby("partition"):
        assert part["emotion"].nunique() == 7
    assert set(omg.groupby("partition")["subject"].nunique()) == {2, 4}


def test_rml_and_baum_metadata(twin) -> None:
    rml = get_adapter("rml").index(twin("rml"))
    assert set(rml.loc[rml.subject == "s7", "language"]) == {"english", "mandarin"}
    baum = get_adapter("baum1s").index(twin("baum1s"))
    assert set(baum["gender"]) == {"F", "M"}
    ent = get_adapter("enterface05").index(twin("enterface05"))
    assert set(ent["sentence"]) == {"1", "2"}


# ---------------------------------------------------------------- determinism

MICRO = {
    "rml": {"speakers": 2, "clips_per_emotion": 1},
    "enterface05": {"subjects": 1, "sentences": 1},
    "baum1s": {"subjects": 2, "basic": 2, "other": 1},
    "afew": {"train": {"Angry": 1, "Happy": 1}, "val": {"Sad": 1}},
    "omg_emotion": {"videos": {"train": 1, "dev": 1}, "utterances": 2},
}


@pytest.mark.parametrize("name", NAMES)
def test_generation_is_deterministic(name: str, tmp_path: Path, monkeypatch) -> None:
    module = import_module(f"emorepro.synth.layouts.{name}")
    micro = {**module.SCALES["tiny"], **MICRO[name], "duration_s": (0.3, 0.5)}
    monkeypatch.setitem(module.SCALES, "tiny", micro)
    # b: the same seed with clips written in two worker processes
    for d, seed, threads in (("a", 1, 1), ("b", 1, 2), ("c", 2, 2)):
        generate_corpus(name, tmp_path / d, scale="tiny", seed=seed, threads=threads)
    a, b, c = (_hashes(tmp_path / d) for d in "abc")
    assert a and a == b
    assert a != c


# ---------------------------------------------------------------- broken copies


@pytest.mark.parametrize("name", NAMES)
def test_empty_or_missing_root(name: str, tmp_path: Path) -> None:
    adapter = get_adapter(name)
    with pytest.raises(CorpusLayoutError, match="Expected layout") as err:
        adapter.index(tmp_path)
    assert adapter.layout in str(err.value)
    with pytest.raises(CorpusLayoutError, match="does not exist"):
        adapter.index(tmp_path / "nope")


def test_missing_file_listed_in_sheet(broken) -> None:
    root = broken("baum1s")
    victim = root / "BAUM1s_MP4 - All" / "s003" / "S003_002.mp4"
    victim.unlink()
    with pytest.raises(CorruptInputError, match=r"S003_002.mp4.*missing.*Annotations_BAUM1s"):
        get_adapter("baum1s").index(root)
    root = broken("omg_emotion")
    victim = next(root.rglob("utterance_3.mp4"))
    victim.unlink()
    with pytest.raises(CorruptInputError, match=f"{victim.parent.name}/utterance_3.mp4"):
        get_adapter("omg_emotion").index(root)


@pytest.mark.parametrize(
    ("name", "rel"),
    [("rml", "rml-1/s2/fe1.avi"), ("enterface05", "subject 6/fear/s6_fe_2.avi"),
     ("afew", None)],
)  # fmt: skip
def test_zero_byte_clip(broken, name: str, rel: str | None) -> None:
    root = broken(name)
    clip = root / rel if rel else next((root / "Val_AFEW" / "Fear").glob("*.avi"))
    clip.write_bytes(b"")
    with pytest.raises(CorruptInputError, match="empty") as err:
        get_adapter(name).index(root)
    assert err.value.path == clip


def test_class_folder_typo(broken) -> None:
    root = broken("enterface05")
    (root / "subject 3" / "anger").rename(root / "subject 3" / "angr")
    with pytest.raises(CorpusLayoutError, match="subject 3/angr"):
        get_adapter("enterface05").index(root)
    root = broken("afew")
    (root / "Train_AFEW" / "Angry").rename(root / "Train_AFEW" / "Angyr")
    with pytest.raises(CorpusLayoutError, match="Train_AFEW/Angyr"):
        get_adapter("afew").index(root)


def test_unknown_emotion_codes(broken) -> None:
    root = broken("rml")
    (root / "rml-1/s1/an1.avi").rename(root / "rml-1/s1/xx1.avi")
    with pytest.raises(CorruptInputError, match=r"xx1.avi.*'xx'"):
        get_adapter("rml").index(root)
    root = broken("baum1s")
    sheet = root / "Annotations_BAUM1s.csv"
    lines = sheet.read_text().splitlines()
    cells = lines[1].split(",")
    cells[5] = "42"
    lines[1] = ",".join(cells)
    sheet.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorruptInputError, match=r"Annotations_BAUM1s.csv.*'42'"):
        get_adapter("baum1s").index(root)
    root = broken("omg_emotion")
    sheet = root / "omg_ValidationVideos.csv"
    text = sheet.read_text().splitlines()
    text[1] = text[1].rsplit(",", 1)[0] + ",9"
    sheet.write_text("\n".join(text) + "\n")
    with pytest.raises(CorruptInputError, match=r"omg_ValidationVideos.csv.*'9'"):
        get_adapter("omg_emotion").index(root)


def test_baum_xlsx_only_asks_for_csv_export(broken) -> None:
    root = broken("baum1s")
    (root / "Annotations_BAUM1s.csv").rename(root / "Annotations_BAUM1s.xlsx")
    with pytest.raises(CorpusLayoutError, match="CSV export"):
        get_adapter("baum1s").index(root)
