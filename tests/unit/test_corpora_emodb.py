"""EmoDB: the adapter on its synthetic twin and on the real (processed) copy, LOSO, bad input."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from emorepro.corpora import get_adapter
from emorepro.corpora.emodb import LABELS, parse_name, read_ratings
from emorepro.errors import CorpusLayoutError, CorruptInputError
from emorepro.io import verify_checksums
from emorepro.protocols import make_sheet, protocols_for
from emorepro.synth import generate_corpus

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = get_adapter("emodb")


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("emodb")
    generate_corpus("emodb", root, scale="tiny", seed=5)
    return root


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_twin_has_the_real_layout_and_indexes(twin: Path) -> None:
    assert (twin / "erkennung.txt").is_file()
    frame = ADAPTER.index(twin)
    assert len(frame) == 70 and frame["subject"].nunique() == 10
    assert set(frame["emotion"]) == set(LABELS) and ADAPTER.labels == LABELS
    assert set(frame.groupby(["subject", "emotion"]).size()) == {1}
    assert frame["video_path"].isna().all() and set(frame["sample_rate"]) == {16000}
    assert frame["recognition"].between(70, 100).all()
    assert set(frame["gender"]) == {"F", "M"}


def test_twin_generation_is_deterministic(tmp_path: Path) -> None:
    # b: the same seed with utterances written in two worker processes
    for d, seed, threads in (("a", 1, 1), ("b", 1, 2), ("c", 2, 2)):
        generate_corpus("emodb", tmp_path / d, scale="tiny", seed=seed, threads=threads)
    a, b, c = (_hashes(tmp_path / d) for d in "abc")
    assert a and a == b and a != c


def test_loso_has_ten_speaker_disjoint_folds(twin: Path) -> None:
    assert protocols_for("emodb") == ["loso"]
    sheet = make_sheet("loso", ADAPTER.index(twin), seed=0)  # runs the leakage gate
    assert sheet["fold"].nunique() == 10
    for _, fold in sheet.groupby("fold"):
        assert fold.loc[fold["role"] == "test", "subject"].nunique() == 1


def test_real_copy_matches_its_checksums_and_the_corpus(emodb_copy: Path) -> None:
    root = emodb_copy
    assert verify_checksums(root) == []
    assert len(list((root / "wav").glob("*.wav"))) == 535
    frame = ADAPTER.index(root)
    counts = frame["emotion"].value_counts().to_dict()
    assert counts == {
        "anger": 127,
        "boredom": 81,
        "neutral": 79,
        "happiness": 71,
        "fear": 69,
        "sadness": 62,
        "disgust": 46,
    }
    assert sorted(frame["subject"].unique()) == [
        "03",
        "08",
        "09",
        "10",
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
    ]
    assert frame["recognition"].notna().all() and frame["recognition"].min() >= 80


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("03a01Xa.wav", "unknown EmoDB emotion letter 'X'"),
        ("3a01Wa.wav", "not an EmoDB file name"),
    ],
)
def test_bad_file_names_are_named(name: str, words: str) -> None:
    with pytest.raises(CorruptInputError, match=words) as err:
        parse_name(Path("wav") / name)
    assert name in str(err.value) and "Fix:" in str(err.value)


def test_bad_copies_stop_the_index_naming_the_file(twin: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(twin, copy)
    victim = sorted((copy / "wav").glob("*.wav"))[0]
    victim.write_bytes(b"")
    with pytest.raises(CorruptInputError, match=rf"{victim.name}: file is empty"):
        ADAPTER.index(copy)
    victim.write_text("this is not audio")
    with pytest.raises(CorruptInputError, match=rf"{victim.name}: not a readable audio file"):
        ADAPTER.index(copy)
    victim.rename(victim.with_name("08a01Qa.wav"))
    with pytest.raises(CorruptInputError, match=r"08a01Qa\.wav: unknown EmoDB emotion letter"):
        ADAPTER.index(copy)
    shutil.rmtree(copy / "wav")
    with pytest.raises(CorpusLayoutError, match=r"folder wav/ not found.*Expected layout"):
        ADAPTER.index(copy)


def test_ratings_file_with_a_broken_number_is_named(tmp_path: Path) -> None:
    path = tmp_path / "erkennung.txt"
    path.write_text("Nr.\tSatz\terkannt\tnatuerlich\n1\t03a01Fa.wav\t90,00\tviel\n", "latin-1")
    with pytest.raises(CorruptInputError, match=r"erkennung\.txt: line 2"):
        read_ratings(path)


def test_checksum_check_names_a_changed_or_missing_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "SHA256SUMS").write_text(
        f"{hashlib.sha256(b'a').hexdigest()}  a.txt\n{'0' * 64}  b.txt\n"
    )
    assert verify_checksums(tmp_path) == [f"{tmp_path / 'b.txt'}: missing"]
    (tmp_path / "a.txt").write_text("changed")
    assert "a.txt: SHA-256 differs" in verify_checksums(tmp_path)[0]
