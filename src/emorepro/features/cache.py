"""Cache keys of the feature extractors: what a cached feature file was computed with.

A feature cache lives under ``<cache_dir>/<key>/<corpus>/<item>``. The key names everything
that decides the cached bytes, so a change to any of it selects a fresh directory instead of
reusing stale features:

``key = sha256(canonical_json({"extractor": name, "config": config, "libraries": {dist:
version(dist)}, "code": {name: sha256(source)}}))[:16]``

* ``extractor``: the extractor's name (e.g. ``"opensmile:eGeMAPSv02"``, ``"faces"``);
* ``config``: its parameters (JSON values only; a model file enters as its digest);
* ``libraries``: the installed version (:func:`importlib.metadata.version`) of every
  third-party distribution the extractor runs, e.g. ``opensmile``, ``dlib-bin``,
  ``opencv-python-headless``, ``av``; only those, so a dlib upgrade leaves the openSMILE
  caches valid and an openSMILE upgrade leaves the face caches valid;
* ``code``: the SHA-256 of the source of every emorepro module (its file's bytes) or
  function (:func:`inspect.getsource`) the extractor runs, keyed by its qualified name, so an
  edit of our extractor code invalidates its caches.

``canonical_json`` is :func:`json.dumps` with sorted keys, ``(",", ":")`` separators and
ASCII output.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType


def library_versions(libraries: Sequence[str]) -> dict[str, str]:
    """The installed version of each distribution (``PackageNotFoundError`` if absent)."""
    return {dist: metadata.version(dist) for dist in libraries}


def code_digest(code: ModuleType | Callable[..., object]) -> str:
    """SHA-256 (hex) of a module's file bytes, or of a function's or class's source text."""
    if isinstance(code, ModuleType):
        if not getattr(code, "__file__", None):
            raise ValueError(f"module {code.__name__} has no source file to digest")
        return hashlib.sha256(Path(str(code.__file__)).read_bytes()).hexdigest()
    return hashlib.sha256(inspect.getsource(code).encode("utf-8")).hexdigest()


def _code_name(code: ModuleType | Callable[..., object]) -> str:
    if isinstance(code, ModuleType):
        return code.__name__
    return f"{code.__module__}.{code.__qualname__}"


def cache_key(
    extractor: str,
    *,
    config: Mapping[str, object],
    libraries: Sequence[str],
    modules: Sequence[ModuleType | Callable[..., object]],
) -> str:
    """16 hex digits naming a feature cache (formula in the module docstring).

    ``modules`` are the emorepro modules (whole files) or single functions whose code
    computes the cached values. ``config`` must be JSON-serialisable (``TypeError``
    otherwise), so that equal keys mean equal parameters.
    """
    payload = {
        "extractor": extractor,
        "config": dict(config),
        "libraries": library_versions(libraries),
        "code": {_code_name(m): code_digest(m) for m in modules},
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:16]
