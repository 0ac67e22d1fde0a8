"""A new paper family is a folder, a card and a config block (docs/adding-a-family.md).

In a temporary copy of the repository (its tracked files, committed to a fresh git
repository), the example family of ``tests/workflow/example_family/`` is added as
``src/emorepro/families/example/``, its card as ``benchmarks/example.yaml`` and its block in
``benchmarks/config.yaml``; the real Snakefile then runs it end to end. ``git status`` of the
copy afterwards lists nothing but those three, so no shared file had to change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tiny import SCHEDULER

pytestmark = pytest.mark.workflow
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = Path(__file__).parent / "example_family"


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _copy_repository(dest: Path) -> Path:
    """The tracked files of this checkout (as they are in the working tree), committed."""
    files = _git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for rel in filter(None, files.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-qm", "copy")
    return dest


def _add_example_family(repo: Path) -> None:
    shutil.copytree(EXAMPLE / "family", repo / "src/emorepro/families/example")
    shutil.copy(EXAMPLE / "example.yaml", repo / "benchmarks/example.yaml")
    path = repo / "benchmarks/config.yaml"
    cfg = yaml.safe_load(path.read_text())
    # run knobs for a quick test: tiny twins of one corpus, only the new family's block
    cfg["scale"] = "tiny"
    cfg["corpora"] = {"rml": {"source": "synthetic"}}
    cfg["features"]["logmel"]["corpora"] = []
    cfg["features"]["faces"]["corpora"] = []
    cfg["families"] = yaml.safe_load((EXAMPLE / "config_block.yaml").read_text())
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def _snakemake(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}  # the copy's library, not ours
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *SCHEDULER, *args]
    # niced beside the tiny DAG (tests/conftest.py), which leaves it little CPU until it ends
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, env=env, timeout=4500)


def test_a_new_family_needs_only_its_folder_card_and_config_block(tmp_path: Path) -> None:
    repo = _copy_repository(tmp_path / "repo")
    _add_example_family(repo)
    proc = _snakemake(repo)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]

    res = repo / "results"
    result = json.loads(
        (res / "experiments/example/centroid_eGeMAPSv02/rml/loso/metrics.json").read_text()
    )
    assert (result["family"], result["task"], result["paper"]) == ("example", "classification",
                                                                     "example")  # fmt: skip
    assert result["metrics"]["n_folds"] > 1 and result["metrics"]["uar_pooled"] > 1 / 6
    table = pd.read_csv(res / "tables/example/table_1.csv")
    assert table["reproduced"].notna().all()
    assert table["corpus source"].str.startswith("synthetic twin (scale tiny").all()
    for kind in ("confusion", "centroids"):  # a shared figure and the family's own
        png = res / f"figures/experiments/example/centroid_eGeMAPSv02/rml/loso/{kind}.png"
        assert png.read_bytes()[:4] == b"\x89PNG", kind
    assert "## example" in (res / "index.md").read_text()
    # other families are off in this configuration: their rows say so, nothing fails
    other = pd.read_csv(res / "tables/tzirakis2017_published/table_3.csv")
    assert (other.loc[other["origin"] == "own", "verdict"] == "not run in this configuration").all()
    assert "Nothing to be done" in (lambda p: p.stdout + p.stderr)(_snakemake(repo, "-n"))

    changed = sorted(_git(repo, "status", "--porcelain").splitlines())
    assert changed == [
        " M benchmarks/config.yaml",
        "?? benchmarks/example.yaml",
        "?? src/emorepro/families/example/",
    ]
