"""What a configuration runs: results asked for by the paper cards (and by the families'
extra runs), checked against the family registry before anything runs.

* :func:`check_cards` — every ``status: dag`` row of every card names a registered family,
  an experiment its grammar accepts and a known post-processing grid; otherwise
  ``ConfigError`` naming the card file, the table and the row.
* :func:`plan_results` — the result folders of a configuration: every ``dag`` row whose
  family is enabled (``families.<id>``, ``enabled``, not ``exclude``-d, its corpus among
  ``only_corpora`` when that is set) and whose corpus is configured, the un-post-processed
  result behind each post-processed one, each enabled family's
  :meth:`~emorepro.families.base.Family.extra_results`, and with ``seeds: k`` the seed
  replicates ``+seed1 .. +seed<k-1>`` of every result that depends on a training seed
  (:func:`depends_on_seed`, :mod:`emorepro.replicates`).
* :func:`job_inputs`, :func:`job_settings`, :func:`figure_jobs` — what one job needs.
* :func:`chain_depths` — the scheduling priority of each experiment job: how many trainings
  wait on it, one after another.

The Snakefile is a thin client of this module; it is usable (and tested) without Snakemake.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from emorepro.cards import iter_cells
from emorepro.errors import ConfigError, EmoreproError
from emorepro.families import find_grid, get_family
from emorepro.families.base import CORPUS_ROOT, Experiment, JobInputs
from emorepro.layout import Layout, result_rel
from emorepro.protocols import protocols_for
from emorepro.replicates import replicate_name, replicate_rel, split_name

_REL = re.compile(
    r"^experiments/(?P<family>[^/]+)/(?P<name>[^/]+)/(?P<corpus>[^/]+)/(?P<protocol>[^/]+)"
    r"(?:/pp-(?P<grid>[^/]+))?$"
)
#: a file directly inside a (raw) result folder; group 1 is the folder
_EXPERIMENT_DIR = re.compile(r"(?:^|/)(experiments/[^/]+/[^/]+/[^/]+/[^/]+)/[^/]+$")


@dataclass(frozen=True)
class ResultKey:
    """One result folder: ``experiments/<family>/<name>/<corpus>/<protocol>[/pp-<grid>]``."""

    family: str
    name: str
    corpus: str
    protocol: str
    grid: str | None = None

    @property
    def rel(self) -> str:
        base = result_rel(self.family, self.name, self.corpus, self.protocol)
        return f"{base}/pp-{self.grid}" if self.grid else base

    @property
    def raw(self) -> ResultKey:
        """The result before post-processing (itself when not post-processed)."""
        return ResultKey(self.family, self.name, self.corpus, self.protocol)

    @property
    def base_name(self) -> str:
        """The experiment name without a seed replicate's suffix (:mod:`emorepro.replicates`)."""
        return split_name(self.name)[0]

    @property
    def replicate(self) -> int:
        """The seed replicate of this result (0 without the ``+seed<r>`` suffix)."""
        return split_name(self.name)[1]

    def with_replicate(self, replicate: int) -> ResultKey:
        """The same result of seed replicate ``replicate``."""
        name = replicate_name(self.base_name, replicate)
        return ResultKey(self.family, name, self.corpus, self.protocol, self.grid)

    @classmethod
    def from_rel(cls, rel: str) -> ResultKey:
        match = _REL.match(rel)
        if match is None:
            raise ConfigError(f"{rel!r} is not a result folder (experiments/<family>/...)")
        return cls(**match.groupdict())

    def experiment(self) -> Experiment:
        """The experiment, parsed by its family's grammar (a replicate's suffix stripped)."""
        return get_family(self.family).parse(self.base_name)


def check_cards(cards: Mapping[str, Mapping[str, Any]], files: Mapping[str, str]) -> None:
    """Every ``dag`` row names a registered family, a valid experiment and a known grid."""
    for card_id, card in cards.items():
        for cell in iter_cells(card, results=""):
            if cell.status != "dag" or not cell.result:
                continue
            where = f"{files.get(card_id, card_id)}: table {cell.table}, row {cell.row}"
            try:
                key = ResultKey.from_rel(cell.result)
                key.experiment()
                if key.grid:
                    find_grid(key.grid)
            except EmoreproError as err:
                raise ConfigError(f"{where}: {err}") from None


def enabled_families(config: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Family id -> config block, for the blocks present and enabled."""
    blocks = config.get("families", {})
    return {f: b for f, b in blocks.items() if b.get("enabled", True)}


def _wanted(key: ResultKey, config: Mapping[str, Any], families: Mapping[str, Any]) -> bool:
    block = families.get(key.family)
    if block is None or key.corpus not in config["corpora"]:
        return False
    only = block.get("only_corpora")
    if only is not None and key.corpus not in only:
        return False
    return not any(fnmatch.fnmatchcase(key.name, p) for p in block.get("exclude", []))


def plan_results(
    config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]]
) -> list[ResultKey]:
    """The result folders this configuration produces (sorted, unique; module docstring)."""
    families = enabled_families(config)
    keys: set[ResultKey] = set()
    for card in cards.values():
        for cell in iter_cells(card, results=""):
            if cell.status == "dag" and cell.result:
                key = ResultKey.from_rel(cell.result)
                if _wanted(key, config, families):
                    keys.update({key, key.raw})
    for family_id, block in families.items():
        for name, corpus in get_family(family_id).extra_results(block, config):
            key = ResultKey(family_id, name, corpus, protocols_for(corpus)[0])
            if _wanted(key, config, families):
                keys.add(key)
    seeds = int(config.get("seeds", 1))
    if seeds > 1:
        seeded = [k for k in keys if depends_on_seed(k.raw)]
        keys.update(k.with_replicate(r) for k in seeded for r in range(1, seeds))
    return sorted(keys, key=lambda k: k.rel)


def _producers(key: ResultKey, inputs: JobInputs) -> list[ResultKey]:
    """The results whose files are among ``inputs`` (a file directly inside a result folder)."""
    out = []
    for value in inputs.values():
        for path in [value] if isinstance(value, str) else value:
            match = _EXPERIMENT_DIR.search(str(path))
            if match is not None:
                producer = ResultKey.from_rel(match.group(1))
                if producer != key:
                    out.append(producer)
    return out


_SEEDED: dict[ResultKey, bool | None] = {}


def depends_on_seed(key: ResultKey) -> bool:
    """Whether the numbers of a (raw, replicate-0) result depend on a training seed: its
    experiment trains a network, or it reads a result that depends on one. Such results get
    seed replicates (``seeds:`` > 1); others would repeat the same numbers."""
    key = key.raw.with_replicate(0)
    if key in _SEEDED:
        known = _SEEDED[key]
        if known is None:
            raise EmoreproError(f"experiments read each other's results in a cycle: {key.rel}")
        return known
    _SEEDED[key] = None
    try:
        exp = key.experiment()
        inputs = get_family(key.family).inputs(exp, key.corpus, key.protocol, Layout())
        seeded = exp.trains_network or any(depends_on_seed(p) for p in _producers(key, inputs))
    except BaseException:
        del _SEEDED[key]
        raise
    _SEEDED[key] = seeded
    return seeded


def job_inputs(key: ResultKey, layout: Layout, corpus_root: str | Path) -> JobInputs:
    """Named input files of one experiment job: the family's, with :data:`CORPUS_ROOT`
    replaced by ``corpus_root``, plus the fold sheet and its metadata."""
    family = get_family(key.family)
    inputs = family.inputs(key.experiment(), key.corpus, key.protocol, layout)
    out: JobInputs = {k: str(corpus_root) if v == CORPUS_ROOT else v for k, v in inputs.items()}
    if key.replicate:
        out = {k: _of_replicate(v, key.replicate) for k, v in out.items()}
    out["sheet"] = layout.sheet(key.corpus, key.protocol)
    out["sheet_meta"] = layout.sheet_meta(key.corpus, key.protocol)
    return out


def _of_replicate(value: str | list[str], replicate: int) -> str | list[str]:
    """Input path(s) of seed replicate ``replicate``: a file of a result that depends on the
    seed is taken from the same replicate (a network initialised from another's weights
    takes those of its own seed); other files are shared by every replicate."""
    if not isinstance(value, str):
        return [str(_of_replicate(v, replicate)) for v in value]
    match = _EXPERIMENT_DIR.search(value)
    if match is None or not depends_on_seed(ResultKey.from_rel(match.group(1))):
        return value
    start = match.start(1)
    return value[:start] + replicate_rel(value[start:], replicate)


def job_settings(key: ResultKey, config: Mapping[str, Any]) -> dict[str, Any]:
    """The scientific settings of one experiment job (its Snakemake ``params``)."""
    block = config.get("families", {}).get(key.family)
    if block is None:
        raise ConfigError(
            f"families.{key.family}: not in the config, but {key.rel} was asked for; add the "
            f"block (see benchmarks/config.yaml) or do not ask for that result"
        )
    return canonical(get_family(key.family).settings(key.experiment(), block, config))


def canonical(value: Any) -> Any:
    """``value`` with every mapping's keys sorted, recursively. Snakemake's params trigger
    compares params as written, key order included: keys in another order in the config
    file are the same settings and must not rerun a job."""
    if isinstance(value, Mapping):
        return {k: canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return type(value)(canonical(v) for v in value)
    return value


class FigureJob(NamedTuple):
    """One figure: its kind, the result folder it is drawn from and its path."""

    kind: str
    rel: str
    png: str


def figure_jobs(keys: list[ResultKey], layout: Layout) -> list[FigureJob]:
    """Every figure of every result (kinds chosen by the experiment, see
    :attr:`emorepro.families.base.Experiment.figure_kinds`). A post-processed result gets the
    shared kinds only: a family's own figures show the training run, which post-processing
    does not change, and are drawn once from the raw result. Seed replicates get none: the
    figures show replicate 0, the run a single-seed configuration makes."""
    from emorepro.families.base import SHARED_FIGURES

    shared = {k for kinds in SHARED_FIGURES.values() for k in kinds}
    return [
        FigureJob(kind, k.rel, layout.figure(k.rel, kind))
        for k in keys
        if k.replicate == 0
        for kind in k.experiment().figure_kinds
        if k.grid is None or kind in shared
    ]


def figure_targets(keys: list[ResultKey], layout: Layout) -> list[str]:
    """The paths of :func:`figure_jobs`."""
    return [f.png for f in figure_jobs(keys, layout)]


def chain_depths(
    keys: Iterable[ResultKey], inputs_of: Callable[[ResultKey], JobInputs]
) -> dict[ResultKey, int]:
    """For each planned (un-post-processed) result: the number of experiment jobs on the
    longest chain of planned results that read its files (0 when none does).

    Used as the ``experiment`` rule's priority: a job that starts a long chain of trainings
    (e.g. a network whose weights initialise another, whose weights initialise a third) runs
    as soon as it can, so the run does not end on that chain with the other cores idle. A
    file of a result is one directly inside its folder (``experiments/<f>/<n>/<c>/<p>/x``);
    ``inputs_of(key)`` gives a job's named inputs (:func:`job_inputs`).
    """
    raws = sorted({k.raw for k in keys}, key=lambda k: k.rel)
    consumers: dict[ResultKey, set[ResultKey]] = {k: set() for k in raws}
    for key in raws:
        for producer in _producers(key, inputs_of(key)):
            if producer in consumers:
                consumers[producer].add(key)
    depth: dict[ResultKey, int] = {}

    def visit(key: ResultKey, path: tuple[ResultKey, ...]) -> int:
        if key in path:
            raise EmoreproError(f"experiments read each other's results in a cycle: {key.rel}")
        if key not in depth:
            depth[key] = max((1 + visit(c, (*path, key)) for c in consumers[key]), default=0)
        return depth[key]

    for key in raws:
        visit(key, ())
    return depth
