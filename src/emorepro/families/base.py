"""What a paper family is: the contract between shared code and one family folder.

A family (``emorepro/families/<id>/``, exporting ``FAMILY``) owns

* an experiment-name **grammar** (:class:`Grammar`): every name it accepts, parsed once into
  an :class:`Experiment` that states the task, the figures and whether it trains a network;
* the **inputs** each experiment needs, as paths of the shared :class:`~emorepro.layout.Layout`
  (features, fold sheets, other results);
* its **settings**: a JSON-schema fragment (``schema.json`` beside its ``__init__``) that the
  config schema composes under ``families.<id>``, and the scientific settings of one job;
* how to **run** one experiment (:meth:`Family.run` returns an
  :class:`~emorepro.results.Outcome`; shared code writes the result);
* its post-processing **grids**, its own **figures** and its regression **tolerance**;
* optionally **extra results** beyond the paper cards' rows (e.g. a baseline on every corpus).

Shared code asks :mod:`emorepro.families` (the registry) and the paper cards; it never names a
family. Importing a family package must stay cheap (no torch at import time): the Snakefile
imports every family to build the DAG.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from emorepro.errors import ConfigError, CorruptInputError
from emorepro.layout import Layout
from emorepro.results import Outcome, Source, Task

#: an input value that stands for the root folder of the job's corpus
CORPUS_ROOT = "<corpus root>"
#: named input files of one job: a Layout path, or a list of them
JobInputs = dict[str, str | list[str]]
#: figure kinds every family gets from shared code, chosen by the task
SHARED_FIGURES = {"classification": ("confusion",), "regression": ("trace",), "analysis": ()}


@dataclass(frozen=True)
class Experiment:
    """One experiment name, parsed by its family's grammar.

    ``figures``: figure kinds drawn for each of its results (``confusion`` and ``trace`` are
    shared; other kinds are the family's, see :meth:`Family.draw_figure`). ``spec``: the
    family's own description of the experiment (any object).
    """

    family: str
    name: str
    task: Task
    figures: tuple[str, ...] | None = None
    trains_network: bool = False
    spec: Any = None

    @property
    def figure_kinds(self) -> tuple[str, ...]:
        return self.figures if self.figures is not None else SHARED_FIGURES[self.task]


@dataclass(frozen=True)
class Rule:
    """One production of a grammar: a full-match regex, the function that builds the
    :class:`Experiment` from the match, and a human-readable form for error messages."""

    pattern: str
    build: Callable[[re.Match[str]], Experiment]
    example: str


@dataclass(frozen=True)
class Grammar:
    """The experiment names of one family, defined once (first matching rule wins)."""

    family: str
    rules: tuple[Rule, ...]

    def parse(self, name: str) -> Experiment:
        """The :class:`Experiment` of ``name``; an unknown name raises ``ConfigError`` listing
        the accepted forms."""
        for rule in self.rules:
            match = re.fullmatch(rule.pattern, name)
            if match:
                return rule.build(match)
        forms = ", ".join(r.example for r in self.rules)
        raise ConfigError(f"{self.family}: experiment {name!r} is unknown; use {forms}")


@dataclass
class RunContext:
    """Everything one experiment job receives (built by :mod:`emorepro.steps.experiment`)."""

    experiment: Experiment
    corpus: str
    protocol: str
    inputs: Mapping[str, Any]
    settings: Mapping[str, Any]
    execution: Mapping[str, Any]
    source: Source
    result_dir: Path
    checkpoint: Path
    cache_dir: Path
    layout: Layout = field(default_factory=Layout)
    #: seed replicate of this job (:mod:`emorepro.replicates`; 0 without ``seeds:`` > 1)
    replicate: int = 0

    @property
    def seed(self) -> int:
        """The seed of this job's training randomness (initial weights, shuffling, dropout,
        sampled subsets): the corpus seed for replicate 0, then one stride per replicate
        (:func:`emorepro.replicates.training_seed`). Families seed training from this, never
        from ``source.seed``, which names the corpus and is the same for every replicate."""
        from emorepro.replicates import training_seed

        return training_seed(self.source.seed, self.replicate)

    def path(self, key: str) -> Path:
        """The named input ``key`` as a path (it must be a single file)."""
        if key not in self.inputs:
            raise ConfigError(
                f"{self.experiment.family}/{self.experiment.name}: no input {key!r} (it has "
                f"{sorted(self.inputs)}); the family's inputs() must declare it"
            )
        return Path(str(self.inputs[key]))

    def paths(self, key: str) -> list[Path]:
        """The named input ``key`` as a list of paths (empty when absent)."""
        value = self.inputs.get(key, [])
        return [Path(str(v)) for v in ([value] if isinstance(value, str | Path) else value)]

    def inputs_digest(self) -> str:
        """SHA-256 over every input: a file's bytes, a folder's file names and sizes. What a
        job keeps between attempts (finished folds) is reused only under the same digest."""
        import hashlib

        from emorepro.io import file_digest

        h = hashlib.sha256()
        for key in sorted(self.inputs):
            for path in self.paths(key):
                h.update(f"{key}\0{path.name}\0".encode())
                if path.is_dir():
                    for f in sorted(p for p in path.rglob("*") if p.is_file()):
                        h.update(f"{f.relative_to(path)}\0{f.stat().st_size}\0".encode())
                elif path.is_file():
                    h.update(file_digest(path, length=64).encode())
        return h.hexdigest()

    def sheet(self) -> pd.DataFrame:
        """The fold sheet (``fold, item_id, subject, role``) of this job."""
        from emorepro.protocols import read_sheet

        return read_sheet(self.path("sheet"))


class Family:
    """Base class of a paper family; a family folder subclasses it and exports ``FAMILY``."""

    id: ClassVar[str]
    paper: ClassVar[str]
    title: ClassVar[str]
    grammar: ClassVar[Grammar]
    #: absolute tolerance of the recorded regression numbers (``emorepro regress``)
    regression_tolerance: ClassVar[float] = 0.01

    def parse(self, name: str) -> Experiment:
        return self.grammar.parse(name)

    def schema(self) -> dict[str, Any]:
        """The JSON-schema fragment of ``families.<id>`` (``schema.json`` of the package)."""
        module = sys.modules[type(self).__module__]
        package = module.__name__ if hasattr(module, "__path__") else module.__package__
        try:
            text = resources.files(package).joinpath("schema.json").read_text()
        except FileNotFoundError:
            return {"type": "object", "properties": {}, "additionalProperties": False}
        return json.loads(text)

    def inputs(self, exp: Experiment, corpus: str, protocol: str, layout: Layout) -> JobInputs:
        """Named input files of one job, as :class:`Layout` paths (or lists of them).

        ``sheet`` and ``sheet_meta`` of (corpus, protocol) are always added; a value
        :data:`CORPUS_ROOT` stands for the corpus folder (the twin or the user's copy).
        """
        raise NotImplementedError

    def settings(
        self, exp: Experiment, block: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The scientific settings of one job (its Snakemake ``params``: a change reruns it)."""
        return {}

    def extra_results(
        self, block: Mapping[str, Any], config: Mapping[str, Any]
    ) -> Sequence[tuple[str, str]]:
        """``(experiment, corpus)`` pairs to run besides the paper cards' rows."""
        return ()

    def run(self, ctx: RunContext) -> Outcome:
        """Compute one experiment; shared code writes the result (:mod:`emorepro.results`)."""
        raise NotImplementedError

    def tolerance(self, exp: Experiment) -> float:
        return self.regression_tolerance

    def grids(self) -> Mapping[str, Any]:
        """Post-processing grids this family owns (name -> :class:`emorepro.postprocess.Grid`)."""
        return {}

    def figure_kinds(self) -> tuple[str, ...]:
        """Figure kinds this family draws itself (beyond ``confusion`` and ``trace``)."""
        return ()

    def draw_figure(
        self, kind: str, result: Mapping[str, Any], predictions: pd.DataFrame, out: Path
    ) -> None:
        raise ConfigError(f"{self.id}: no figure kind {kind!r}")


def pick_profile(block: Mapping[str, Any], scale: str, *, key: str) -> tuple[str, dict[str, Any]]:
    """The model profile of a family block: ``profile`` when set, else the one named like the
    scale (``full`` -> ``paper``). ``key`` (``families.<id>``) names the block in errors."""
    profiles = block.get("profiles") or {}
    name = block.get("profile") or {"full": "paper"}.get(scale, scale)
    if name not in profiles:
        raise ConfigError(
            f"{key}.profile: {name!r} is not one of the profiles {sorted(profiles)}; add it "
            f"under {key}.profiles or set {key}.profile"
        )
    return name, dict(profiles[name])


def model_file_of(metrics_json: Path | str) -> Path:
    """``model.pt`` beside a result's ``metrics.json`` (written before it), checked."""
    path = Path(metrics_json).with_name("model.pt")
    if not path.is_file():
        raise CorruptInputError(
            path, "model file is missing beside its result", fix="rerun the experiment"
        )
    return path
