"""The adapter contract every corpus module fulfils.

An adapter reads one real corpus layout (or its synthetic twin, which has the same layout)
into the canonical index (:mod:`emorepro.corpora.index`). Continuous corpora also read their
label tracks into a frame table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pandas as pd


class CorpusAdapter(Protocol):
    """Reads one corpus layout."""

    #: registry name, equal to the ``corpus`` column of the index
    name: str
    #: one-line description of the expected layout, used in error messages
    layout: str

    def index(self, root: Path) -> pd.DataFrame:
        """Return the validated canonical index of the corpus at ``root``.

        Raises :class:`emorepro.errors.CorpusLayoutError` if ``root`` does not look like the
        corpus (naming what was expected) and :class:`emorepro.errors.CorruptInputError` for a
        missing, empty or unreadable file (naming the file).
        """
        ...


class ContinuousCorpusAdapter(CorpusAdapter, Protocol):
    """A corpus with time-continuous arousal/valence annotation."""

    #: annotation frame period in seconds (RECOLA: 0.04)
    frame_s: float

    def read_labels(self, root: Path, row: dict) -> pd.DataFrame:
        """Return the gold standard of one item: columns ``time_s``, ``arousal``, ``valence``.

        ``time_s`` starts at 0 and steps by :attr:`frame_s`. NaN values raise
        :class:`emorepro.errors.CorruptInputError` naming the file.
        """
        ...
