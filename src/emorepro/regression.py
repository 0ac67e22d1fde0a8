"""Regression of reproduced numbers against committed expectations.

``benchmarks/regression/<scale>.yaml`` records, for a synthetic run at one scale and seed,
every numeric metric of every result file with a tolerance. :func:`check` compares a results
folder against it and returns the drifts; each drift names the result, the metric, the
expected and found values and the paper-table cells that the number feeds. A result or a
metric that disappeared is a drift too; new results are reported but not failures.

Expectations are regenerated deliberately with ``emorepro regress --update`` after a change
that is meant to move numbers (the diff of the YAML file is then part of the review).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from emorepro.cards import iter_cells
from emorepro.numerics import cpu_kernels

DEFAULT_TOLERANCE = 0.01
#: Wider tolerances for results whose numbers come from float32 training (same kernels and
#: seed -> identical; emorepro.numerics pins the CPU kernels, a BLAS build may still differ).
TOLERANCES = {"/blstm_": 0.03, "/tzirakis2017/": 0.05}


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
    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict) or "cells" not in data:
        raise ValueError(f"{path}: not a regression file (needs a top-level 'cells' list)")
    return data


def check(
    results_root: Path | str,
    expected: Mapping[str, Any],
    *,
    cards: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[Drift], list[Drift]]:
    """Compare a results folder with the expectations; returns (failures, new numbers)."""
    found = collect(results_root)
    feeds = _feeds(cards or {})
    failures, new = [], []
    seen = set()
    for cell in expected["cells"]:
        key = (cell["result"], cell["metric"])
        seen.add(key)
        tol = float(cell.get("tolerance", DEFAULT_TOLERANCE))
        value = found.get(key)
        exp = float(cell["expected"])
        if value is None or abs(value - exp) > tol:
            failures.append(Drift(*key, exp, value, tol, tuple(feeds.get(key, ()))))
    for key, value in sorted(found.items()):
        if key not in seen:
            new.append(Drift(*key, None, value, DEFAULT_TOLERANCE, tuple(feeds.get(key, ()))))
    return failures, new


def snapshot(
    results_root: Path | str, *, scale: str, seed: int, tolerance: float = DEFAULT_TOLERANCE
) -> dict[str, Any]:
    """Expectations from a finished run (for ``emorepro regress --update``); tolerance
    ``tolerance`` except where :data:`TOLERANCES` names a wider one. Records the CPU kernels
    in force (:func:`emorepro.numerics.cpu_kernels`): float32 training depends on them."""

    def tol(result: str) -> float:
        return max([tolerance, *(t for key, t in TOLERANCES.items() if key in result)])

    return {
        "scale": scale,
        "seed": seed,
        "cpu_kernels": cpu_kernels(),
        "cells": [
            {"result": r, "metric": m, "expected": round(v, 6), "tolerance": tol(r)}
            for (r, m), v in sorted(collect(results_root).items())
        ],
    }


def kernel_mismatch(expected: Mapping[str, Any]) -> str | None:
    """A sentence naming the difference when the expectations were recorded with other CPU
    kernels than this machine uses now (``None`` if equal or not recorded)."""
    recorded = expected.get("cpu_kernels")
    now = cpu_kernels()
    if not recorded or dict(recorded) == now:
        return None
    return (
        f"note: the expectations were recorded with CPU kernels {dict(recorded)}, this machine "
        f"uses {now}; float32 training numbers differ between kernel sets "
        "(see emorepro.numerics)"
    )


def write_expected(path: Path | str, data: Mapping[str, Any]) -> None:
    header = (
        "# Expected reproduced numbers of the synthetic run at this scale and seed.\n"
        "# Checked by `emorepro regress` (and the workflow tests). Regenerate only on purpose:\n"
        "#   snakemake --cores all --config scale=<scale> && emorepro regress --update\n"
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(header + yaml.safe_dump(dict(data), sort_keys=False))
