"""The registry of paper families: every sub-package of this folder that exports ``FAMILY``.

A family is added by a folder (``emorepro/families/<id>/``), a paper card and a config block
(``families.<id>``); nothing else names it. See ``docs/adding-a-family.md`` and
:mod:`emorepro.families.base` for the contract.
"""

from __future__ import annotations

import pkgutil
from functools import cache
from importlib import import_module
from typing import Any

from emorepro.errors import ConfigError
from emorepro.families.base import Experiment, Family

__all__ = ["Experiment", "Family", "family_ids", "find_grid", "get_family", "parse_experiment"]


@cache
def family_ids() -> tuple[str, ...]:
    """Ids of the registered families (sub-packages of this package), sorted."""
    return tuple(
        sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg and m.name[0] != "_")
    )


@cache
def get_family(family_id: str) -> Family:
    """The family registered as ``family_id``; unknown ids list the known ones."""
    if family_id not in family_ids():
        raise ConfigError(
            f"unknown paper family {family_id!r}; registered: {', '.join(family_ids())} "
            "(a family is a folder under src/emorepro/families/)"
        )
    family = getattr(import_module(f"{__name__}.{family_id}"), "FAMILY", None)
    if not isinstance(family, Family) or family.id != family_id:
        raise ConfigError(
            f"src/emorepro/families/{family_id}/__init__.py must export FAMILY, a Family "
            f"whose id is {family_id!r}"
        )
    return family


def parse_experiment(experiment: str) -> Experiment:
    """``<family>/<name>`` (as paper cards write it) -> :class:`Experiment`."""
    family, sep, name = experiment.partition("/")
    if not sep:
        raise ConfigError(f"experiment {experiment!r}: write it as <family>/<name>")
    return get_family(family).parse(name)


@cache
def grids() -> dict[str, Any]:
    """Every post-processing grid of every family (name -> Grid); names are unique."""
    found: dict[str, Any] = {}
    for family_id in family_ids():
        for name, grid in get_family(family_id).grids().items():
            if name in found:
                raise ConfigError(f"post-processing grid {name!r} is defined by two families")
            found[name] = grid
    return found


def find_grid(name: str) -> Any:
    """The post-processing grid called ``name``; unknown names list the known ones."""
    known = grids()
    if name not in known:
        raise ConfigError(f"post-processing grid {name!r} is unknown; known: {sorted(known)}")
    return known[name]
