"""The job graph of a workflow run, keyed like its benchmark files, and a timed no-op dry run.

:func:`job_graph` builds the whole DAG (as ``snakemake --forceall -n`` would) through
Snakemake's Python API and returns, for every job, the jobs it waits for. A job is keyed by its
``benchmark:`` file below ``<results>/benchmarks`` without ``.tsv`` (the key of
:func:`emorepro.timings.read_timings`); a job without a benchmark file (``all``) is keyed
``<rule>#<jobid>`` and weighs nothing on a critical path. Uses Snakemake internals
(``Workflow._prepare_dag``/``_build_dag``, as ``snakemake --d3dag`` does) of the pinned 9.x.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from emorepro.errors import EmoreproError


def job_graph(
    snakefile: Path | str, workdir: Path | str, benchmarks: Path | str
) -> dict[str, set[str]]:
    """``{job key: keys of the jobs it depends on}`` for every job of the full DAG of
    ``snakefile`` run in ``workdir``; ``benchmarks`` is the run's benchmark folder (relative
    to ``workdir`` or absolute)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import DAGSettings, OutputSettings, ResourceSettings

    workdir = Path(workdir).resolve()
    bench_root = (workdir / benchmarks).resolve()
    snakefile = Path(snakefile).resolve()
    if not snakefile.is_file():
        raise EmoreproError(f"{snakefile}: no such Snakefile; pass --snakefile")
    here = Path.cwd()
    try:
        with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
            wf = api.workflow(
                resource_settings=ResourceSettings(cores=1),
                snakefile=snakefile,
                workdir=workdir,
            )
            dag_api = wf.dag(DAGSettings(forceall=True))
            workflow = dag_api.workflow_api._workflow
            workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
            workflow._build_dag()
            dag = workflow.dag

            def key(job) -> str:
                if job.benchmark:
                    path = (workdir / str(job.benchmark)).resolve()
                    try:
                        return str(path.relative_to(bench_root).with_suffix(""))
                    except ValueError:
                        return str(path.with_suffix(""))
                return f"{job.rule.name}#{dag.jobid(job)}"

            return {key(job): {key(d) for d in dag.dependencies[job]} for job in dag.jobs}
    finally:
        os.chdir(here)  # the API changes into workdir


@dataclass(frozen=True)
class DryRun:
    """A timed ``snakemake -n``: wall seconds and whether it had nothing to do."""

    seconds: float
    nothing_to_do: bool
    output: str


def timed_dry_run(snakefile: Path | str, workdir: Path | str, timeout_s: float = 600) -> DryRun:
    """Run ``python -m snakemake -n`` in ``workdir`` in a fresh interpreter (start-up
    included, as a user types it) and time it."""
    cmd = [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(snakefile)]
    cmd += ["--directory", str(workdir), "--cores", "1"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    seconds = time.perf_counter() - start
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise EmoreproError(f"snakemake -n failed in {workdir}:\n{out[-2000:]}")
    return DryRun(seconds, "Nothing to be done" in out, out)
