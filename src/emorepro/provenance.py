"""Which code produced a result: the package version and the git commit of the checkout."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path


@cache
def code_version() -> str:
    """Package version plus the git commit of the checkout when there is one."""
    from emorepro import __version__

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return f"{__version__}+{commit}"
