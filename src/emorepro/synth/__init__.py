"""Synthetic twins of every corpus, written in the real corpus' on-disk layout.

Each corpus has a layout module :mod:`emorepro.synth.layouts.<corpus>` with

* ``SCALES``: ``{"tiny": {...}, "small": {...}, "full": {...}}`` size profiles, and
* ``generate(root, *, scale, seed, threads=1)``: write the twin under ``root``, its
  recordings (or clips) in ``threads`` worker processes
  (:func:`emorepro.parallel.ordered_map`).

Signals come from :mod:`emorepro.synth.affect` (latent arousal/valence, speakers,
annotation), :mod:`emorepro.synth.voice` and :mod:`emorepro.synth.face`; files are written by
:mod:`emorepro.synth.media`. Same seed -> byte-identical files, for any ``threads``: every
recording draws from generators seeded by (seed, corpus, recording) only, never from one
sequence shared across recordings.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from emorepro.corpora import CORPORA
from emorepro.errors import ConfigError

SCALE_NAMES: tuple[str, ...] = ("tiny", "small", "full")


def generate_corpus(
    name: str, root: Path | str, *, scale: str, seed: int, threads: int = 1
) -> None:
    """Write the synthetic twin of corpus ``name`` under ``root`` (recordings written in
    ``threads`` worker processes; the files are the same for any ``threads``)."""
    if name not in CORPORA:
        raise ConfigError(f"unknown corpus {name!r}; known corpora: {', '.join(CORPORA)}")
    if scale not in SCALE_NAMES:
        raise ConfigError(f"unknown scale {scale!r}; use one of {', '.join(SCALE_NAMES)}")
    module = import_module(f"emorepro.synth.layouts.{name}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    module.generate(root, scale=scale, seed=seed, threads=threads)
