"""A job's log routing and its thread limits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emorepro.errors import EmoreproError
from emorepro.runlog import job_log

PROBE = """
import sys
{before}
from emorepro.runlog import job_log
with job_log(sys.argv[1]):
    import cv2
    print(cv2.getNumThreads())
"""


@pytest.mark.parametrize("before", ["", "import cv2"])
def test_job_threads_hold_opencv_pool(tmp_path: Path, before: str) -> None:
    """Snakemake sets OMP_NUM_THREADS to the rule's threads; OpenCV, which would size its pool
    from the CPU count, follows it whether imported before or inside the job."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("OPENCV_FOR_THREADS_NUM", None)
    code = PROBE.format(before=before)
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "job.log")],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "1"
    env["OMP_NUM_THREADS"] = "3"
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "job.log")],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "3"


def test_error_is_logged_as_one_line(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    with pytest.raises(EmoreproError), job_log(log):
        raise EmoreproError("a.wav: broken. Fix: re-export it")
    assert log.read_text().strip().endswith("a.wav: broken. Fix: re-export it")
