"""Comparison tables: reported vs reproduced for every printed number of a paper table.

For each cell of a card (:func:`emorepro.cards.iter_cells`) the comparison holds the number as
printed, its value, the reproduced value from the run's ``metrics.json`` (scaled to the
table's unit), the difference ``reproduced - reported``, a verdict against the card's
tolerance (``|diff| <= tolerance``) and a two-sided test of the reproduced value against the
reported one (:func:`emorepro.stats.reproduced_vs_reported`, sample size = the number of
predictions behind the reproduced number). Cells nobody has run yet say so ("not yet
reproduced"), they are never left out. Rows with ``compare_to`` get their significance mark
recomputed from the two reproduced runs (Fisher r-to-z for correlations, one-tailed z-test
for proportions, p < .05), beside the mark the paper printed.

Renders Markdown, LaTeX (booktabs) and CSV; every caption names the corpus source (real or
synthetic, scale, seed) of the runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from emorepro import stats
from emorepro.cards import Cell, iter_cells
from emorepro.results import read_result, source_of

CORRELATIONS = ("ccc", "pcc")
COLUMNS = [
    "row",
    "method",
    "column",
    "origin",
    "reported (printed)",
    "reported",
    "reproduced",
    "difference",
    "tolerance",
    "verdict",
    "p (vs reported)",
    "mark (printed)",
    "mark (recomputed)",
    "metric variant",
    "corpus source",
]


def _scale(unit: str) -> float:
    return 100.0 if unit == "percent" else 1.0


def sample_size(result_dir: Path | str, metric_key: str) -> int | None:
    """Number of predictions behind ``metric_key`` in a result folder (None if unknown).

    Continuous keys ``<target>.<role>.<metric>`` count the rows of that target and role in
    ``predictions.parquet``; other keys count all prediction rows.
    """
    path = Path(result_dir) / "predictions.parquet"
    if not path.is_file():
        return None
    table = pd.read_parquet(path)
    parts = metric_key.split(".")
    if len(parts) == 3 and {"target", "role"} <= set(table.columns):
        target, role, _ = parts
        return int(((table["target"] == target) & (table["role"] == role)).sum())
    return len(table)


def _origin(result: Mapping[str, Any]) -> str:
    """Corpus source of a result, plus the model profile when one was used."""
    text = source_of(result).describe()
    profile = result.get("profile")
    return f"{text}; profile {profile}" if profile else text


def _load(results_root: Path, cell: Cell, available: set[str] | None) -> dict[str, Any] | None:
    if cell.status != "dag" or cell.result is None:
        return None
    if available is not None and cell.result not in available:
        return None
    path = results_root / cell.result / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: result of {cell.card}/{cell.table}/{cell.row} is missing; run "
            f"`snakemake {path}` (or the whole DAG) first"
        )
    return read_result(path)


def _test(metric: str, a: float, b: float, n: int | None) -> float | None:
    if n is None or n < 4:
        return None
    return stats.reproduced_vs_reported(a, b, metric=metric, n=n).p_value


def compare_table(
    card: Mapping[str, Any],
    table_id: str,
    *,
    results_root: Path | str,
    available: set[str] | None = None,
) -> pd.DataFrame:
    """One row per printed cell of ``table_id`` with reported vs reproduced (see module doc).

    ``available``: result folders (relative to ``results_root``) produced by this
    configuration; a ``dag`` cell outside it reads "not run in this configuration". ``None``
    means every ``dag`` cell's result must exist.
    """
    results_root = Path(results_root)
    table = next(t for t in card["tables"] if t["id"] == table_id)
    compare_to = {r["id"]: r.get("compare_to") for r in table["rows"]}
    headers = {c["id"]: _header(c) for c in table["columns"]}
    printed_extra = {
        r["id"]: " ".join(v for v in r.get("printed", {}).values()) for r in table["rows"]
    }
    cells = [c for c in iter_cells(card, results="") if c.table == table_id]
    reproduced: dict[tuple[str, str], tuple[float, int | None]] = {}
    rows = []
    for cell in cells:
        result = _load(results_root, cell, available)
        value = n = None
        if result is not None:
            raw = result["metrics"].get(cell.metric_key)
            if raw is None:
                raise KeyError(
                    f"{results_root / cell.result}/metrics.json has no metric "
                    f"{cell.metric_key!r} (needed by {cell.card}/{cell.table}/{cell.row}); "
                    f"it has {sorted(result['metrics'])}"
                )
            value = float(raw) * _scale(cell.unit)
            n = sample_size(results_root / cell.result, cell.metric_key)
            reproduced[(cell.row, cell.column)] = (float(raw), n)
        row = _compare_row(cell, value, n, result, printed_extra[cell.row])
        row[COLUMNS.index("column")] = headers[cell.column]
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["mark (recomputed)"] = [
        _recomputed_mark(c, compare_to.get(c.row), reproduced) for c in cells
    ]
    return frame


def _header(column: Mapping[str, Any]) -> str:
    """The printed header, with the partition when the header does not name it."""
    part = column.get("partition")
    if part and part not in column["header"].lower():
        return f"{column['header']} [{part}]"
    return column["header"]


def _compare_row(
    cell: Cell, value: float | None, n: int | None, result: Mapping | None, extra: str
) -> list[Any]:
    method = f"{cell.label} {extra}".strip()
    diff = p = None
    if value is None:
        if cell.status == "quoted":
            verdict = "quoted (not re-run)"
        elif cell.status == "dag":
            verdict = "not run in this configuration"
        elif cell.status == "not compared":
            verdict = f"not compared: {cell.reason}"
        else:
            verdict = "not yet reproduced" + (f" (issue {cell.issue})" if cell.issue else "")
    elif cell.reported is None:
        verdict = "not reported"
    else:
        diff = value - cell.reported
        tol = cell.tolerance or 0.0
        verdict = "within tolerance" if abs(diff) <= tol + 1e-12 else "outside tolerance"
        p = _test(cell.metric, value / _scale(cell.unit), cell.reported / _scale(cell.unit), n)
    return [
        cell.row,
        method,
        cell.header,
        cell.origin,
        cell.printed,
        cell.reported,
        value,
        diff,
        cell.tolerance,
        verdict,
        p,
        cell.mark,
        "",
        cell.variant or "",
        _origin(result) if result else "",
    ]


def _recomputed_mark(
    cell: Cell,
    other_row: str | None,
    reproduced: Mapping[tuple[str, str], tuple[float, int | None]],
) -> str:
    if not other_row:
        return ""
    mine = reproduced.get((cell.row, cell.column))
    theirs = reproduced.get((other_row, cell.column))
    if mine is None or theirs is None or mine[1] is None or theirs[1] is None:
        return "n/a"
    (a, na), (b, nb) = mine, theirs
    if cell.metric in CORRELATIONS:
        res = stats.compare_correlations_independent(a, na, b, nb, alternative="greater")
    else:
        res = stats.two_proportions_ztest(round(a * na), na, round(b * nb), nb)
    return stats.significance_mark(res.p_value) or "-"


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def caption(card: Mapping[str, Any], table_id: str, frame: pd.DataFrame) -> str:
    """Caption: paper, table label and caption, and the corpus source of every run used."""
    table = next(t for t in card["tables"] if t["id"] == table_id)
    sources = sorted({s for s in frame["corpus source"] if s})
    ran = "; ".join(sources) if sources else "no run yet"
    return (
        f"{card['citation']}. {table['label']}: {table['caption']} "
        f"Metric: {table['metric']} ({table['unit']}). Reproduced on: {ran}."
    )


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    shown = frame.drop(columns=["reported"]).copy()
    for col in ("reproduced", "difference"):
        shown[col] = [_fmt(v) for v in shown[col]]
    shown["p (vs reported)"] = [_fmt(v, 4) for v in shown["p (vs reported)"]]
    shown["tolerance"] = [_fmt(v, 2) if v is not None else "" for v in shown["tolerance"]]
    return shown.fillna("")


def to_markdown(frame: pd.DataFrame, *, title: str, caption_text: str) -> str:
    shown = _display(frame)
    header = "| " + " | ".join(shown.columns) + " |\n|" + "---|" * len(shown.columns) + "\n"
    body = "".join(
        "| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |\n"
        for row in shown.itertuples(index=False)
    )
    return f"# {title}\n\n{caption_text}\n\n{header}{body}"


_TEX = str.maketrans({c: f"\\{c}" for c in "&%$#_{}"})


def to_latex(frame: pd.DataFrame, *, caption_text: str, label: str) -> str:
    shown = _display(frame).drop(columns=["row", "metric variant"])
    cols = "l" * len(shown.columns)
    lines = [
        "\\begin{table}[t]",
        "\\centering\\scriptsize",
        f"\\caption{{{caption_text.translate(_TEX)}}}",
        f"\\label{{{label}}}",
        f"\\begin{{tabular}}{{{cols}}}",
        "\\toprule",
        " & ".join(c.translate(_TEX) for c in shown.columns) + " \\\\",
        "\\midrule",
    ]
    lines += [
        " & ".join(str(v).translate(_TEX) for v in row) + " \\\\"
        for row in shown.itertuples(index=False)
    ]
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(lines)


def summary(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Verdict counts per table (for the index page)."""
    rows = []
    for name, frame in frames.items():
        counts = frame["verdict"].str.replace(r" \(issue \d+\)", "", regex=True).value_counts()
        rows.append({"table": name, "cells": len(frame), **counts.to_dict()})
    return pd.DataFrame(rows).fillna(0)


def table_ids(card: Mapping[str, Any]) -> Sequence[str]:
    return [t["id"] for t in card["tables"]]
