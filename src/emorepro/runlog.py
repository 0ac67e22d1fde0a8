"""Route a job's logging and stderr into its Snakemake ``log:`` file."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from emorepro.errors import EmoreproError


@contextlib.contextmanager
def job_log(path: Path | str) -> Iterator[logging.Logger]:
    """Log ``emorepro`` messages and stderr to ``path``; on error, write the message last.

    An :class:`EmoreproError` is logged as its one-line message (it already names the file
    or key and the fix); anything else with its traceback. The exception is re-raised so
    the job fails and Snakemake removes its partial outputs.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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
