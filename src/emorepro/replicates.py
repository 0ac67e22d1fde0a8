"""Seed replicates: the same experiment trained again from other random seeds.

A single run cannot say whether a gap to the printed number comes from the method or from the
seed. With ``seeds: k`` in the config (default 1) every result whose numbers depend on a
training seed is computed ``k`` times: replicate 0 is the result as it always was
(``experiments/<family>/<name>/...``), replicate ``r >= 1`` lives beside it under the name
``<name>+seed<r>`` (:func:`replicate_name`). The corpus (the twin, its seed) is the same
for every replicate; only the training randomness changes (:func:`training_seed`).

The suffix is shared syntax, stripped before a family's grammar parses the name
(:func:`split_name`), so families never see it. Which results are replicated is decided by
:mod:`emorepro.plan` (a network is trained, or a replicated result is read); a replicate
reads the same replicate of every replicated result it consumes (a network initialised from
another network's weights takes the weights of its own seed).
"""

from __future__ import annotations

import re

#: the name suffix of replicate ``r >= 1``
SUFFIX = "+seed"
#: training seed of replicate ``r``: the corpus seed plus ``r`` strides. Families add small
#: offsets of their own (a fold index, under 1000), so replicates never share a stream.
SEED_STRIDE = 1000

_NAME = re.compile(rf"^(?P<base>.+){re.escape(SUFFIX)}(?P<r>[1-9][0-9]*)$")
_REL = re.compile(r"^(?P<head>(?:.*/)?experiments/[^/]+/)(?P<name>[^/]+)(?P<tail>/.*)?$")


def split_name(name: str) -> tuple[str, int]:
    """``(base name, replicate)`` of an experiment name: ``("x", 2)`` for ``x+seed2``,
    ``(name, 0)`` for a name without the suffix."""
    match = _NAME.match(name)
    if match is None:
        return name, 0
    return match.group("base"), int(match.group("r"))


def replicate_name(base: str, replicate: int) -> str:
    """The experiment name of replicate ``replicate`` of ``base`` (``base`` itself for 0)."""
    if replicate < 0:
        raise ValueError(f"replicate must be >= 0, got {replicate}")
    return base if replicate == 0 else f"{base}{SUFFIX}{replicate}"


def replicate_rel(rel: str, replicate: int) -> str:
    """``rel`` (a result folder or a file in one, ``[...]/experiments/<family>/<name>/...``)
    with its experiment name replaced by that of replicate ``replicate`` of its base name."""
    match = _REL.match(rel)
    if match is None:
        raise ValueError(f"{rel!r} is not inside a result folder (experiments/<family>/<name>)")
    base, _ = split_name(match.group("name"))
    return f"{match.group('head')}{replicate_name(base, replicate)}{match.group('tail') or ''}"


def training_seed(corpus_seed: int, replicate: int) -> int:
    """Seed of the training randomness of replicate ``replicate``: ``corpus_seed +
    SEED_STRIDE * replicate`` (replicate 0 trains with the corpus seed, as before seeds)."""
    return int(corpus_seed) + SEED_STRIDE * int(replicate)
