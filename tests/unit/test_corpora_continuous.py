"""RECOLA twins (AVEC 2016 package, full release) read back by their adapters."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emorepro.corpora.recola import AVEC2016, FULL
from emorepro.errors import CorpusLayoutError, CorruptInputError
from emorepro.synth.layouts import recola_avec2016, recola_full


@pytest.fixture(scope="module")
def avec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("avec")
    recola_avec2016.generate(root, scale="tiny", seed=7)
    return root


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("full")
    recola_full.generate(root, scale="tiny", seed=7)
    return root


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_avec_layout_and_index(avec: Path) -> None:
    for rel in (
        "recordings_audio/train_1.wav",
        "recordings_video/test_9.mp4",
        "ratings_gold_standard/arousal/dev_5.arff",
        "ratings_gold_standard/valence/test_1.arff",
        "ratings_individual/arousal/train_9.csv",
    ):
        assert (avec / rel).is_file(), rel
    head = (avec / "ratings_gold_standard/arousal/train_1.arff").read_text().splitlines()
    assert "@attribute GoldStandard numeric" in head and head[9].startswith("train_1,0,")
    ix = AVEC2016.index(avec)
    assert len(ix) == 27
    assert ix["partition"].value_counts().to_dict() == {"train": 9, "dev": 9, "test": 9}
    assert set(ix["sample_rate"]) == {44100} and set(ix["fps"]) == {25.0}


def test_avec_labels(avec: Path) -> None:
    ix = AVEC2016.index(avec)
    n = round(recola_avec2016.SCALES["tiny"]["duration_s"] / 0.04) + 1
    for row in ix.to_dict(orient="records")[:3]:
        lab = AVEC2016.read_labels(avec, row)
        assert list(lab.columns) == ["time_s", "arousal", "valence"]
        assert len(lab) == n
        np.testing.assert_allclose(np.diff(lab["time_s"]), 0.04, atol=1e-6)
        assert lab[["arousal", "valence"]].abs().to_numpy().max() <= 1.0


def test_gold_standard_lags_audio_energy(avec: Path) -> None:
    """Cross-correlation of 40 ms RMS energy with arousal gold peaks at ~+2.4 s."""
    ix = AVEC2016.index(avec)
    max_lag = 100  # 4 s
    total = np.zeros(2 * max_lag + 1)
    for row in ix.to_dict(orient="records"):
        audio, sr = sf.read(avec / row["audio_path"], dtype="float64")
        hop = round(0.04 * sr)
        n = len(audio) // hop
        energy = np.log(np.sqrt((audio[: n * hop].reshape(n, hop) ** 2).mean(1)) + 1e-4)
        energy = np.convolve(energy, np.ones(25) / 25, mode="same")
        gold = AVEC2016.read_labels(avec, row)["arousal"].to_numpy()[:n]
        e = (energy - energy.mean()) / (energy.std() + 1e-12)
        g = (gold - gold.mean()) / (gold.std() + 1e-12)
        for i, lag in enumerate(range(-max_lag, max_lag + 1)):
            a, b = (e[: n - lag], g[lag:]) if lag >= 0 else (e[-lag:], g[: n + lag])
            total[i] += float(np.mean(a * b))
    peak_s = (int(np.argmax(total)) - max_lag) * 0.04
    assert 2.0 <= peak_s <= 2.8, peak_s


def test_full_layout_index_labels(full: Path) -> None:
    for rel in (
        "RECOLA-Audio-recordings/P16.wav",
        "RECOLA-Video-recordings/P61.mp4",
        "RECOLA-Annotation/emotional_behaviour/arousal/P16.csv",
        "RECOLA-Annotation/emotional_behaviour/valence/P30.csv",
        "RECOLA-Metadata/participants.csv",
    ):
        assert (full / rel).is_file(), rel
    header = (full / "RECOLA-Annotation/emotional_behaviour/arousal/P16.csv").open().readline()
    assert header.strip() == "time;FM1;FM2;FM3;FF1;FF2;FF3"
    ix = FULL.index(full)
    assert len(ix) == 46 and ix["subject"].nunique() == 46
    assert ix["partition"].isna().all()
    assert set(ix["gender"]) == {"F", "M"}
    assert ix["age"].notna().all() and set(ix["language"]) == {"French", "German", "Italian"}
    lab = FULL.read_labels(full, ix.iloc[0].to_dict())
    assert len(lab) == round(recola_full.SCALES["tiny"]["duration_s"] / 0.04) + 1
    assert lab[["arousal", "valence"]].abs().to_numpy().max() <= 1.0


def test_avec_deterministic(avec: Path, tmp_path: Path) -> None:
    """The same seed gives the same bytes, also with recordings in two worker processes."""
    recola_avec2016.generate(tmp_path, scale="tiny", seed=7, threads=2)
    assert _hashes(tmp_path) == _hashes(avec)


def test_full_same_for_any_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    micro = {**recola_full.SCALES["tiny"], "n_subjects": 3, "duration_s": 0.8}
    monkeypatch.setitem(recola_full.SCALES, "tiny", micro)
    for threads in (1, 2):
        recola_full.generate(tmp_path / str(threads), scale="tiny", seed=7, threads=threads)
    one = _hashes(tmp_path / "1")
    assert len(one) == 1 + 3 * 4 and one == _hashes(tmp_path / "2")


def test_broken_copies(avec: Path, full: Path, tmp_path: Path) -> None:
    with pytest.raises(CorpusLayoutError, match="Expected layout"):
        AVEC2016.index(tmp_path)  # empty folder
    with pytest.raises(CorpusLayoutError, match="Expected layout"):
        FULL.index(tmp_path)
    broken = tmp_path / "avec"
    shutil.copytree(avec, broken)
    arff = broken / "ratings_gold_standard/valence/dev_2.arff"
    lines = arff.read_text().splitlines()
    lines[20] = lines[20].rsplit(",", 1)[0] + ",NaN"
    arff.write_text("\n".join(lines) + "\n")
    row = AVEC2016.index(broken).set_index("item_id").loc["dev_2"].to_dict()
    with pytest.raises(CorruptInputError, match=r"dev_2\.arff: line 21"):
        AVEC2016.read_labels(broken, row)
    # a gold standard cut to its first half: shorter than its recording
    arff = broken / "ratings_gold_standard/arousal/dev_3.arff"
    lines = arff.read_text().splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.strip().lower() == "@data") + 1
    arff.write_text("\n".join(lines[: first + (len(lines) - first) // 2]) + "\n")
    row = AVEC2016.index(broken).set_index("item_id").loc["dev_3"].to_dict()
    with pytest.raises(CorruptInputError, match=r"dev_3\.arff: labels end at .* recording lasts"):
        AVEC2016.read_labels(broken, row)
    (broken / "recordings_audio/train_3.wav").unlink()
    with pytest.raises(CorruptInputError, match=r"train_3\.wav.*missing"):
        AVEC2016.index(broken)
    broken_full = tmp_path / "full"
    shutil.copytree(full, broken_full)
    (broken_full / "RECOLA-Audio-recordings/P20.wav").write_bytes(b"")
    with pytest.raises(CorruptInputError, match=r"P20\.wav.*empty"):
        FULL.index(broken_full)
