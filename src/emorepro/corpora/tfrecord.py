"""TFRecord files of ``tf.train.Example`` records, read and written without TensorFlow.

Record framing (TensorFlow ``core/lib/io/record_writer.cc``), all integers little-endian::

    uint64 length
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

with ``masked(c) = ((c >> 15) | (c << 17)) + 0xA282EAD8 (mod 2**32)`` and CRC-32C (Castagnoli,
reflected polynomial ``0x82F63B78``), computed here with a 256-entry table.

``tf.train.Example`` protobuf wire format (``example.proto`` / ``feature.proto``)::

    Example  { Features features = 1; }
    Features { map<string, Feature> feature = 1; }   # entries: {string key = 1; Feature value = 2;}
    Feature  { oneof { BytesList bytes_list = 1; FloatList float_list = 2;
                       Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }
    FloatList { repeated float value = 1 [packed]; }   # packed and unpacked are both read
    Int64List { repeated int64 value = 1 [packed]; }

The writer emits map entries sorted by key, so the same features give the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from emorepro.errors import CorruptInputError

_POLY = 0x82F63B78
_MASK_DELTA = 0xA282EAD8


def _make_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_TABLE = _make_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C of ``data`` (continuing from ``crc``).

    >>> hex(crc32c(b"123456789"))
    '0xe3069283'
    """
    table = _TABLE
    c = crc ^ 0xFFFFFFFF
    for byte in data:
        c = table[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C that TFRecord stores."""
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + _MASK_DELTA) & 0xFFFFFFFF


# --------------------------------------------------------------------------- record framing


def write_records(path: Path | str, records: Iterable[bytes]) -> None:
    """Write ``records`` as one TFRecord file (no compression)."""
    with open(path, "wb") as fh:
        for data in records:
            header = struct.pack("<Q", len(data))
            fh.write(header)
            fh.write(struct.pack("<I", masked_crc32c(header)))
            fh.write(data)
            fh.write(struct.pack("<I", masked_crc32c(data)))


def read_records(path: Path | str) -> Iterator[bytes]:
    """Yield the payload of every record in a TFRecord file, checking both CRCs.

    A truncated file or a CRC mismatch raises :class:`CorruptInputError` naming the file,
    the record number and its byte offset.
    """
    path = Path(path)
    fix = "re-download or regenerate this shard"
    with open(path, "rb") as fh:
        index = 0
        while True:
            offset = fh.tell()
            header = fh.read(8)
            if not header:
                return
            if len(header) < 8:
                raise CorruptInputError(
                    path, f"truncated record header (record {index}, byte {offset})", fix=fix
                )
            length_crc = fh.read(4)
            if len(length_crc) < 4 or struct.unpack("<I", length_crc)[0] != masked_crc32c(header):
                raise CorruptInputError(
                    path, f"bad length CRC (record {index}, byte {offset})", fix=fix
                )
            (length,) = struct.unpack("<Q", header)
            data = fh.read(length)
            data_crc = fh.read(4)
            if len(data) < length or len(data_crc) < 4:
                raise CorruptInputError(
                    path, f"truncated record data (record {index}, byte {offset})", fix=fix
                )
            if struct.unpack("<I", data_crc)[0] != masked_crc32c(data):
                raise CorruptInputError(
                    path, f"bad data CRC (record {index}, byte {offset})", fix=fix
                )
            yield data
            index += 1


# --------------------------------------------------------------------------- protobuf wire format


def _varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # negative int64 -> two's complement, 10 bytes
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError("varint too long")


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """Yield ``(field number, wire type, value)`` of a serialized message."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
            yield number, wire, value
        elif wire == 2:
            size, pos = _read_varint(buf, pos)
            if pos + size > len(buf):
                raise ValueError("truncated length-delimited field")
            yield number, wire, buf[pos : pos + size]
            pos += size
        elif wire == 5:
            if pos + 4 > len(buf):
                raise ValueError("truncated fixed32 field")
            yield number, wire, buf[pos : pos + 4]
            pos += 4
        elif wire == 1:
            if pos + 8 > len(buf):
                raise ValueError("truncated fixed64 field")
            yield number, wire, buf[pos : pos + 8]
            pos += 8
        else:
            raise ValueError(f"unsupported wire type {wire}")


FeatureValue = list[bytes] | list[int] | np.ndarray


def encode_example(
    *,
    bytes_features: Mapping[str, Sequence[bytes]] | None = None,
    float_features: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    int64_features: Mapping[str, Sequence[int]] | None = None,
) -> bytes:
    """Serialize a ``tf.train.Example``; floats are stored as float32 (packed)."""
    entries: dict[str, bytes] = {}
    for key, values in (bytes_features or {}).items():
        entries[key] = _field(1, b"".join(_field(1, bytes(v)) for v in values))
    for key, values in (float_features or {}).items():
        packed = np.asarray(values, dtype="<f4").tobytes()
        entries[key] = _field(2, _field(1, packed) if packed else b"")
    for key, values in (int64_features or {}).items():
        packed = b"".join(_varint(int(v)) for v in values)
        entries[key] = _field(3, _field(1, packed) if packed else b"")
    features = b"".join(
        _field(1, _field(1, key.encode()) + _field(2, entries[key])) for key in sorted(entries)
    )
    return _field(1, features)


def _decode_feature(buf: bytes) -> FeatureValue:
    for number, _wire, value in _fields(buf):
        assert isinstance(value, bytes)
        if number == 1:
            return [bytes(v) for n, _, v in _fields(value) if n == 1]  # type: ignore[arg-type]
        if number == 2:
            parts: list[bytes] = []
            for n, _w, v in _fields(value):
                if n == 1:
                    parts.append(v)  # packed (wire 2) or a single fixed32 (wire 5)
            return np.frombuffer(b"".join(parts), dtype="<f4").astype(np.float32)
        if number == 3:
            ints: list[int] = []
            for n, w, v in _fields(value):
                if n != 1:
                    continue
                if w == 0:
                    ints.append(int(v))  # type: ignore[arg-type]
                else:
                    pos = 0
                    while pos < len(v):  # type: ignore[arg-type]
                        x, pos = _read_varint(v, pos)  # type: ignore[arg-type]
                        ints.append(x)
            return [x - (1 << 64) if x >= 1 << 63 else x for x in ints]
    return []


def decode_example(data: bytes) -> dict[str, FeatureValue]:
    """Parse a serialized ``tf.train.Example`` into ``{key: values}``.

    Values are ``list[bytes]`` (bytes_list), a float32 ``np.ndarray`` (float_list) or
    ``list[int]`` (int64_list). Malformed input raises ``ValueError``.
    """
    out: dict[str, FeatureValue] = {}
    for number, _, features in _fields(data):
        if number != 1 or not isinstance(features, bytes):
            continue
        for n, _, entry in _fields(features):
            if n != 1 or not isinstance(entry, bytes):
                continue
            key, value = "", b""
            for en, _, ev in _fields(entry):
                if en == 1 and isinstance(ev, bytes):
                    key = ev.decode()
                elif en == 2 and isinstance(ev, bytes):
                    value = ev
            out[key] = _decode_feature(value)
    return out
