"""Route a job's logging and stderr into its Snakemake ``log:`` file."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
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


@contextlib.contextmanager
def job_log(path: Path | str) -> Iterator[logging.Logger]:
    """Log ``emorepro`` messages and stderr to ``path``; on error, write the message last.
    Thread pools are held to the job's ``threads`` (:func:`limit_threads`).

    An :class:`EmoreproError` is logged as its one-line message (it already names the file
    or key and the fix); anything else with its traceback. The exception is re-raised so
    the job fails and Snakemake removes its partial outputs.
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
            yield logger
        except EmoreproError as exc:
            logger.error("%s", exc)
            sys.__stderr__.write(f"emorepro error: {exc}\n")
            raise
        except Exception:
            logger.error("unexpected failure:\n%s", traceback.format_exc())
            raise
        finally:
            logger.removeHandler(handler)
