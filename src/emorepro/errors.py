"""Error types that carry the offending file or key and the fix.

Every user-facing failure in emorepro is one of these, so that Snakemake logs and the CLI show
one line that names *what* is wrong, *where*, and *how to fix it*.
"""

from __future__ import annotations

from pathlib import Path


class EmoreproError(Exception):
    """Base class: ``str(err)`` is a complete, actionable message.

    Picklable with its message and attributes (``path``, ...), so that an error raised in a
    worker process (:mod:`emorepro.parallel`) reaches the job unchanged.
    """

    def __reduce__(self) -> tuple[object, ...]:
        return (_restore_error, (type(self), self.args, dict(self.__dict__)))


def _restore_error(
    cls: type[EmoreproError], args: tuple[object, ...], state: dict[str, object]
) -> EmoreproError:
    """An :class:`EmoreproError` as pickled: its message and attributes, ``__init__`` skipped."""
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class ConfigError(EmoreproError):
    """A configuration key is missing, misspelled or of the wrong type."""


class CorpusLayoutError(EmoreproError):
    """A corpus folder does not look like the corpus it is declared to be."""

    def __init__(self, corpus: str, root: Path | str, problem: str, *, expected: str = "") -> None:
        msg = f"{corpus}: {problem} (corpus root: {root})"
        if expected:
            msg += f". Expected layout: {expected}"
        super().__init__(msg)
        self.corpus, self.root = corpus, Path(root)


class CorruptInputError(EmoreproError):
    """A file exists but is empty, unreadable or holds invalid values."""

    def __init__(self, path: Path | str, problem: str, *, fix: str = "") -> None:
        msg = f"{path}: {problem}"
        if fix:
            msg += f". Fix: {fix}"
        super().__init__(msg)
        self.path = Path(path)


class LeakageError(EmoreproError):
    """A fold sheet puts the same speaker in two roles of one fold."""
