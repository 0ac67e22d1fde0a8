"""Failed jobs read from a Snakemake log (the blocks Snakemake 9 writes, copied from a real
``--keep-going`` run), and the result folders they cost."""

from __future__ import annotations

from pathlib import Path

from emorepro.runfailures import FailedJob, failed_results, parse_failed_jobs, read_failed_jobs

R = "results/experiments/baselines/blstm/recola_full/recola46"
J = "results/logs/experiment/baselines/blstm/recola_full/recola46.log"
LOG = f"""Building DAG of jobs...
[Sat Dec  5 01:59:17 2026]
rule experiment:
    input: results/features/x.parquet
    output: {R}/predictions.parquet, {R}/metrics.json
    log: results/logs/experiment/baselines/blstm/recola_full/recola46.log
    jobid: 7
RuleException:
CorruptInputError in file "workflow/scripts/experiment.py", line 6:
[Sat Dec  5 01:59:20 2026]
Error in rule experiment:
    message: None
    jobid: 7
    input: results/features/x.parquet
    output: {R}/predictions.parquet, {R}/metrics.json
    log: {J} (check log file(s) for error details)
Execute 1 jobs...
[Sat Dec  5 01:59:21 2026]
Error in rule index_corpus:
    message: None
    jobid: 3
    output: results/index/rml.csv
    log: results/logs/index_corpus/rml.log (check log file(s) for error details)
Exiting because a job execution failed. Look above for error messages
[Sat Dec  5 01:59:22 2026]
Error in rule experiment:
    message: None
    jobid: 7
    output: {R}/predictions.parquet, {R}/metrics.json
    log: {J} (check log file(s) for error details)
"""


def test_each_failed_job_once_with_outputs_and_logs() -> None:
    jobs = parse_failed_jobs(LOG)
    assert jobs == [
        FailedJob(
            rule="experiment",
            jobid="7",
            outputs=(f"{R}/predictions.parquet", f"{R}/metrics.json"),
            logs=("results/logs/experiment/baselines/blstm/recola_full/recola46.log",),
            message="None",
        ),
        FailedJob(
            rule="index_corpus",
            jobid="3",
            outputs=("results/index/rml.csv",),
            logs=("results/logs/index_corpus/rml.log",),
            message="None",
        ),
    ]


def test_a_log_without_failures_has_none() -> None:
    assert parse_failed_jobs("rule a:\n    output: a.txt\nFinished jobid: 1 (Rule: a)\n") == []
    assert parse_failed_jobs("Error in rule a:\n") == [FailedJob("a", "", (), ())]


def test_failed_results_maps_result_folders_to_job_logs(tmp_path: Path) -> None:
    jobs = parse_failed_jobs(LOG)
    assert failed_results(jobs, "results", cwd=tmp_path) == {
        "experiments/baselines/blstm/recola_full/recola46": (
            "results/logs/experiment/baselines/blstm/recola_full/recola46.log"
        )
    }
    # an absolute results root, and outputs outside it, are handled
    assert failed_results(jobs, tmp_path / "results", cwd=tmp_path).keys() == {
        "experiments/baselines/blstm/recola_full/recola46"
    }
    assert failed_results(jobs, tmp_path / "elsewhere", cwd=tmp_path) == {}


def test_read_failed_jobs_skips_missing_logs(tmp_path: Path) -> None:
    log = tmp_path / "run.snakemake.log"
    log.write_text(LOG)
    assert len(read_failed_jobs([tmp_path / "gone.log", log])) == 2
