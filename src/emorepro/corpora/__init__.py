"""Corpus adapters: one module per real corpus, all producing the canonical index."""

from __future__ import annotations

from importlib import import_module

from emorepro.corpora.base import CorpusAdapter
from emorepro.errors import ConfigError

#: registry name -> "module:attribute" of the adapter instance
_ADAPTERS: dict[str, str] = {
    "recola_avec2016": "emorepro.corpora.recola:AVEC2016",
    "recola_full": "emorepro.corpora.recola:FULL",
    "rml": "emorepro.corpora.rml:ADAPTER",
    "enterface05": "emorepro.corpora.enterface05:ADAPTER",
    "baum1s": "emorepro.corpora.baum1s:ADAPTER",
    "omg_emotion": "emorepro.corpora.omg_emotion:ADAPTER",
    "afew": "emorepro.corpora.afew:ADAPTER",
    "yt8m": "emorepro.corpora.yt8m:ADAPTER",
    "emodb": "emorepro.corpora.emodb:ADAPTER",
}

CORPORA: tuple[str, ...] = tuple(_ADAPTERS)


def get_adapter(name: str) -> CorpusAdapter:
    """Return the adapter registered as ``name``; unknown names list the known ones."""
    try:
        module, attr = _ADAPTERS[name].split(":")
    except KeyError:
        raise ConfigError(f"unknown corpus {name!r}; known corpora: {', '.join(CORPORA)}") from None
    return getattr(import_module(module), attr)
