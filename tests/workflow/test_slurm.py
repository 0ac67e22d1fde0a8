"""Scale-out through a real SLURM cluster: a slice of the tiny DAG with the slurm profile.

CI starts a single-node cluster on localhost first (``bash .ci/slurm-up``). The slice (one
RML twin: synth_corpus, index_corpus, fold_sheet, functionals and one SVM experiment) goes
through sbatch with ``--profile workflow/profiles/slurm``; a local ``--cores 2`` run of the
same slice in another directory must give the same files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tiny import SCHEDULER
from tiny import workdir as _workdir

pytestmark = pytest.mark.workflow
ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
TIMEOUT_S = 1800  # a hang guard; niced beside the tiny DAG (tests/conftest.py), the slice is slow
EXP = "results/experiments/baselines/svm_eGeMAPSv02/rml/loso"
TARGET = f"{EXP}/metrics.json"
RULES = {"synth_corpus", "index_corpus", "fold_sheet", "functionals", "experiment"}
# the slice's outputs, compared between the SLURM and the local run
SAME_BYTES = (
    "results/index/rml.csv",
    "results/folds/rml/loso.csv",
    "results/folds/rml/loso.json",
    f"{EXP}/metrics.json",
)
SAME_FRAME = (  # parquet: compare the table, not the writer's metadata
    "results/features/rml/eGeMAPSv02_functionals.parquet",
    f"{EXP}/predictions.parquet",
)
TWIN = "results/corpora/rml"
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)")
NO_CLUSTER = "no SLURM cluster here: run `bash .ci/slurm-up` first (as root; CI does)"


def _cmd(workdir: Path, *args: str) -> list[str]:
    return [
        "timeout",
        "-k",
        "10",
        str(TIMEOUT_S),
        *SNAKEMAKE,
        "--directory",
        str(workdir),
        *SCHEDULER,
        *args,
        TARGET,
    ]


def _check(proc: subprocess.CompletedProcess | subprocess.Popen, out: str, what: str) -> None:
    if proc.returncode == 124:
        raise AssertionError(
            f"{what} ran past {TIMEOUT_S} s (without slurmdbd the profile needs "
            f"slurm-status-command: squeue):\n{out[-6000:]}"
        )
    assert proc.returncode == 0, f"{what} failed:\n{out[-8000:]}"


def _require_cluster() -> None:
    if shutil.which("sbatch") is None or shutil.which("squeue") is None:
        pytest.fail(f"sbatch not found: {NO_CLUSTER}", pytrace=False)
    sinfo = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    states = sinfo.stdout.split()
    if sinfo.returncode != 0 or not any(s in ("idle", "mix", "alloc") for s in states):
        pytest.fail(
            f"sinfo shows no usable node ({sinfo.stdout.strip()} {sinfo.stderr.strip()}): "
            + NO_CLUSTER,
            pytrace=False,
        )


def _slurm_jobs() -> dict[str, tuple[str, str]]:
    """Job id -> (state, working directory) for every job slurmctld still remembers."""
    proc = subprocess.run(
        ["squeue", "--states=all", "-h", "-o", "%i|%T|%Z"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    jobs = {}
    for line in proc.stdout.splitlines():
        jobid, state, workdir = line.strip().split("|", 2)
        jobs[jobid] = (state, workdir)
    return jobs


def _slurmctld_log() -> str:
    conf = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True)
    m = re.search(r"^SlurmctldLogFile\s*=\s*(\S+)", conf.stdout, re.M)
    path = Path(m.group(1)) if m else None
    return path.read_text(errors="replace") if path and path.is_file() else ""


def test_slice_through_sbatch_equals_local_run(tmp_path: Path) -> None:
    _require_cluster()
    local = _workdir(tmp_path / "local")
    cluster = _workdir(tmp_path / "slurm")
    # the local reference run shares the CPUs with the cluster run, meanwhile
    with open(tmp_path / "local.log", "w+") as local_log:
        local_proc = subprocess.Popen(
            _cmd(local, "--cores", "2"), stdout=local_log, stderr=subprocess.STDOUT, text=True
        )
        try:
            proc = subprocess.run(
                _cmd(
                    cluster,
                    "--profile",
                    str(ROOT / "workflow/profiles/slurm"),
                    "--jobs",
                    "2",
                    "--slurm-keep-successful-logs",
                    "--slurm-init-seconds-before-status-checks",
                    "5",
                ),
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S + 30,
            )
            local_proc.wait(timeout=TIMEOUT_S + 30)
        finally:
            if local_proc.poll() is None:
                local_proc.kill()
        local_log.seek(0)
        local_out = local_log.read()
    out = proc.stdout + proc.stderr
    _check(proc, out, "snakemake --profile workflow/profiles/slurm")
    _check(local_proc, local_out, "snakemake --cores 2 (local reference)")

    # every job of the slice went through sbatch: one SLURM job id per job, with its log
    steps = re.findall(r"(\d+) of (\d+) steps \(100%\) done", out)
    assert steps and steps[-1][0] == steps[-1][1], out[-6000:]
    submitted = SUBMITTED.findall(out)
    assert len(submitted) == int(steps[-1][1]) >= len(RULES), out[-6000:]
    slurm_logs = cluster / ".snakemake/slurm_logs"
    for jobid, log in submitted:
        log_path = Path(log)
        assert log_path.is_file() and log_path.is_relative_to(slurm_logs), log
        assert log_path.name == f"{jobid}.log"
    rules_seen = {Path(log).relative_to(slurm_logs).parts[0] for _, log in submitted}
    assert {f"rule_{r}" for r in RULES} <= rules_seen, rules_seen

    # ... and slurmctld ran them, in this working directory, to completion
    jobs = _slurm_jobs()
    ctld_log = None
    for jobid, _ in submitted:
        if jobid in jobs:
            assert jobs[jobid] == ("COMPLETED", str(cluster)), (jobid, jobs[jobid])
        else:  # aged out of slurmctld's memory (MinJobAge): its log still has it
            ctld_log = _slurmctld_log() if ctld_log is None else ctld_log
            assert f"JobId={jobid} done" in ctld_log, f"job {jobid} unknown to slurmctld"

    # the slice's outputs equal the local run's
    for rel in SAME_BYTES:
        assert (cluster / rel).read_bytes() == (local / rel).read_bytes(), rel
    for rel in SAME_FRAME:
        pd.testing.assert_frame_equal(
            pd.read_parquet(cluster / rel), pd.read_parquet(local / rel), check_exact=True
        )
    twin_files = {
        p.relative_to(local / TWIN)
        for p in (local / TWIN).rglob("*")
        if p.is_file() and p.name != ".snakemake_timestamp"
    }
    assert twin_files
    assert twin_files == {
        p.relative_to(cluster / TWIN)
        for p in (cluster / TWIN).rglob("*")
        if p.is_file() and p.name != ".snakemake_timestamp"
    }
    for rel in sorted(twin_files):
        assert (cluster / TWIN / rel).read_bytes() == (local / TWIN / rel).read_bytes(), rel
