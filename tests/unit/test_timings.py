"""Per-job timings read from Snakemake benchmark files."""

from __future__ import annotations

import itertools
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


def _brute_force_longest(weights: dict[str, float], deps: dict[str, list[str]]) -> float:
    """Every path enumerated from every job backwards."""

    def longest_ending_at(j: str) -> float:
        before = (longest_ending_at(d) for d in deps.get(j, []))
        return weights.get(j, 0.0) + max(before, default=0.0)

    nodes = set(weights) | set(deps)
    return max(longest_ending_at(j) for j in nodes)


@pytest.mark.parametrize("seed", range(6))
def test_critical_path_equals_brute_force_on_random_dags(seed: int) -> None:
    import numpy as np

    from emorepro.timings import critical_path

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    names = [f"j{i}" for i in range(n)]
    weights = {j: float(rng.integers(0, 100)) for j in names}
    deps = {names[i]: [names[k] for k in range(i) if rng.random() < 0.3] for i in range(n)}
    length, path = critical_path(weights, deps)
    assert length == pytest.approx(_brute_force_longest(weights, deps))
    assert sum(weights[j] for j in path) == pytest.approx(length)
    for a, b in itertools.pairwise(path):  # a real chain of dependencies
        assert a in deps[b]


def test_critical_path_edges_and_cycle() -> None:
    from emorepro.timings import Budget, critical_path

    assert critical_path({}, {}) == (0.0, [])
    # a job without a benchmark (e.g. rule all) weighs 0 but still links its dependencies
    assert critical_path({"a": 3.0}, {"all#1": ["a"]}) == (3.0, ["a", "all#1"])
    with pytest.raises(ValueError, match="cycle"):
        critical_path({"a": 1.0, "b": 1.0}, {"a": ["b"], "b": ["a"]})
    ok, bad = Budget("x", 5.0, 5.0, "s"), Budget("y", 5.01, 5.0, "s", "note")
    assert ok.passed and ok.line().startswith("PASS")
    assert not bad.passed and bad.line().startswith("FAIL") and "[note]" in bad.line()
