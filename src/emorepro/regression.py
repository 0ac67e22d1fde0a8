"""Regression of reproduced numbers against committed expectations.

``benchmarks/regression/<scale>.yaml`` records, for a synthetic run at one scale and seed,
every numeric metric of every result file with a tolerance. :func:`check` compares a results
folder against it and returns the drifts; each drift names the result, the metric, the
expected and found values and the paper-table cells that the number feeds. A result or a
metric that disappeared is a drift too; new results are reported but not failures.

Expectations are regenerated deliberately with ``emorepro regress --update`` after a change
that is meant to move numbers (the diff of the YAML file is then part of the review).

Numbers of networks trained in float32 (cells with a tolerance wider than
:data:`DEFAULT_TOLERANCE`) depend on the CPU: the same seed gives the same numbers on one
machine, not across CPU vendors (MKL honours its AVX2 reproducibility branch on Intel CPUs
only, :mod:`emorepro.numerics`). So the expectations of a scale are kept per CPU
(``<scale>.<vendor>.yaml``, :func:`expectations_for`); on a CPU without its own file the
CPU-dependent cells are skipped, counted and named in the report, and every other number is
still checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from emorepro.cards import iter_cells
from emorepro.numerics import cpu_identity, cpu_kernels
from emorepro.yamlio import load_yaml

DEFAULT_TOLERANCE = 0.01


@dataclass(frozen=True)
class Drift:
    result: str
    metric: str
    expected: float | None
    found: float | None
    tolerance: float
    feeds: tuple[str, ...]

    def message(self) -> str:
        where = f"{self.result} :: {self.metric}"
        feeds = f" (feeds {', '.join(self.feeds)})" if self.feeds else ""
        if self.found is None:
            return f"MISSING {where}: expected {self.expected:.4f}, no such number{feeds}"
        if self.expected is None:
            return f"NEW {where} = {self.found:.4f} (not in the expectations){feeds}"
        return (
            f"DRIFT {where}: expected {self.expected:.4f} ± {self.tolerance:g}, "
            f"found {self.found:.4f} (diff {self.found - self.expected:+.4f}){feeds}"
        )


def collect(results_root: Path | str) -> dict[tuple[str, str], float]:
    """Every numeric metric (except counts ``n_*``) of every ``metrics.json`` under
    ``<results_root>/experiments``, keyed by (result folder relative to the root, metric)."""
    root = Path(results_root)
    found: dict[tuple[str, str], float] = {}
    for path in sorted((root / "experiments").rglob("metrics.json")):
        rel = path.parent.relative_to(root).as_posix()
        metrics = json.loads(path.read_text()).get("metrics", {})
        for key, value in metrics.items():
            if isinstance(value, int | float) and not key.startswith("n_"):
                found[(rel, key)] = float(value)
    return found


def _feeds(cards: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], list[str]]:
    feeds: dict[tuple[str, str], list[str]] = {}
    for card in cards.values():
        for c in iter_cells(card, results=""):
            if c.result and c.metric_key:
                feeds.setdefault((c.result, c.metric_key), []).append(
                    f"{c.card}/{c.table}/{c.row}/{c.column}"
                )
    return feeds


def load_expected(path: Path | str) -> dict[str, Any]:
    data = load_yaml(Path(path).read_text())
    if not isinstance(data, dict) or "cells" not in data:
        raise ValueError(f"{path}: not a regression file (needs a top-level 'cells' list)")
    return data


def check(
    results_root: Path | str,
    expected: Mapping[str, Any],
    *,
    cards: Mapping[str, Mapping[str, Any]] | None = None,
    same_cpu: bool = True,
) -> tuple[list[Drift], list[Drift], int]:
    """Compare a results folder with the expectations; returns (failures, new numbers,
    skipped). Without ``same_cpu`` the CPU-dependent cells (tolerance wider than
    :data:`DEFAULT_TOLERANCE`: float32 training) are skipped and counted."""
    found = collect(results_root)
    feeds = _feeds(cards or {})
    failures, new = [], []
    seen = set()
    skipped = 0
    for cell in expected["cells"]:
        key = (cell["result"], cell["metric"])
        seen.add(key)
        tol = float(cell.get("tolerance", DEFAULT_TOLERANCE))
        if not same_cpu and tol > DEFAULT_TOLERANCE:
            skipped += 1
            continue
        value = found.get(key)
        exp = float(cell["expected"])
        if value is None or abs(value - exp) > tol:
            failures.append(Drift(*key, exp, value, tol, tuple(feeds.get(key, ()))))
    for key, value in sorted(found.items()):
        if key not in seen:
            new.append(Drift(*key, None, value, DEFAULT_TOLERANCE, tuple(feeds.get(key, ()))))
    return failures, new, skipped


def expectations_for(directory: Path | str, scale: str) -> tuple[Path, bool]:
    """The expectations file of ``scale`` for this CPU: ``<scale>.<vendor>.yaml`` when it was
    recorded on this CPU (same vendor and kernels), else the first ``<scale>.*.yaml`` with
    ``False`` (its CPU-dependent cells cannot be compared here)."""
    directory = Path(directory)
    candidates = sorted(directory.glob(f"{scale}.*.yaml"))
    if not candidates:
        raise FileNotFoundError(f"{directory}: no expectations {scale}.<cpu vendor>.yaml")
    for path in candidates:
        if recorded_on_this_cpu(load_expected(path)):
            return path, True
    return candidates[0], False


def recorded_on_this_cpu(expected: Mapping[str, Any]) -> bool:
    """Were the expectations recorded on a CPU like this one (vendor and kernels)?"""
    recorded = expected.get("cpu") or {}
    now = cpu_identity()
    return (
        recorded.get("vendor") == now["vendor"]
        and dict(expected.get("cpu_kernels") or {}) == cpu_kernels()
    )


def snapshot(
    results_root: Path | str, *, scale: str, seed: int, tolerance: float = DEFAULT_TOLERANCE
) -> dict[str, Any]:
    """Expectations from a finished run (for ``emorepro regress --update``); tolerance
    ``tolerance`` or the wider one the result's family asks for
    (:meth:`emorepro.families.base.Family.tolerance`: networks trained in float32). Records
    the CPU kernels in force (:func:`emorepro.numerics.cpu_kernels`): float32 training
    depends on them."""

    def tol(result: str) -> float:
        return max(tolerance, family_tolerance(result))

    return {
        "scale": scale,
        "seed": seed,
        "cpu": cpu_identity(),
        "cpu_kernels": cpu_kernels(),
        "cells": [
            {"result": r, "metric": m, "expected": round(v, 6), "tolerance": tol(r)}
            for (r, m), v in sorted(collect(results_root).items())
        ],
    }


def family_tolerance(result: str) -> float:
    """The regression tolerance the family of a result folder asks for (0 if unknown)."""
    from emorepro.errors import EmoreproError
    from emorepro.families import get_family
    from emorepro.plan import ResultKey

    try:
        key = ResultKey.from_rel(result)
        return get_family(key.family).tolerance(key.experiment())
    except EmoreproError:
        return 0.0


def kernel_mismatch(expected: Mapping[str, Any]) -> str | None:
    """A sentence naming the difference when the expectations were recorded on another CPU or
    with other CPU kernels than this machine uses now (``None`` if the same)."""
    if recorded_on_this_cpu(expected):
        return None
    recorded = {**(expected.get("cpu") or {}), **(expected.get("cpu_kernels") or {})}
    now = {**cpu_identity(), **cpu_kernels()}
    return (
        f"note: the expectations were recorded on {recorded}, this machine is {now}; float32 "
        "training numbers differ between CPUs (see emorepro.numerics and emorepro.regression)"
    )


def write_expected(path: Path | str, data: Mapping[str, Any]) -> None:
    header = (
        "# Expected reproduced numbers of the synthetic run at this scale and seed.\n"
        "# Checked by `emorepro regress` (and the workflow tests). Regenerate only on purpose:\n"
        "#   snakemake --cores all --config scale=<scale> && emorepro regress --update\n"
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(header + yaml.safe_dump(dict(data), sort_keys=False))
