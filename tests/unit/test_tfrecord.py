"""TFRecord framing, crc32c and tf.train.Example wire format; the YouTube-8M twin/adapter."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from emorepro.corpora import tfrecord
from emorepro.corpora.tfrecord import (
    crc32c,
    crc32c_python,
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


_FAST = tfrecord._crc32c_c  # google_crc32c.extend (C extension) or None


def test_the_pinned_fast_crc_backend_is_active() -> None:
    """google-crc32c is a pinned dependency: without its C extension the reader falls back to
    the pure-Python CRC, about 20x slower on YouTube-8M shards (benchmarks/tfrecord_speed.py)."""
    assert _FAST is not None and tfrecord.CRC32C_BACKEND == "google_crc32c"


@pytest.fixture(params=["python", "google_crc32c"])
def crc_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once with the pure-Python CRC and once with google_crc32c's C extension."""
    if request.param == "python":
        monkeypatch.setattr(tfrecord, "_crc32c_c", None)
    return request.param


def test_crc32c_backend_vectors(crc_backend: str) -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(bytearray(b"123456789")) == crc32c(memoryview(b"123456789")) == 0xE3069283
    assert crc32c(b"56789", crc32c(b"1234")) == 0xE3069283  # continuation


def test_crc32c_fast_and_fallback_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tfrecord.CRC32C_BACKEND == "google_crc32c"
    rng = np.random.default_rng(11)
    sizes = [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 63, 64, 255, 1024, 4711, *rng.integers(0, 9000, 20)]
    blobs = [rng.integers(0, 256, int(n), dtype=np.uint8).tobytes() for n in sizes]
    fast = [(crc32c(b), masked_crc32c(b), crc32c(b[1:], crc32c(b[:1]))) for b in blobs]
    monkeypatch.setattr(tfrecord, "_crc32c_c", None)
    slow = [(crc32c(b), masked_crc32c(b), crc32c(b[1:], crc32c(b[:1]))) for b in blobs]
    assert fast == slow
    assert [crc32c_python(b) for b in blobs] == [_FAST(0, b) for b in blobs]
    assert all(f[0] == f[2] for f in fast)


def test_corrupt_byte_raises_with_each_backend(crc_backend: str, tmp_path: Path) -> None:
    path = tmp_path / "shard.tfrecord"
    records = [encode_example(bytes_features={"id": [b"v%d" % i]}) for i in range(3)]
    write_records(path, records)
    assert list(read_records(path)) == records
    data = path.read_bytes()
    second = 16 + len(records[0])  # byte offset of record 1
    for where, what in ((second + 12 + 3, "bad data CRC"), (second + 2, "bad length CRC")):
        flipped = bytearray(data)
        flipped[where] ^= 0x01
        path.write_bytes(bytes(flipped))
        with pytest.raises(
            CorruptInputError, match=rf"shard\.tfrecord.*{what} \(record 1, byte {second}\)"
        ):
            list(read_records(path))


def test_decode_general_forms_match_canonical() -> None:
    """Unpacked values, split lists and reordered fields take the general path, same values."""
    f, v = tfrecord._field, tfrecord._varint
    canonical = decode_example(
        encode_example(
            bytes_features={"id": [b"a", b"bc"]},
            int64_features={"labels": [5, -1, 300, 7]},
            float_features={"x": np.array([1.5, 2.0, 3.0], dtype=np.float32)},
        )
    )
    ints = f(3, v(1 << 3) + v(5) + v(1 << 3) + v(2**64 - 1) + f(1, v(300) + v(7)))
    floats = f(2, v(1 << 3 | 5) + struct.pack("<f", 1.5) + f(1, struct.pack("<2f", 2.0, 3.0)))
    strings = f(1, f(1, b"a") + f(1, b"bc"))
    entries = f(2, strings) + f(1, b"id"), f(1, b"labels") + f(2, ints), f(1, b"x") + f(2, floats)
    general = decode_example(b"".join(f(1, f(1, e)) for e in entries))  # three Features
    assert general.keys() == canonical.keys()
    assert general["id"] == canonical["id"] == [b"a", b"bc"]
    assert general["labels"] == canonical["labels"] == [5, -1, 300, 7]
    np.testing.assert_array_equal(general["x"], canonical["x"])
    assert general["x"].dtype == canonical["x"].dtype == np.float32
    with pytest.raises(ValueError, match="wire type 0"):  # was an AssertionError
        decode_example(f(1, f(1, f(1, b"k") + f(2, v(3 << 3) + v(5)))))


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
