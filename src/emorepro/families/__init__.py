"""The registry of paper families: every sub-package of this folder that exports ``FAMILY``.

A family is added by a folder (``emorepro/families/<id>/``), a paper card and a config block
(``families.<id>``); nothing else names it. See ``docs/adding-a-family.md`` and
:mod:`emorepro.families.base` for the contract.
"""

from __future__ import annotations

import hashlib
import pkgutil
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

from emorepro.errors import ConfigError
from emorepro.families.base import Experiment, Family

__all__ = [
    "Experiment",
    "Family",
    "family_code_sha256",
    "family_ids",
    "find_grid",
    "folder_code_sha256",
    "get_family",
    "parse_experiment",
]

#: files of a family folder whose content is the family's code (its models, runs, schema)
CODE_SUFFIXES = (".py", ".json", ".yaml", ".yml")


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


def folder_code_sha256(folder: Path | str) -> str:
    """SHA-256 over the code files under ``folder`` (:data:`CODE_SUFFIXES`; ``__pycache__``
    skipped): each file's path relative to ``folder`` and its bytes, in sorted path order."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts and path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@cache
def family_code_sha256(family_id: str) -> str:
    """:func:`folder_code_sha256` of one family's folder. The ``experiment`` rule passes it as
    a parameter, so editing a family's code reruns that family's jobs (and what reads them)
    and no other; a change in shared code reruns nothing by itself (use ``--forcerun``)."""
    get_family(family_id)  # an unknown id raises, listing the known families
    return folder_code_sha256(Path(__path__[0]) / family_id)
