"""Pretrained weights from a local file only (no downloads): checksum, safe load, key check.

Machines that run the benchmark may have no internet, so ImageNet weights are never fetched.
A user points the config at a local file (e.g. torchvision's ``resnet50-*.pth``); this module

* verifies its SHA-256 when one is given (a full 64-hex digest, or a prefix of at least 8 hex
  digits, the form torchvision puts in its file names);
* reads it with ``torch.load(..., map_location="cpu", weights_only=True)``, so the file cannot
  run code; a plain state dict or one nested under ``"state_dict"``/``"model"`` is accepted and
  a ``"module."`` prefix on every key (``DataParallel``) is removed;
* copies it into a module with :func:`apply_state_dict`, which names the file and the first
  missing, unexpected or wrongly shaped keys when the file does not fit the architecture.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from emorepro.errors import ConfigError, CorruptInputError

_HEX = re.compile(r"[0-9a-f]{8,64}")
_NESTED = ("state_dict", "model")
_SHOW = 5


def sha256_file(path: Path | str, *, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _check_sha256_arg(sha256: str) -> str:
    want = sha256.strip().lower()
    if not _HEX.fullmatch(want):
        raise ConfigError(
            f"sha256={sha256!r} is not a hex digest; give the 64 hex digits printed by "
            "`sha256sum FILE` (or at least their first 8)"
        )
    return want


def load_state_dict_file(path: Path | str, *, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """The tensors stored in ``path`` (CPU), after checking the checksum when ``sha256`` is given.

    Raises :class:`ConfigError` when the file is missing or ``sha256`` is malformed, and
    :class:`CorruptInputError` (naming the file) when the checksum differs, the file is not a
    ``weights_only``-loadable torch file, or it does not hold a ``{name: tensor}`` mapping.
    """
    path = Path(path)
    want = _check_sha256_arg(sha256) if sha256 is not None else None
    if not path.is_file():
        raise ConfigError(
            f"weights file {path} does not exist; put the pretrained state dict there "
            "(it is never downloaded) or leave the weights path empty to train from random "
            "initialisation"
        )
    if want is not None:
        got = sha256_file(path)
        if not got.startswith(want):
            raise CorruptInputError(
                path,
                f"SHA-256 is {got}, expected {want}" + ("..." if len(want) < 64 else ""),
                fix="replace the file with the intended download, or correct the configured sha256",
            )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CorruptInputError(
            path,
            "not loadable with torch.load(weights_only=True) "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
            "it is truncated, not a torch file, or pickles arbitrary objects",
            fix="save the weights as a plain state dict: torch.save(model.state_dict(), path)",
        ) from err
    if isinstance(obj, Mapping):
        for key in _NESTED:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj:
        raise CorruptInputError(
            path,
            f"holds {type(obj).__name__ if not isinstance(obj, Mapping) else 'an empty dict'}, "
            "not a state dict {name: tensor}",
            fix="save the weights with torch.save(model.state_dict(), path)",
        )
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CorruptInputError(
            path,
            f"entries that are not (str -> tensor): {bad[:_SHOW]}",
            fix="save the weights with torch.save(model.state_dict(), path)",
        )
    state = dict(obj)
    if all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def apply_state_dict(
    module: nn.Module,
    state: Mapping[str, torch.Tensor],
    *,
    source: Path | str,
    ignore_prefixes: Iterable[str] = (),
) -> None:
    """Copy ``state`` into ``module``; every parameter and buffer must be matched exactly.

    Keys starting with one of ``ignore_prefixes`` (e.g. ``"fc."``, the ImageNet classifier a
    trunk does not have) are dropped first. Missing, unexpected or wrongly shaped keys raise
    :class:`CorruptInputError` naming ``source`` and the first few offending keys.
    """
    prefixes = tuple(ignore_prefixes)
    kept = {k: v for k, v in state.items() if not (prefixes and k.startswith(prefixes))}
    own = module.state_dict()
    missing = sorted(set(own) - set(kept))
    unexpected = sorted(set(kept) - set(own))
    shapes = [
        f"{k} {tuple(kept[k].shape)} vs {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(kept))
        if tuple(kept[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[:_SHOW]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[:_SHOW]})")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches (file vs model, e.g. {shapes[:_SHOW]})")
        raise CorruptInputError(
            source,
            f"does not fit {type(module).__name__}: " + "; ".join(parts),
            fix="use weights saved from the same architecture (check the configured width, "
            "e.g. resnet50 vs resnet18)",
        )
    module.load_state_dict(kept, strict=True)
