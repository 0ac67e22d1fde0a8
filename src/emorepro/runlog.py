"""Route a job's logging and stderr into its Snakemake ``log:`` file."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

from emorepro.errors import EmoreproError


def limit_threads(n: int | None = None) -> int | None:
    """Hold the thread pools of a job to ``n`` (default: ``OMP_NUM_THREADS``, which Snakemake
    sets to the rule's ``threads`` for every job; BLAS and torch read it themselves). OpenCV
    sizes its pool from the CPU count instead: set through ``OPENCV_FOR_THREADS_NUM`` before
    ``cv2`` is imported, or ``cv2.setNumThreads`` after. Returns the limit applied, if any."""
    if n is None:
        value = os.environ.get("OMP_NUM_THREADS", "")
        n = int(value) if value.isdigit() and int(value) > 0 else None
    if n is None:
        return None
    os.environ["OPENCV_FOR_THREADS_NUM"] = str(n)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(n)
    return n


class JobTerminated(BaseException):
    """SIGTERM inside a job (Snakemake stopping its jobs, ``scancel``, a container stop).

    Raised from the signal handler :func:`job_log` installs, so the job unwinds like Ctrl-C
    does: temporary files are removed (:func:`emorepro.io.atomic_write`), no result is
    written, the last epoch checkpoint stays for the rerun to resume from. A
    ``BaseException`` so that ``except Exception`` blocks do not swallow it.
    """


def _terminated(signum: int, frame: object) -> None:
    raise JobTerminated(f"stopped by {signal.Signals(signum).name}")


@contextlib.contextmanager
def _terminate_as_exception() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def job_log(path: Path | str) -> Iterator[logging.Logger]:
    """Log ``emorepro`` messages and stderr to ``path``; on error, write the message last.
    Thread pools are held to the job's ``threads`` (:func:`limit_threads`).

    An :class:`EmoreproError` is logged as its one-line message (it already names the file
    or key and the fix); anything else with its traceback. The exception is re-raised so
    the job fails and Snakemake removes its partial outputs. SIGTERM raises
    :class:`JobTerminated` and SIGINT ``KeyboardInterrupt`` inside the block: both unwind
    (temporary files removed, checkpoints kept), are logged in one line and re-raised.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    limit_threads()
    with path.open("w") as stream, contextlib.redirect_stderr(stream):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger = logging.getLogger("emorepro")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            with _terminate_as_exception():
                yield logger
        except (JobTerminated, KeyboardInterrupt) as exc:
            what = str(exc) or "stopped by SIGINT"
            logger.warning(
                "%s: no result written; the last checkpoint (if any) is kept and a rerun "
                "resumes from it",
                what,
            )
            sys.__stderr__.write(f"emorepro: {what}\n")
            raise
        except EmoreproError as exc:
            logger.error("%s", exc)
            sys.__stderr__.write(f"emorepro error: {exc}\n")
            raise
        except Exception:
            logger.error("unexpected failure:\n%s", traceback.format_exc())
            raise
        finally:
            logger.removeHandler(handler)
