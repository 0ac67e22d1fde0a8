"""TFRecord framing, crc32c and tf.train.Example wire format; the YouTube-8M twin/adapter."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from emorepro.corpora.tfrecord import (
    crc32c,
    decode_example,
    encode_example,
    masked_crc32c,
    read_records,
    write_records,
)
from emorepro.corpora.yt8m import ADAPTER
from emorepro.errors import CorpusLayoutError, CorruptInputError
from emorepro.synth.layouts import yt8m


def test_crc32c_vectors() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 B.4: 32 bytes of zeros
    assert masked_crc32c(b"") == 0xA282EAD8


def test_example_round_trip(tmp_path: Path) -> None:
    rgb = np.linspace(-1, 1, 1024, dtype=np.float32)
    ex = encode_example(
        bytes_features={"id": [b"Ab3x"]},
        int64_features={"labels": [0, 5, 3861, -2]},
        float_features={"mean_rgb": rgb, "empty": []},
    )
    path = tmp_path / "x.tfrecord"
    write_records(path, [ex, b"", ex])
    recs = list(read_records(path))
    assert recs == [ex, b"", ex]
    got = decode_example(recs[0])
    assert got["id"] == [b"Ab3x"]
    assert got["labels"] == [0, 5, 3861, -2]
    np.testing.assert_array_equal(got["mean_rgb"], rgb)
    assert len(got["empty"]) == 0


def test_corrupt_record(tmp_path: Path) -> None:
    path = tmp_path / "x.tfrecord"
    write_records(path, [encode_example(bytes_features={"id": [b"a"]})] * 3)
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    with pytest.raises(CorruptInputError, match=r"x\.tfrecord.*truncated"):
        list(read_records(path))
    flipped = bytearray(data)
    flipped[20] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with pytest.raises(CorruptInputError, match=r"x\.tfrecord.*CRC"):
        list(read_records(path))


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("yt8m")
    yt8m.generate(root, scale="tiny", seed=3)
    return root


def test_twin_layout_and_index(twin: Path) -> None:
    assert sorted(p.name for p in twin.iterdir()) == [
        "train0000.tfrecord",
        "train0001.tfrecord",
        "validate0000.tfrecord",
    ]
    ix = ADAPTER.index(twin)
    cfg = yt8m.SCALES["tiny"]
    assert len(ix) == cfg["n_train"] + cfg["n_validate"]
    assert (ix["item_id"] == ix["subject"]).all()
    assert set(ix["partition"]) == {"train", "dev"}
    labels = [int(x) for s in ix["labels"] for x in s.split()]
    assert 0 <= min(labels) and max(labels) < 3862
    assert len(set(labels)) <= cfg["n_classes_active"]
    assert 2.0 < len(labels) / len(ix) < 4.0
    rec = next(ADAPTER.read_records(twin / "train0000.tfrecord"))
    assert rec["mean_rgb"].shape == (1024,) and rec["mean_audio"].shape == (128,)


def test_twin_deterministic(twin: Path, tmp_path: Path) -> None:
    yt8m.generate(tmp_path, scale="tiny", seed=3)
    for p in twin.iterdir():
        assert hashlib.sha256(p.read_bytes()).digest() == (
            hashlib.sha256((tmp_path / p.name).read_bytes()).digest()
        )


def test_adapter_errors(twin: Path, tmp_path: Path) -> None:
    with pytest.raises(CorpusLayoutError, match="Expected layout"):
        ADAPTER.index(tmp_path / "missing")
    with pytest.raises(CorpusLayoutError, match="no train"):
        ADAPTER.index(tmp_path)
    data = (twin / "validate0000.tfrecord").read_bytes()
    (tmp_path / "validate0000.tfrecord").write_bytes(data[:-7])
    with pytest.raises(CorruptInputError, match=r"validate0000\.tfrecord"):
        ADAPTER.index(tmp_path)
