"""Reading speed of emorepro's TFRecord reader against the ``tfrecord`` package, same shards.

    python benchmarks/tfrecord_speed.py [--scale small|full] [--seed 0] [--repeat 3]
    python benchmarks/tfrecord_speed.py --shards /data/yt8m/video [--limit 20]

Without ``--shards`` the YouTube-8M synthetic twin (:mod:`emorepro.synth.layouts.yt8m`) is
generated into a temporary folder; with it, the ``train*.tfrecord`` / ``validate*.tfrecord``
shards of that folder are read (the first ``--limit`` of them). Every record of every shard is
read by each reader; the figure is the best of ``--repeat`` passes (page cache warm: the value
check below reads every shard first), as records/s and MB/s of shard bytes.

Readers:

(a) ``emorepro adapter``: :meth:`emorepro.corpora.yt8m.YT8MAdapter.read_records` (framing,
    both CRCs, ``tf.train.Example`` decode, feature validation), ``emorepro framing+decode``:
    :func:`~emorepro.corpora.tfrecord.read_records` + ``decode_example`` (no validation; the
    like-for-like match of the package's loader) and ``emorepro framing``: ``read_records``
    alone (framing + both CRCs);
(b) ``tfrecord pkg loader``: ``tfrecord.tfrecord_loader`` (protobuf ``example_pb2``) decoding
    ``id``, ``labels``, ``mean_rgb``, ``mean_audio``, and ``tfrecord pkg framing``:
    ``tfrecord.tfrecord_iterator`` alone. The package has no CRC option: it never checks them;
(c) each emorepro reader once per CRC-32C backend: ``python`` (the 256-entry table of
    :func:`emorepro.corpora.tfrecord.crc32c_python`) and ``google_crc32c`` (its C extension).

Before timing, every reader's values are checked against the emorepro adapter's, record by
record: ids, labels and the float32 bytes of both vectors must be identical ("same values").
Framing-only readers are checked by decoding their payloads with emorepro's decoder.
The last lines extrapolate each rate to the 7,688 real train + validate shards.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from emorepro.corpora import tfrecord as tfr
from emorepro.corpora.yt8m import YT8MAdapter
from emorepro.synth.layouts import yt8m as twin

REAL_SHARDS = 3844 + 3844  # train + validate shards of the real YouTube-8M v2 video level
FEATURES = {"id": "byte", "labels": "int", "mean_rgb": "float", "mean_audio": "float"}

Reader = Callable[[Path], Iterable[Any]]
Values = tuple[str, list[int], bytes, bytes]


@contextlib.contextmanager
def crc_backend(name: str) -> Iterator[None]:
    """Run emorepro's reader with CRC-32C backend ``name``: ``python``, ``google_crc32c``, ``""``
    (leave the default)."""
    saved = tfr._crc32c_c
    if not name:
        pass
    elif name == "python":
        tfr._crc32c_c = None
    elif saved is None:
        raise RuntimeError("google_crc32c's C extension is not available")
    try:
        yield
    finally:
        tfr._crc32c_c = saved


def google_crc32c_extend() -> Callable[[int, bytes], int] | None:
    try:
        import google_crc32c
    except ImportError:
        return None
    return google_crc32c.extend if google_crc32c.implementation == "c" else None


def tfrecord_package() -> Any:
    try:
        import tfrecord
    except ImportError:
        return None
    return tfrecord


# --------------------------------------------------------------------------- values


def adapter_values(rec: dict[str, Any]) -> Values:
    return (rec["id"], rec["labels"], rec["mean_rgb"].tobytes(), rec["mean_audio"].tobytes())


def payload_values(data: bytes) -> Values:
    return decoded_values(tfr.decode_example(bytes(data)))


def decoded_values(ex: dict[str, Any]) -> Values:
    return (
        ex["id"][0].decode(),
        list(ex["labels"]),
        np.asarray(ex["mean_rgb"], dtype="<f4").tobytes(),
        np.asarray(ex["mean_audio"], dtype="<f4").tobytes(),
    )


def framing_and_decode(path: Path) -> Iterator[dict[str, Any]]:
    """emorepro's framing + CRCs + ``decode_example``, without the adapter's validation."""
    for data in tfr.read_records(path):
        yield tfr.decode_example(data)


def package_values(rec: dict[str, Any]) -> Values:
    for key in ("mean_rgb", "mean_audio"):
        assert rec[key].dtype == np.float32, key
    return (
        bytes(rec["id"]).decode(),
        [int(x) for x in rec["labels"]],
        rec["mean_rgb"].tobytes(),
        rec["mean_audio"].tobytes(),
    )


def check_same(name: str, shards: list[Path], read: Reader, values: Callable, backend: str) -> None:
    """Assert that ``read`` gives the emorepro adapter's values (default backend) on every shard."""
    adapter = YT8MAdapter()
    for shard in shards:
        want = [adapter_values(r) for r in adapter.read_records(shard)]
        with crc_backend(backend):
            got = [values(r) for r in read(shard)]
        assert len(got) == len(want), f"{name}: {len(got)} != {len(want)} records in {shard}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert g == w, f"{name}: record {i} of {shard} differs"


# --------------------------------------------------------------------------- timing


def time_reader(shards: list[Path], read: Reader, repeat: int) -> tuple[int, float]:
    best = float("inf")
    n = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = 0
        for shard in shards:
            for _rec in read(shard):
                n += 1
        best = min(best, time.perf_counter() - t0)
    return n, best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", choices=("tiny", "small", "full"), default="small")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="timed passes; the best one counts")
    ap.add_argument("--shards", type=Path, help="a real YT8M video-level folder (no twin)")
    ap.add_argument("--limit", type=int, help="read only the first LIMIT shards")
    ap.add_argument(
        "--records-per-shard",
        type=int,
        nargs=2,
        default=(1000, 1300),
        metavar=("LOW", "HIGH"),
        help="assumed records per real shard, for the extrapolation (default 1000 1300)",
    )
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="yt8m-twin-") as tmp:
        if args.shards is None:
            root = Path(tmp)
            twin.generate(root, scale=args.scale, seed=args.seed)
            source = f"synthetic twin, scale {args.scale}, seed {args.seed}"
        else:
            root = args.shards
            source = str(root)
        shards = sorted(root.glob("train*.tfrecord")) + sorted(root.glob("validate*.tfrecord"))
        shards = shards[: args.limit] if args.limit else shards
        if not shards:
            print(f"no train*/validate*.tfrecord shards in {root}", file=sys.stderr)
            return 2
        size = sum(p.stat().st_size for p in shards)
        adapter = YT8MAdapter()

        readers: list[tuple[str, str, Reader, Callable]] = []
        backends = ["python"]
        if google_crc32c_extend() is None or tfr._crc32c_c is None:
            print("google_crc32c: not installed (or no C extension); python CRC only")
        else:
            backends.append("google_crc32c")
        for backend in backends:
            readers.append(
                (f"emorepro adapter [crc {backend}]", backend, adapter.read_records, adapter_values)
            )
            readers.append(
                (
                    f"emorepro framing+decode [crc {backend}]",
                    backend,
                    framing_and_decode,
                    decoded_values,
                )
            )
            readers.append(
                (f"emorepro framing [crc {backend}]", backend, tfr.read_records, payload_values)
            )
        pkg = tfrecord_package()
        if pkg is None:
            print("tfrecord package: not installed")
        else:
            readers.append(
                (
                    "tfrecord pkg loader [no crc]",
                    "",
                    lambda p: pkg.tfrecord_loader(str(p), None, FEATURES),
                    package_values,
                )
            )
            readers.append(
                (
                    "tfrecord pkg framing [no crc]",
                    "",
                    lambda p: pkg.tfrecord_iterator(str(p)),
                    payload_values,
                )
            )

        n_ref = sum(1 for s in shards for _ in adapter.read_records(s))
        print(f"shards: {len(shards)} from {source}; {n_ref} records, {size / 1e6:.1f} MB")
        print(f"emorepro CRC-32C default backend: {tfr.CRC32C_BACKEND}")
        if pkg is not None:
            print(
                f"tfrecord {version('tfrecord')} (protobuf {version('protobuf')}): reads but "
                "never verifies the length/data CRCs (no option to)"
            )
        rows = []
        for name, backend, read, values in readers:
            check_same(name, shards, read, values, backend)
            with crc_backend(backend):
                n, dt = time_reader(shards, read, args.repeat)
            assert n == n_ref, f"{name}: read {n} records, expected {n_ref}"
            rows.append((name, n / dt, size / dt / 1e6))

        print()
        print(f"{'reader':<44} {'records/s':>11} {'MB/s':>8}  same values")
        for name, rate, mbs in rows:
            print(f"{name:<44} {rate:>11,.0f} {mbs:>8.1f}  yes")

        low, high = args.records_per_shard
        print()
        print(
            f"extrapolated to {REAL_SHARDS:,} real shards at {low:,}-{high:,} records/shard "
            f"({REAL_SHARDS * low / 1e6:.1f}-{REAL_SHARDS * high / 1e6:.1f} M records; "
            "6.1 M videos is the whole corpus incl. test), one core, page cache warm:"
        )
        for name, rate, _ in rows:
            h_low, h_high = REAL_SHARDS * low / rate / 3600, REAL_SHARDS * high / rate / 3600
            print(
                f"  {name:<44} {h_low:6.2f}-{h_high:.2f} h = {60 * h_low:5.1f}-{60 * h_high:.1f} "
                f"min  (6.1 M records: {6.1e6 / rate / 3600:.2f} h)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
