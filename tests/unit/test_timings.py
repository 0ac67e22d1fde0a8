"""Per-job timings read from Snakemake benchmark files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emorepro.errors import CorruptInputError, EmoreproError
from emorepro.timings import read_timings

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _bench(path: Path, s: float, rss: float, cpu: float, end: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{s}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")
    os.utime(path, (end, end))


def test_rules_span_and_memory(tmp_path: Path) -> None:
    _bench(tmp_path / "experiment/a/b/rml/loso.tsv", 100.0, 900.0, 180.0, end=1_000.0)
    _bench(tmp_path / "experiment/a/c/rml/loso.tsv", 50.0, 2600.0, 60.0, end=1_040.0)
    _bench(tmp_path / "landmark_model.tsv", 5.0, 100.0, 4.0, end=905.0)
    t = read_timings(tmp_path)
    assert t.span_s == pytest.approx(1_040.0 - 900.0)  # first start: 1000 - 100
    rules = t.by_rule()
    assert list(rules.index) == ["experiment", "landmark_model"]
    assert rules.loc["experiment", "jobs"] == 2
    assert rules.loc["experiment", "total_s"] == pytest.approx(150.0)
    assert rules.loc["experiment", "cpu_s"] == pytest.approx(240.0)
    assert rules.loc["experiment", "max_rss_mb"] == pytest.approx(2600.0)
    assert list(t.over_memory(2500.0)["job"]) == ["experiment/a/c/rml/loso"]
    only = t.matching(["a/c", "landmark"])
    assert sorted(only.jobs["job"]) == ["experiment/a/c/rml/loso", "landmark_model"]
    assert only.span_s == pytest.approx(1_040.0 - 900.0)  # landmark_model starts at 900
    with pytest.raises(EmoreproError, match="no job path contains"):
        t.matching(["zhang"])


def test_missing_folder_and_broken_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(EmoreproError, match="no benchmark files"):
        read_timings(tmp_path)
    (tmp_path / "x.tsv").write_text("s\n")
    with pytest.raises(CorruptInputError, match=r"x\.tsv.*not a Snakemake benchmark file"):
        read_timings(tmp_path)
