"""Per-job wall time and peak memory of a DAG run, from the rules' ``benchmark:`` files.

Snakemake writes one TSV per job (``results/benchmarks/<rule>/<wildcards...>.tsv``) with the
job's wall seconds ``s``, peak resident memory ``max_rss`` (MB) and ``cpu_time``. A job's end
is the file's modification time, its start ``end - s``; the run's span is last end minus
first start (the wall time of the jobs, without Snakemake's own start-up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from emorepro.errors import CorruptInputError, EmoreproError

COLUMNS = ("s", "max_rss", "cpu_time")


@dataclass(frozen=True)
class Timings:
    """One row per job: ``rule``, ``job`` (the file's path below the rule), ``s``,
    ``max_rss`` (MB), ``cpu_time`` (s), ``start`` and ``end`` (epoch seconds)."""

    jobs: pd.DataFrame

    @property
    def span_s(self) -> float:
        return float(self.jobs["end"].max() - self.jobs["start"].min())

    def by_rule(self) -> pd.DataFrame:
        """Jobs, summed and longest wall seconds, CPU seconds and peak memory per rule,
        longest total first."""
        g = self.jobs.groupby("rule")
        out = pd.DataFrame(
            {
                "jobs": g.size(),
                "total_s": g["s"].sum(),
                "max_s": g["s"].max(),
                "cpu_s": g["cpu_time"].sum(),
                "max_rss_mb": g["max_rss"].max(),
            }
        )
        return out.sort_values("total_s", ascending=False)

    def matching(self, parts: list[str]) -> Timings:
        """The jobs whose path (``rule/wildcards...``) contains any of ``parts``."""
        keep = self.jobs["job"].map(lambda job: any(p in job for p in parts))
        if not keep.any():
            raise EmoreproError(f"no job path contains any of {parts}")
        return Timings(self.jobs[keep].reset_index(drop=True))

    def over_memory(self, limit_mb: float) -> pd.DataFrame:
        """The jobs whose peak resident memory exceeds ``limit_mb``."""
        return self.jobs[self.jobs["max_rss"] > limit_mb]


def read_timings(benchmarks: Path | str) -> Timings:
    """Every ``*.tsv`` below ``benchmarks`` (a DAG run's ``results/benchmarks``)."""
    root = Path(benchmarks)
    files = sorted(root.rglob("*.tsv"))
    if not files:
        raise EmoreproError(f"{root}: no benchmark files; run the DAG first (README command 1)")
    rows = []
    for path in files:
        table = pd.read_csv(path, sep="\t")
        missing = [c for c in COLUMNS if c not in table.columns]
        if missing or table.empty:
            raise CorruptInputError(
                path,
                f"not a Snakemake benchmark file (missing {missing or 'rows'})",
                fix="delete it and rerun the job that writes it",
            )
        last = table.iloc[-1]  # repeated benchmarks append rows; the last run counts
        rel = path.relative_to(root)
        end = path.stat().st_mtime
        s = float(last["s"])
        rows.append(
            {
                "rule": rel.parts[0].removesuffix(".tsv"),
                "job": str(rel.with_suffix("")),
                "s": s,
                "max_rss": pd.to_numeric(last["max_rss"], errors="coerce"),
                "cpu_time": pd.to_numeric(last["cpu_time"], errors="coerce"),
                "start": end - s,
                "end": end,
            }
        )
    return Timings(pd.DataFrame(rows))


def critical_path(
    weights: Mapping[str, float], deps: Mapping[str, Iterable[str]]
) -> tuple[float, list[str]]:
    """The longest weighted path through a job DAG: ``L(j) = w(j) + max_{d in deps(j)} L(d)``
    (``max`` of nothing is 0), maximised over ``j``. Returns its length and its jobs from first
    to last. ``weights`` missing a job count it as 0; a dependency cycle raises ``ValueError``.

    It is the span of the run on unlimited cores: no schedule finishes sooner.

    >>> critical_path({"a": 2, "b": 5, "c": 1}, {"c": ["a", "b"]})
    (6.0, ['b', 'c'])
    """
    nodes = set(deps) | set(weights) | {d for ds in deps.values() for d in ds}
    parents = {j: sorted(set(deps.get(j, ()))) for j in nodes}
    children: dict[str, list[str]] = {j: [] for j in nodes}
    for j, ds in parents.items():
        for d in ds:
            children[d].append(j)
    waiting = {j: len(ds) for j, ds in parents.items()}
    ready = sorted(j for j, n in waiting.items() if n == 0)
    best: dict[str, float] = {}
    via: dict[str, str | None] = {}
    while ready:
        j = ready.pop()
        prev = max(parents[j], key=lambda d: (best[d], d), default=None)
        best[j] = float(weights.get(j, 0.0)) + (best[prev] if prev is not None else 0.0)
        via[j] = prev
        for c in children[j]:
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    if len(best) != len(nodes):
        stuck = sorted(nodes - set(best))[:5]
        raise ValueError(f"critical_path: the job graph has a cycle through {stuck}")
    if not best:
        return 0.0, []
    end = max(best, key=lambda j: (best[j], j))
    path = [end]
    while (p := via[path[-1]]) is not None:
        path.append(p)
    return best[end], path[::-1]


@dataclass(frozen=True)
class Budget:
    """One standing budget: ``measured`` against ``limit`` (both in ``unit``); passes when
    ``measured <= limit``. ``note`` says what was measured."""

    name: str
    measured: float
    limit: float
    unit: str
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.measured <= self.limit

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        text = (
            f"{verdict}  {self.name}: {self.measured:,.1f} {self.unit} (budget {self.limit:,.1f})"
        )
        return text + (f"  [{self.note}]" if self.note else "")
