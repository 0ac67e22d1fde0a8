"""emorepro.parallel.ordered_map: results in input order for any thread count, worker errors
raised again in the caller, each worker held to one thread."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from emorepro.errors import CorpusLayoutError, CorruptInputError
from emorepro.parallel import can_fork, ordered_map

needs_fork = pytest.mark.skipif(not can_fork(), reason="no fork start method here")


def _draw(item: tuple[int, str]) -> tuple[str, float, int]:
    """Per-item work seeded from the item only, as every caller's must be."""
    seed, name = item
    rng = np.random.default_rng([seed, len(name), *map(ord, name)])
    return name, float(rng.normal()), os.getpid()


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_results_in_input_order_and_independent_of_threads(threads: int) -> None:
    items = [(7, f"rec_{k}") for k in range(11)]
    got = list(ordered_map(_draw, items, threads=threads))
    ref = [_draw(item) for item in items]
    assert [g[:2] for g in got] == [r[:2] for r in ref]
    pids = {g[2] for g in got}
    if threads == 1 or not can_fork():
        assert pids == {os.getpid()}
    else:
        assert os.getpid() not in pids and 1 <= len(pids) <= threads


@needs_fork
def test_closures_run_in_workers_and_items_are_read_lazily() -> None:
    offset = 100
    seen: list[int] = []

    def items():
        for k in range(6):
            seen.append(k)
            yield k

    results = ordered_map(lambda k: (k + offset, os.getpid()), items(), threads=2, ahead=2)
    first = next(results)
    assert first[0] == 100 and first[1] != os.getpid()
    assert len(seen) < 6  # at most ``ahead`` items beyond the one consumed
    assert [r[0] for r in results] == [101, 102, 103, 104, 105]


def test_single_item_or_empty_runs_here() -> None:
    assert list(ordered_map(lambda k: (k, os.getpid()), [3], threads=2)) == [(3, os.getpid())]
    assert list(ordered_map(lambda k: k, [], threads=2)) == []


def _fail_on(bad: str):
    def one(name: str) -> str:
        if name == bad:
            raise CorruptInputError(Path("/corpus") / f"{name}.mp4", "no frames", fix="replace it")
        return name

    return one


@pytest.mark.parametrize("threads", [1, 2])
def test_worker_error_keeps_type_message_and_path(threads: int) -> None:
    names = [f"clip_{k}" for k in range(5)]
    done: list[str] = []
    with pytest.raises(CorruptInputError, match=r"clip_3\.mp4: no frames\. Fix: replace it") as err:
        for name in ordered_map(_fail_on("clip_3"), names, threads=threads):
            done.append(name)
    assert err.value.path == Path("/corpus/clip_3.mp4")
    assert done == names[:3]  # every result before the failing item, none after


def test_errors_survive_pickling() -> None:
    err = pickle.loads(pickle.dumps(CorruptInputError("/x/a.wav", "empty", fix="re-export")))
    assert type(err) is CorruptInputError and err.path == Path("/x/a.wav")
    assert str(err) == "/x/a.wav: empty. Fix: re-export"
    layout = pickle.loads(pickle.dumps(CorpusLayoutError("rml", "/r", "no clips", expected="E")))
    assert layout.root == Path("/r") and str(layout).endswith("Expected layout: E")


def _threads_seen(_: int) -> tuple[int, str, str]:
    import cv2

    return cv2.getNumThreads(), os.environ["OMP_NUM_THREADS"], os.environ["OPENCV_FOR_THREADS_NUM"]


@needs_fork
def test_each_worker_holds_to_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2

    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        assert set(ordered_map(_threads_seen, range(4), threads=2)) == {(1, "1", "1")}
        assert cv2.getNumThreads() == 2  # the caller's own pools are left alone
    finally:
        cv2.setNumThreads(before)


FORK_AFTER_OPENCV_RAN = """
import cv2, numpy as np
from emorepro.parallel import ordered_map
img = np.random.default_rng(0).integers(0, 255, (1500, 1500, 3), dtype=np.uint8)
cv2.setNumThreads(2)
for _ in range(5):
    cv2.GaussianBlur(img, (0, 0), 5)  # the caller's OpenCV pool has run
def one(k):
    return int(cv2.GaussianBlur(img, (0, 0), 3 + k).sum()), cv2.getNumThreads()
got = list(ordered_map(one, range(4), threads=2))
assert got == [(int(cv2.GaussianBlur(img, (0, 0), 3 + k).sum()), 1) for k in range(4)], got
assert cv2.getNumThreads() == 2
print("ok")
"""


@needs_fork
def test_workers_forked_after_the_callers_opencv_pool_ran_do_not_hang() -> None:
    """A one-process run then a two-process run in one interpreter (as a test session or a
    benchmark does): resizing the inherited OpenCV pool in the child used to hang forever."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run([sys.executable, "-c", FORK_AFTER_OPENCV_RAN], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
