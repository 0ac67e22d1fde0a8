"""Feature cache keys: extractor, configuration, library versions and our code's source."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

from emorepro.features import cache
from emorepro.features.cache import cache_key, code_digest
from emorepro.steps import features as steps

REAL_VERSION = metadata.version


def _module(path: Path, text: str) -> ModuleType:
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pretend(monkeypatch: pytest.MonkeyPatch, **versions: str) -> None:
    """Make ``importlib.metadata.version`` report ``versions`` (``_`` for ``-`` in names)."""
    fake = {k.replace("_", "-"): v for k, v in versions.items()}

    def version(dist: str) -> str:
        return fake.get(dist) or REAL_VERSION(dist)

    monkeypatch.setattr(cache.metadata, "version", version)


@pytest.fixture
def extractor(tmp_path: Path) -> ModuleType:
    return _module(tmp_path / "extractor_v1.py", "def run(x):\n    return x + 1\n")


def test_key_is_stable_and_config_sensitive(extractor: ModuleType) -> None:
    def key(**config: object) -> str:
        return cache_key("demo", config=config, libraries=("numpy",), modules=(extractor,))

    a = key(window_s=8.0, hop_s=0.04)
    assert a == key(hop_s=0.04, window_s=8.0)
    assert len(a) == 16 and int(a, 16) >= 0
    assert a != key(window_s=4.0, hop_s=0.04)
    assert a != cache_key("other", config={"window_s": 8.0, "hop_s": 0.04},
                          libraries=("numpy",), modules=(extractor,))  # fmt: skip
    with pytest.raises(TypeError):
        key(path=Path("x"))


def test_key_changes_with_a_library_version(
    extractor: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def key() -> str:
        return cache_key("demo", config={}, libraries=("numpy", "scipy"), modules=(extractor,))

    before = key()
    _pretend(monkeypatch, scipy="0.0.1")
    assert key() != before
    monkeypatch.undo()
    assert key() == before
    with pytest.raises(metadata.PackageNotFoundError):
        cache_key("demo", config={}, libraries=("no-such-dist-emorepro",), modules=())


def test_key_changes_with_the_code(extractor: ModuleType, tmp_path: Path) -> None:
    def key(*code: ModuleType | Callable[..., object]) -> str:
        return cache_key("demo", config={}, libraries=(), modules=code)

    before, digest = key(extractor), code_digest(extractor)
    Path(str(extractor.__file__)).write_text("def run(x):\n    return x + 2\n")
    assert code_digest(extractor) != digest and key(extractor) != before
    # a function counts by its own source only
    fn_key = key(steps.faces_cache_key)
    assert fn_key == key(steps.faces_cache_key) and fn_key != key(steps.logmel_cache_key)


def test_face_key_follows_opencv_not_opensmile(monkeypatch: pytest.MonkeyPatch) -> None:
    before = steps.faces_cache_key("zhang")
    assert before != steps.faces_cache_key("tzirakis")
    # crops of every frame and crops at 5 frames per second are different caches
    assert steps.faces_cache_key("zhang", 5.0) not in (before, steps.faces_cache_key("zhang", 6))
    _pretend(monkeypatch, opensmile="0.0.1", dlib_bin="0.0.1")
    assert steps.faces_cache_key("zhang") == before
    _pretend(monkeypatch, opencv_python_headless="0.0.1")
    assert steps.faces_cache_key("zhang") != before


def _opensmile_keys() -> list[str]:
    return [
        steps.opensmile_cache_key("eGeMAPSv02", "functionals"),
        steps.opensmile_cache_key("eGeMAPSv02", "windowed", window_s=8.0, hop_s=0.04),
        steps.opensmile_cache_key("eGeMAPSv02", "lld_label_rate"),
    ]


def test_opensmile_keys_follow_opensmile_not_dlib(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _opensmile_keys()
    assert len(set(before)) == 3
    assert before[1] != steps.opensmile_cache_key("eGeMAPSv02", "windowed", window_s=4.0,
                                                  hop_s=0.04)  # fmt: skip
    assert before[0] != steps.opensmile_cache_key("ComParE_2016", "functionals")
    _pretend(monkeypatch, dlib_bin="0.0.1", opencv_python_headless="0.0.1")
    assert _opensmile_keys() == before
    _pretend(monkeypatch, opensmile="0.0.1")
    assert all(a != b for a, b in zip(_opensmile_keys(), before, strict=True))


def test_logmel_key_ignores_opensmile(monkeypatch: pytest.MonkeyPatch) -> None:
    before = steps.logmel_cache_key(length=64, shift=30)
    assert before != steps.logmel_cache_key(length=15, shift=7)
    _pretend(monkeypatch, opensmile="0.0.1", dlib_bin="0.0.1")
    assert steps.logmel_cache_key(length=64, shift=30) == before
    _pretend(monkeypatch, scipy="0.0.1")
    assert steps.logmel_cache_key(length=64, shift=30) != before


def test_landmark_keys_follow_dlib_and_the_model_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dat = tmp_path / "model.dat"
    dat.write_bytes(b"model v1")
    groups = {"mouth": (0, 1), "left_eye": (2,)}
    model = SimpleNamespace(source=str(dat), reference=np.eye(3, 2), groups=groups)

    def keys() -> tuple[str, str]:
        return (
            steps.video_cache_key(model, window_s=8.0),  # type: ignore[arg-type]
            steps.landmark_frames_cache_key(model),  # type: ignore[arg-type]
        )

    before = keys()
    assert before[0] != steps.video_cache_key(model, window_s=4.0)  # type: ignore[arg-type]
    _pretend(monkeypatch, opensmile="0.0.1")
    assert keys() == before
    _pretend(monkeypatch, dlib_bin="0.0.1")
    assert all(a != b for a, b in zip(keys(), before, strict=True))
    monkeypatch.undo()
    dat.write_bytes(b"model v2")
    assert all(a != b for a, b in zip(keys(), before, strict=True))
    dat.write_bytes(b"model v1")
    model.reference = np.eye(3, 2) * 2
    assert all(a != b for a, b in zip(keys(), before, strict=True))
