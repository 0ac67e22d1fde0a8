"""Per-item work in forked worker processes, results in input order.

:func:`ordered_map` is the one loop behind every step that processes a corpus one recording
(or clip) at a time with a rule's ``threads``: ``fn(item)`` runs for each item in up to
``threads`` worker processes, each held to one thread of its own (:func:`hold_to_one_thread`),
and the results come back in the order of ``items``, so whatever the caller writes from them
is the same for any ``threads``. Randomness must come from the item (a generator seeded from
the item's id), never from state carried from one item to the next.

Workers are forked: they inherit the imported modules and ``fn`` itself (a closure is fine;
it is never pickled), and no Snakemake script's top level runs again as under ``spawn``.
Items and results are pickled, so keep both small (paths, ids, summaries): each worker holds
one item's data at a time and writes its large outputs itself. An exception in a worker is
raised again in the caller (an :class:`~emorepro.errors.EmoreproError` keeps its type, message
and file path); the items not yet started are cancelled.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain, islice
from typing import Any, TypeVar

from emorepro.runlog import limit_threads

A = TypeVar("A")
R = TypeVar("R")

#: environment variables that size the thread pools of BLAS, OpenMP and numexpr
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

_WORKER_FN: Callable[[Any], Any] | None = None


def can_fork() -> bool:
    """Whether worker processes can be forked here (not on Windows)."""
    return "fork" in mp.get_all_start_methods()


def hold_to_one_thread() -> None:
    """Hold this process' thread pools to one thread: OpenCV (:func:`limit_threads`; in a
    worker forked by :func:`ordered_map` it is at 1 already), BLAS and OpenMP pools already
    started (``threadpoolctl``, when installed), torch when imported, and the environment read
    by pools started later (and by child processes)."""
    for name in THREAD_ENV:
        os.environ[name] = "1"
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and cv2.getNumThreads() == 1:
        os.environ["OPENCV_FOR_THREADS_NUM"] = "1"  # resizing the pool again: see below
    else:
        limit_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        pass
    else:
        threadpool_limits(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


@contextlib.contextmanager
def _opencv_pool_stopped() -> Iterator[None]:
    """OpenCV at one thread while workers are forked, its former count restored after.

    A worker must not resize an OpenCV pool it inherited from a caller that has run it: the
    pool's threads did not survive the fork, and ``cv2.setNumThreads`` in the child then
    waits forever on their condition variable (seen with opencv-python-headless 4.x after a
    one-process run in the same interpreter). Stopping the pool here, where its threads
    exist, hands every worker a pool of one thread and nothing to wait for.
    """
    cv2 = sys.modules.get("cv2")
    if cv2 is None:
        yield
        return
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def _start_worker(fn: Callable[[Any], Any]) -> None:
    global _WORKER_FN
    _WORKER_FN = fn
    hold_to_one_thread()


def _run(item: Any) -> Any:
    assert _WORKER_FN is not None, "worker started without a function"
    return _WORKER_FN(item)


def ordered_map(
    fn: Callable[[A], R], items: Iterable[A], *, threads: int = 1, ahead: int | None = None
) -> Iterator[R]:
    """``fn(item)`` for every item, yielded in the order of ``items``.

    ``threads <= 1`` (or no ``fork`` on this platform, or fewer than two items) runs ``fn`` here,
    one item after the other. Otherwise ``threads`` forked workers run ahead of the consumer
    by at most ``ahead`` items (default ``2 * threads``), so at most that many results wait in
    memory. ``items`` is consumed lazily in both cases.
    """
    it = iter(items)
    first = list(islice(it, 2))
    if threads <= 1 or len(first) < 2 or not can_fork():
        for item in chain(first, it):
            yield fn(item)
        return
    ahead = max(int(ahead or 2 * threads), threads)
    pool = ProcessPoolExecutor(
        threads, mp_context=mp.get_context("fork"), initializer=_start_worker, initargs=(fn,)
    )
    pending: deque[Future[Any]] = deque()
    source = chain(first, it)
    try:
        with _opencv_pool_stopped():  # the fork context starts every worker at the 1st submit
            for item in islice(source, ahead):
                pending.append(pool.submit(_run, item))
        while pending:
            result = pending.popleft().result()
            for item in islice(source, 1):
                pending.append(pool.submit(_run, item))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
