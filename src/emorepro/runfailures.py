"""Failed jobs of a Snakemake run, read from the run's log, and the result folders they cost.

Snakemake writes one block per failed job to its main log
(``.snakemake/log/<time>.snakemake.log``), with ``--keep-going`` as without::

    Error in rule experiment:
        message: None
        jobid: 12
        output: results/experiments/f/e/c/p/metrics.json, results/experiments/f/e/c/p/predic...
        log: results/logs/experiment/f/e/c/p.log (check log file(s) for error details)

:func:`parse_failed_jobs` reads those blocks; :func:`failed_results` maps the failed jobs
that write a result (``<result dir>/metrics.json``) to their job log, so that a table can
say "failed, see <log>" for exactly the cells whose run failed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_HEAD = re.compile(r"^Error in rule (?P<rule>\S+?):\s*$")
_FIELD = re.compile(r"^\s+(?P<key>[a-z_ ]+):\s?(?P<value>.*)$")
_LOG_SUFFIX = " (check log file(s) for error details)"


@dataclass(frozen=True)
class FailedJob:
    """One ``Error in rule`` block: the rule, Snakemake's job id, outputs and log files."""

    rule: str
    jobid: str
    outputs: tuple[str, ...]
    logs: tuple[str, ...]
    message: str = ""


def _split(value: str) -> tuple[str, ...]:
    value = value.removesuffix(_LOG_SUFFIX).strip()
    return tuple(v.strip() for v in value.split(", ") if v.strip())


def parse_failed_jobs(text: str) -> list[FailedJob]:
    """Every failed job in a Snakemake log, once each (first block wins), in log order."""
    jobs: dict[tuple[str, str, tuple[str, ...]], FailedJob] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        head = _HEAD.match(lines[i])
        i += 1
        if head is None:
            continue
        fields: dict[str, str] = {}
        while i < len(lines) and (m := _FIELD.match(lines[i])):
            fields.setdefault(m["key"].strip(), m["value"])
            i += 1
        job = FailedJob(
            rule=head["rule"],
            jobid=fields.get("jobid", "").strip(),
            outputs=_split(fields.get("output", "")),
            logs=_split(fields.get("log", "")),
            message=fields.get("message", "").strip(),
        )
        jobs.setdefault((job.rule, job.jobid, job.outputs), job)
    return list(jobs.values())


def read_failed_jobs(logs: Iterable[Path | str]) -> list[FailedJob]:
    """:func:`parse_failed_jobs` over Snakemake log files (missing files are skipped)."""
    found: list[FailedJob] = []
    for path in logs:
        path = Path(path)
        if path.is_file():
            found.extend(parse_failed_jobs(path.read_text(errors="replace")))
    return found


def failed_results(
    jobs: Sequence[FailedJob], results_root: Path | str, *, cwd: Path | str = "."
) -> Mapping[str, str]:
    """Result folder (relative to ``results_root``, POSIX) -> the failed job's log path, for
    every failed job with a ``metrics.json`` output under ``results_root``. Relative paths in
    the log are relative to Snakemake's working directory ``cwd``."""
    cwd = Path(cwd).resolve()
    root = (cwd / Path(results_root)).resolve()
    out: dict[str, str] = {}
    for job in jobs:
        for output in job.outputs:
            path = (cwd / output).resolve()
            if path.name != "metrics.json" or not path.is_relative_to(root):
                continue
            out[path.parent.relative_to(root).as_posix()] = job.logs[0] if job.logs else ""
    return out
