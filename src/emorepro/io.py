"""Atomic file writes and the small readers every step shares.

Every writer builds its file beside the target (``.<name>.tmp``) and moves it into place
with :func:`os.replace`, so an output path holds either a complete file or nothing new: a
killed job, a full disk or an exception never leaves a partial file under the final name.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def atomic_write(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` for a temporary path beside ``path``, then rename it to ``path``.

    The temporary file is removed if ``write`` raises (the exception propagates), so nothing
    is left behind at either path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):  # the writer's message rarely names it
            raise OSError(
                err.errno,
                f"{os.strerror(err.errno)} while writing {path}: nothing was written there "
                f"(an earlier version, if any, is unchanged); free space on {path.parent} "
                "and run again",
                str(path),
            ) from err
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: Path | str, data: Mapping[str, Any]) -> Path:
    """Write JSON atomically: keys sorted, indent 2, floats as Python ``repr``."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path | str) -> Any:
    """Parse a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_parquet(path: Path | str, frame: pd.DataFrame) -> Path:
    """Write a data frame as Parquet (without its index) atomically."""
    return atomic_write(path, lambda p: frame.to_parquet(p, index=False))


def write_csv(path: Path | str, frame: pd.DataFrame) -> Path:
    """Write a data frame as CSV (without its index) atomically."""
    return atomic_write(path, lambda p: frame.to_csv(p, index=False))


def write_npz(path: Path | str, arrays: Mapping[str, np.ndarray], *, compress: bool = True) -> Path:
    """Write arrays as an ``.npz`` atomically (zlib-compressed unless ``compress`` is false:
    for small arrays of incompressible floats the compression is pure cost)."""

    def write(p: Path) -> None:
        with p.open("wb") as fh:
            (np.savez_compressed if compress else np.savez)(fh, **arrays)

    return atomic_write(path, write)


def read_npz(path: Path | str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, loaded into memory."""
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def read_cache_arrays(path: Path | str, keys: tuple[str, ...], *, rule: str) -> list[np.ndarray]:
    """The arrays ``keys`` of a cached ``.npz`` written by Snakemake rule ``rule``; an
    unreadable file or a missing array raises :class:`CorruptInputError` naming the file, the
    problem and the fix (delete it, rerun the rule)."""
    from emorepro.errors import CorruptInputError

    try:
        with np.load(path) as data:
            return [data[k] for k in keys]
    except (OSError, KeyError, ValueError) as err:
        raise CorruptInputError(
            path, f"unreadable {rule} cache file ({err})", fix=f"delete it and rerun rule {rule}"
        ) from None


def cached_arrays(
    path: Path, compute: Callable[[], Mapping[str, np.ndarray]], *, compress: bool = True
) -> dict[str, np.ndarray]:
    """The arrays cached at ``path`` (``.npz``); computed and written when absent."""
    if path.exists():
        return read_npz(path)
    arrays = dict(compute())
    write_npz(path, arrays, compress=compress)
    return arrays


def verify_checksums(root: Path | str, sums: str = "SHA256SUMS") -> list[str]:
    """Check the files listed in ``<root>/<sums>`` (``sha256sum`` format: digest, two spaces,
    path relative to ``root``); returns the problems (missing or differing files), empty when
    every file matches."""
    root = Path(root)
    problems = []
    for line in (root / sums).read_text().splitlines():
        if not line.strip():
            continue
        digest, name = line.split(maxsplit=1)
        path = root / name.strip().lstrip("*")
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif file_digest(path, length=64) != digest.lower():
            problems.append(f"{path}: SHA-256 differs from {sums}")
    return problems


def file_digest(path: Path | str, *, length: int = 16) -> str:
    """The first ``length`` hex digits of the SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]
