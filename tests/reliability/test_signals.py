"""SIGTERM and SIGINT inside a job: it stops, says so in its log, and leaves no partial file
at an output path or beside it (issue 15 §1.2; the training resume is checked in
tests/unit/test_tzirakis_family.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = """
import sys, time
from pathlib import Path
from emorepro import io
from emorepro.runlog import job_log

out, log, ready = (Path(a) for a in sys.argv[1:4])
def slow(tmp):
    tmp.write_text("half of a result")
    ready.write_text("writing")
    time.sleep(60)  # the signal arrives here, mid-write
with job_log(log):
    io.atomic_write(out, slow)
"""


@pytest.mark.parametrize(
    ("sig", "words"),
    [(signal.SIGTERM, "stopped by SIGTERM"), (signal.SIGINT, "stopped by SIGINT")],
)
def test_a_signal_mid_write_stops_the_job_and_leaves_nothing(
    tmp_path: Path, sig: signal.Signals, words: str
) -> None:
    out, log, ready = tmp_path / "res/metrics.json", tmp_path / "job.log", tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), str(log), str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ready.exists(), proc.communicate()[1][-2000:]
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0, "a stopped job must fail, or Snakemake keeps its outputs"
    assert list((tmp_path / "res").iterdir()) == []  # no result, no temporary file
    assert words in log.read_text() and "a rerun resumes from it" in log.read_text()
    assert words in err
