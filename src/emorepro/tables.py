"""Comparison tables: reported vs reproduced for every printed number of a paper table.

For each cell of a card (:func:`emorepro.cards.iter_cells`) the comparison holds the number as
printed, its value, the reproduced value from the run's ``metrics.json`` (scaled to the
table's unit), the difference ``reproduced - reported``, a verdict against the card's
tolerance (``|diff| <= tolerance``) and a two-sided test of the reproduced value against the
reported one (:func:`emorepro.stats.reproduced_vs_reported`). Cells nobody has run yet say
so ("not yet reproduced"), they are never left out. Rows with ``compare_to`` get their
significance mark recomputed from the two reproduced runs with the test the paper names
(Fisher r-to-z for correlations, one-tailed z-test for proportions, p < .05), beside the mark
the paper printed, and with the paired test that fits two systems scored on the same frames
(Steiger) or items (McNemar), :func:`paired_test`; "marks agree" says whether the two agree.

Derived cells (``origin: derived``, numbers the text computes from other cells: a gain, a
count of cases, a selected weight) are computed from the reproduced values of the cells their
expression names (:func:`emorepro.cards.evaluate`), never copied from the paper; the column
"derived from" gives the expression and the value the paper's own printed cells give. They
are "pending" with the missing inputs named until every input has a run, and "not
reproducible" with the card's reason where no run can give them. A derived number has no
sample of its own, so the tests do not apply; the note says so.

Sample size of the tests (:func:`sample_size`): ``n`` is the number of predictions behind
the number. Items (clips, videos) are independent, so a test on items uses ``n``. Frames of
one recording are not: a CCC over 67,500 autocorrelated 40 ms frames carries the evidence of
a few hundred independent values, and n = frames makes any gap "significant". For frame-level
metrics the tests use the Bartlett effective n (:func:`emorepro.stats.
effective_sample_size_blocks`, per recording, summed over recordings); the column
"n (test)" shows the n used and "p (n = frames)" keeps the frame-n p value, labelled.

Seeds (``seeds: k``, :mod:`emorepro.replicates`): where the run planned seed replicates of a
cell's result, "reproduced" is the mean over the k seeds, "seeds" their number and "sd
(seeds)" their standard deviation (ddof 1); the verdict compares the mean. With k >= 2 the
test against the reported number is a one-sample t-test over the seeds
(:func:`emorepro.stats.seeds_vs_reported`, Fisher z for correlations; "n (test)" is then k)
since the seed, not the frame, is what a rerun of the method varies; "p (n = frames)" stays
the frame-n test of the mean. Derived cells and significance marks use the means (a
hyper-parameter a run selects, ``param``, is replicate 0's); the paired tests read the
predictions of replicate 0.

Renders Markdown, LaTeX (booktabs) and CSV; every caption names the corpus source (real or
synthetic, scale, seed) of the runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from emorepro import stats
from emorepro.cards import Cell, Ref, derive_refs, describe, evaluate, iter_cells
from emorepro.replicates import replicate_rel
from emorepro.results import read_result, source_of

CORRELATIONS = ("ccc", "pcc")
COLUMNS = [
    "row",
    "method",
    "column",
    "origin",
    "derived from",
    "reported (printed)",
    "reported",
    "reproduced",
    "seeds",
    "sd (seeds)",
    "difference",
    "tolerance",
    "verdict",
    "n",
    "n (test)",
    "p (vs reported)",
    "p (n = frames)",
    "mark (printed)",
    "mark (recomputed)",
    "mark (paired)",
    "marks agree",
    "metric variant",
    "corpus source",
    "note",
]

NUMERIC = (
    "reported",
    "reproduced",
    "sd (seeds)",
    "difference",
    "tolerance",
    "p (vs reported)",
    "p (n = frames)",
)


def _scale(unit: str) -> float:
    return 100.0 if unit == "percent" else 1.0


@dataclass(frozen=True)
class SampleSize:
    """``n`` predictions behind a number; ``n_test`` the n its tests use (``n`` for
    independent items, the Bartlett effective n for frames); ``frames``: a frame series."""

    n: int
    n_test: float
    frames: bool


def sample_size(result_dir: Path | str, metric_key: str) -> SampleSize | None:
    """Sample size behind ``metric_key`` in a result folder (None if unknown).

    Continuous keys ``<target>.<role>.<metric>`` count the frames of that target and role in
    ``predictions.parquet``; their test n is the Bartlett effective n of (gold, prediction),
    per recording (``item_id``, in ``time_s`` order), summed over recordings. Other keys count
    all prediction rows as independent items.
    """
    path = Path(result_dir) / "predictions.parquet"
    if not path.is_file():
        return None
    table = pd.read_parquet(path)
    parts = metric_key.split(".")
    if len(parts) == 3 and {"target", "role"} <= set(table.columns):
        target, role, _ = parts
        rows = table[(table["target"] == target) & (table["role"] == role)]
        if len(rows) and {"item_id", "y_true", "y_pred"} <= set(rows.columns):
            rows = rows.sort_values(["item_id", "time_s"] if "time_s" in rows else ["item_id"])
            blocks = ((g["y_true"], g["y_pred"]) for _, g in rows.groupby("item_id", sort=False))
            return SampleSize(len(rows), stats.effective_sample_size_blocks(blocks), True)
        return SampleSize(len(rows), float(len(rows)), True) if len(rows) else None
    return SampleSize(len(table), float(len(table)), False)


def _origin(result: Mapping[str, Any]) -> str:
    """Corpus source of a result, plus the model profile when one was used."""
    text = source_of(result).describe()
    profile = result.get("profile")
    return f"{text}; profile {profile}" if profile else text


def _failure(cell: Cell, failed: Mapping[str, str] | None) -> str | None:
    """The verdict of a planned cell with no result in a run that failed (partial tables):
    its own job failed, the experiment it post-processes failed, or it was not reached."""
    if failed is None or cell.result is None:
        return None
    for rel, log in failed.items():
        if cell.result == rel or cell.result.startswith(rel + "/"):
            where = f"log: {log}" if log else "no job log"
            if cell.result == rel:
                return f"failed ({where})"
            return f"failed: its experiment {rel} failed ({where})"
    return "not run: the run stopped before it, or a job it needs failed"


def _missing(cell: Cell, available: set[str] | None, failed: Mapping[str, str] | None) -> str:
    """The verdict of a cell without a reproduced value."""
    if cell.status == "dag" and (available is None or cell.result in available):
        return _failure(cell, failed) or _no_value(cell)
    return _no_value(cell)


def _load(
    results_root: Path, cell: Cell, available: set[str] | None, partial: bool = False
) -> dict[str, Any] | None:
    if cell.status != "dag" or cell.result is None:
        return None
    if available is not None and cell.result not in available:
        return None
    path = results_root / cell.result / "metrics.json"
    if partial and not path.is_file():
        return None
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: result of {cell.card}/{cell.table}/{cell.row} is missing; run "
            f"`snakemake {path}` (or the whole DAG) first"
        )
    return read_result(path)


def _replicates(
    results_root: Path, cell: Cell, available: set[str] | None, partial: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """``(folder, result)`` of each seed replicate ``r >= 1`` of the cell's result that the
    configuration plans (in ``available``; replicates are numbered from 1 without gaps). In a
    failed run (``partial``) a replicate without a result is left out."""
    if available is None or cell.result is None:
        return []
    out = []
    r = 1
    while (rel := replicate_rel(cell.result, r)) in available:
        path = results_root / rel / "metrics.json"
        if path.is_file() or not partial:
            out.append((rel, read_result(path)))
        r += 1
    return out


def _seed_values(
    results_root: Path,
    cell: Cell,
    result: Mapping[str, Any],
    available: set[str] | None,
    partial: bool = False,
) -> list[float]:
    """The cell's metric (fraction) of replicate 0 (``result``) and of every planned replicate."""
    values = [_metric(results_root, cell, result)]
    for rel, other in _replicates(results_root, cell, available, partial):
        values.append(_metric(results_root, cell, other, rel=rel))
    return values


def _metric(
    results_root: Path, cell: Cell, result: Mapping[str, Any], rel: str | None = None
) -> float:
    """The cell's metric of its result (fraction), or a KeyError naming the file."""
    raw = result["metrics"].get(cell.metric_key)
    if raw is None:
        raise KeyError(
            f"{results_root / str(rel or cell.result)}/metrics.json has no metric "
            f"{cell.metric_key!r} (needed by {cell.card}/{cell.table}/{cell.row}); "
            f"it has {sorted(result['metrics'])}"
        )
    return float(raw)


def _test(metric: str, a: float, b: float, n: float | None) -> float | None:
    if n is None or n < 4:
        return None
    return stats.reproduced_vs_reported(a, b, metric=metric, n=n).p_value


def compare_table(
    card: Mapping[str, Any],
    table_id: str,
    *,
    results_root: Path | str,
    available: set[str] | None = None,
    failed: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per printed cell of ``table_id`` with reported vs reproduced (see module doc).

    ``available``: result folders (relative to ``results_root``) this configuration plans;
    a ``dag`` cell outside it reads "not run in this configuration". ``None`` means every
    ``dag`` cell's result must exist.

    ``failed`` (partial tables of a run that failed, :mod:`emorepro.runfailures`): result
    folder -> log of its failed job. A planned cell without a result then reads "failed
    (log: ...)" when its job (or the experiment it post-processes) failed, else "not run";
    it never raises for a missing result.
    """
    results_root = Path(results_root)
    table = next(t for t in card["tables"] if t["id"] == table_id)
    compare_to = {r["id"]: r.get("compare_to") for r in table["rows"]}
    headers = {c["id"]: _header(c) for c in table["columns"]}
    printed_extra = {
        r["id"]: " ".join(v for v in r.get("printed", {}).values()) for r in table["rows"]
    }
    cells = [c for c in iter_cells(card, results="") if c.table == table_id]
    reproduced: dict[tuple[str, str], _Run] = {}
    inputs = _Inputs(card, results_root, available, failed)
    rows = []
    for cell in cells:
        if cell.origin == "derived":
            row = _derived_row(cell, inputs, card, printed_extra[cell.row])
            row[COLUMNS.index("column")] = headers[cell.column]
            rows.append(row)
            continue
        partial = failed is not None
        result = _load(results_root, cell, available, partial=partial)
        seeds: list[float] = []
        n = None
        if result is not None:
            seeds = _seed_values(results_root, cell, result, available, partial)
            raw = float(np.mean(seeds))
            n = sample_size(results_root / cell.result, cell.metric_key)
            reproduced[(cell.row, cell.column)] = _Run(
                raw, n.n_test if n else None, results_root / cell.result, cell.metric_key
            )
        missing = _missing(cell, available, failed) if result is None else None
        row = _compare_row(cell, seeds, n, result, printed_extra[cell.row], missing)
        row[COLUMNS.index("column")] = headers[cell.column]
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in NUMERIC:  # NaN, not None, where nothing was reproduced (all-None columns too)
        frame[col] = frame[col].astype(float)
    marks = [_marks(c, compare_to.get(c.row), reproduced) for c in cells]
    frame["mark (recomputed)"] = [m[0] for m in marks]
    frame["mark (paired)"] = [m[1] for m in marks]
    frame["marks agree"] = [m[2] for m in marks]
    return frame


def _header(column: Mapping[str, Any]) -> str:
    """The printed header, with the partition when the header does not name it."""
    part = column.get("partition")
    if part and part not in column["header"].lower():
        return f"{column['header']} [{part}]"
    return column["header"]


def _no_value(cell: Cell) -> str:
    """Why a cell has no reproduced value (its verdict)."""
    if cell.status == "quoted":
        return "quoted (not re-run)"
    if cell.status == "dag":
        return "not run in this configuration"
    if cell.status == "not compared":
        return f"not compared: {cell.reason}"
    if cell.status == "not reproducible":
        return f"not reproducible: {cell.reason}"
    return "not yet reproduced" + (f" (issue {cell.issue})" if cell.issue else "")


def _verdict(value: float, cell: Cell) -> tuple[float | None, str]:
    """(difference, verdict) of a reproduced value against the printed one."""
    if cell.reported is None:
        return None, "not reported"
    diff = value - cell.reported
    tol = cell.tolerance or 0.0
    return diff, "within tolerance" if abs(diff) <= tol + 1e-12 else "outside tolerance"


def _compare_row(
    cell: Cell,
    seeds: Sequence[float],
    n: SampleSize | None,
    result: Mapping | None,
    extra: str,
    missing: str | None = None,
) -> list[Any]:
    """One reproduced cell; ``seeds``: its metric (fraction) per seed replicate (empty when
    nothing was reproduced), see the module doc."""
    method = f"{cell.label} {extra}".strip()
    diff = p = p_frames = value = sd = None
    n_test = n.n_test if n else None
    notes = []
    if not seeds:
        verdict = missing if missing is not None else _no_value(cell)
    else:
        value = float(np.mean(seeds)) * _scale(cell.unit)
        sd = float(np.std(seeds, ddof=1)) * _scale(cell.unit) if len(seeds) > 1 else None
        diff, verdict = _verdict(value, cell)
        if diff is not None and n is not None:
            a, b = value / _scale(cell.unit), cell.reported / _scale(cell.unit)
            p = _test(cell.metric, a, b, n.n_test)
            p_frames = _test(cell.metric, a, b, n.n) if n.frames else p
        if diff is not None and len(seeds) > 1:
            n_test, p, why = _seeds_test(cell, seeds)
            notes.append(why)
        note = (result or {}).get("notes", {}).get(cell.metric_key, "")
        if note:
            notes.insert(0, note)
    return [
        cell.row,
        method,
        cell.header,
        cell.origin,
        "",
        cell.printed,
        cell.reported,
        value,
        len(seeds) if seeds else None,
        sd,
        diff,
        cell.tolerance,
        verdict,
        n.n if n and value is not None else None,
        round(n_test, 1) if n_test is not None and value is not None else None,
        p,
        p_frames,
        cell.mark,
        "",
        "",
        "",
        cell.variant or "",
        _origin(result) if result else "",
        "; ".join(notes),
    ]


def _seeds_test(cell: Cell, seeds: Sequence[float]) -> tuple[float, float | None, str]:
    """(test n, p, note) of the one-sample t-test of the seeds against the reported value."""
    reported = cell.reported / _scale(cell.unit)
    try:
        res = stats.seeds_vs_reported(seeds, reported, metric=cell.metric)
    except ValueError as err:
        return float(len(seeds)), None, f"test over {len(seeds)} seeds: not applicable ({err})"
    scale = " on Fisher z" if cell.metric in CORRELATIONS else ""
    return float(len(seeds)), res.p_value, f"test: one-sample t over {len(seeds)} seeds{scale}"


class _Inputs:
    """The reproduced (or, for ``{printed: ...}``, printed) values of a card's cells that
    derived cells read; each result file is read once. ``why`` says why an input has none."""

    def __init__(
        self,
        card: Mapping[str, Any],
        root: Path,
        available: set[str] | None,
        failed: Mapping[str, str] | None = None,
    ) -> None:
        self.cells = {Ref(c.table, c.row, c.column): c for c in iter_cells(card, results="")}
        self.root, self.available, self.failed = root, available, failed
        self.loaded: dict[str, dict[str, Any] | None] = {}
        self.why: dict[Ref, str] = {}

    def _cell(self, ref: Ref) -> Cell:
        return self.cells[Ref(ref.table, ref.row, ref.column)]

    def result(self, ref: Ref) -> dict[str, Any] | None:
        cell = self._cell(ref)
        if cell.result is None or cell.status != "dag":
            self.why[ref] = _no_value(cell)
            return None
        if cell.result not in self.loaded:
            self.loaded[cell.result] = _load(
                self.root, cell, self.available, partial=self.failed is not None
            )
        result = self.loaded[cell.result]
        if result is None:
            self.why[ref] = _missing(cell, self.available, self.failed)
        return result

    def value(self, ref: Ref) -> float | None:
        cell = self._cell(ref)
        if ref.printed:
            return cell.reported
        result = self.result(ref)
        if result is None:
            return None
        seeds = _seed_values(self.root, cell, result, self.available, self.failed is not None)
        return float(np.mean(seeds)) * _scale(cell.unit)

    def param(self, ref: Ref, key: str) -> float | None:
        result = self.result(ref)
        if result is None:
            return None
        params = result.get("params", {})
        if key not in params:
            cell = self._cell(ref)
            raise KeyError(
                f"{self.root / str(cell.result)}/metrics.json has no params key {key!r} (needed "
                f"by a derived cell of {cell.card}); it has {sorted(params)}"
            )
        return float(params[key])

    def printed(self, ref: Ref) -> float | None:
        return self._cell(ref).reported

    def sources(self, refs: Sequence[Ref]) -> str:
        """Corpus sources of the results the (reproduced) inputs come from."""
        results = (self.result(r) for r in refs if not r.printed)
        return "; ".join(sorted({_origin(r) for r in results if r}))


_NO_TEST = {
    "difference": "a difference of two numbers",
    "count": "a count of cases",
    "mean": "a mean of other numbers",
    "min": "the smaller of other numbers",
    "max": "the larger of other numbers",
    "param": "a hyper-parameter the run selects",
    "same": "a value the runs share",
}


def _pending(missing: Sequence[Ref], why: Mapping[Ref, str], shown: int = 3) -> str:
    """``pending (<why>): <refs>`` per reason, at most ``shown`` refs named each."""
    by_reason: dict[str, list[str]] = {}
    for ref in missing:
        by_reason.setdefault(why.get(ref, "no value"), []).append(str(ref))
    parts = []
    for reason, refs in by_reason.items():
        more = f" and {len(refs) - shown} more" if len(refs) > shown else ""
        parts.append(f"{reason}: {', '.join(refs[:shown])}{more}")
    return "pending (" + "; ".join(parts) + ")"


def _derived_row(cell: Cell, inputs: _Inputs, card: Mapping[str, Any], extra: str) -> list[Any]:
    """A derived cell: its value computed from the reproduced inputs, the expression and
    the value the printed inputs give, a verdict, and no test (see module doc)."""
    expr = cell.derivation
    diff = value = None
    source = note = corpus = ""
    if expr is None:
        verdict = _no_value(cell)
    else:
        derived = evaluate(expr, inputs.value, inputs.param)
        paper = evaluate(expr, inputs.printed).value
        source = describe(expr, card)
        if paper is not None:
            source += f" (printed cells give {paper:.4g})"
        what = _NO_TEST.get(expr["op"], f"a {expr['op']} of other numbers")
        note = f"test: not applicable ({what} has no sample of its own)"
        value = derived.value
        if value is not None:
            diff, verdict = _verdict(value, cell)
            corpus = inputs.sources(derive_refs(expr))
        elif derived.problem:
            verdict = f"outside tolerance: {derived.problem}"
        else:
            verdict = _pending(derived.missing, inputs.why)
    values = {
        "row": cell.row,
        "method": f"{cell.label} {extra}".strip(),
        "column": cell.header,
        "origin": cell.origin,
        "derived from": source,
        "reported (printed)": cell.printed,
        "reported": cell.reported,
        "reproduced": value,
        "difference": diff,
        "tolerance": cell.tolerance,
        "verdict": verdict,
        "mark (printed)": cell.mark,
        "mark (recomputed)": "",
        "mark (paired)": "",
        "marks agree": "",
        "metric variant": cell.variant or "",
        "corpus source": corpus,
        "note": note,
    }
    return [values.get(c) for c in COLUMNS]


class _Run(NamedTuple):
    """A reproduced number: value (fraction), test n, result folder, metric key."""

    value: float
    n_test: float | None
    path: Path
    key: str


def _marks(
    cell: Cell, other_row: str | None, reproduced: Mapping[tuple[str, str], _Run]
) -> tuple[str, str, str]:
    """(mark by the paper's test, mark by the paired test, whether they agree) for a row
    that claims to beat ``other_row`` (one-tailed, p < .05; ``-`` = not significant)."""
    if not other_row:
        return "", "", ""
    mine = reproduced.get((cell.row, cell.column))
    theirs = reproduced.get((other_row, cell.column))
    if mine is None or theirs is None or mine.n_test is None or theirs.n_test is None:
        return "n/a", "n/a", ""
    (a, na), (b, nb) = mine[:2], theirs[:2]
    if cell.metric in CORRELATIONS:
        res = stats.compare_correlations_independent(a, na, b, nb, alternative="greater")
    else:
        res = stats.two_proportions_ztest(round(a * na), na, round(b * nb), nb)
    recomputed = stats.significance_mark(res.p_value) or "-"
    paired_res = paired_test(mine, theirs, cell.metric)
    if isinstance(paired_res, str):
        return recomputed, f"n/a ({paired_res})", ""
    paired = stats.significance_mark(paired_res.p_value) or "-"
    name = "Steiger" if cell.metric in CORRELATIONS else "McNemar"
    agree = "yes" if paired == recomputed else "no"
    return recomputed, f"{paired} ({name}, p={paired_res.p_value:.3g})", agree


def paired_test(mine: _Run, theirs: _Run, metric: str) -> stats.TestResult | str:
    """The test that fits two systems scored on the same data, one-tailed (mine better).

    Correlations (ccc, pcc): Steiger's dependent test (:func:`stats.
    compare_correlations_dependent`) with the two reproduced values as r_12, r_13, the
    Pearson r of the two prediction series on the same frames as r_23 and the smaller of the
    two test n. Proportions: the exact McNemar test on each item's correctness (for UAR or F1
    this tests accuracy, the item-level quantity both share). Returns why not, as a string,
    when the two results do not score the same frames or items.
    """
    a, b = _predictions(mine), _predictions(theirs)
    if a is None or b is None:
        return "no predictions"
    if metric in CORRELATIONS:
        parts = mine.key.split(".")
        if len(parts) != 3 or theirs.key.split(".")[:2] != parts[:2]:
            return "not a per-frame metric"
        target, role, _ = parts
        keys = ["item_id", "time_s"]
        a = a[(a["target"] == target) & (a["role"] == role)]
        b = b[(b["target"] == target) & (b["role"] == role)]
        both = a.merge(b, on=keys, suffixes=("_a", "_b"))
        if not len(both) or len(both) != len(a) or len(both) != len(b):
            return "different frames"
        pa, pb = both["y_pred_a"].to_numpy(float), both["y_pred_b"].to_numpy(float)
        if pa.std() == 0.0 or pb.std() == 0.0:
            return "constant predictions"
        r23 = float(np.corrcoef(pa, pb)[0, 1])
        n = min(mine.n_test, theirs.n_test)  # type: ignore[type-var]
        return stats.compare_correlations_dependent(
            mine.value, theirs.value, r23, n, alternative="greater"
        )
    keys = ["fold", "item_id"] if {"fold"} <= set(a.columns) & set(b.columns) else ["item_id"]
    both = a.merge(b, on=keys, suffixes=("_a", "_b"))
    if not len(both) or len(both) != len(a) or len(both) != len(b):
        return "different items"
    right_a = both["y_pred_a"].astype(str) == both["y_true_a"].astype(str)
    right_b = both["y_pred_b"].astype(str) == both["y_true_b"].astype(str)
    return stats.mcnemar_exact(int((right_a & ~right_b).sum()), int((~right_a & right_b).sum()))


def _predictions(run: _Run) -> pd.DataFrame | None:
    path = run.path / "predictions.parquet"
    if not path.is_file():
        return None
    table = pd.read_parquet(path)
    return table if {"item_id", "y_true", "y_pred"} <= set(table.columns) else None


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


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
    """Formatted for Markdown/LaTeX; "derived from" only where a table has derived cells."""
    drop = ["reported"]
    if not frame["derived from"].fillna("").astype(bool).any():
        drop.append("derived from")
    shown = frame.drop(columns=drop).copy()
    if not frame["sd (seeds)"].notna().any():
        shown = shown.drop(columns=["sd (seeds)"])
    else:
        shown["sd (seeds)"] = [_fmt(v) for v in shown["sd (seeds)"]]
    shown["seeds"] = [f"{int(v)}" if _present(v) else "" for v in shown["seeds"]]
    for col in ("reproduced", "difference"):
        shown[col] = [_fmt(v) for v in shown[col]]
    for col in ("p (vs reported)", "p (n = frames)"):
        shown[col] = [_fmt(v, 4) for v in shown[col]]
    shown["n"] = [f"{int(v):,}" if _present(v) else "" for v in shown["n"]]
    shown["n (test)"] = [f"{v:,.0f}" if _present(v) else "" for v in shown["n (test)"]]
    shown["tolerance"] = [_fmt(v, 2) for v in shown["tolerance"]]
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
        verdicts = frame["verdict"].str.replace(r" \(issue \d+\)", "", regex=True)
        # a derived cell's reason (which inputs are missing, which differ) stays in its table
        verdicts = verdicts.str.replace(r"^pending \(.*\)$", "pending", regex=True)
        verdicts = verdicts.str.replace(
            r"^(not reproducible|outside tolerance): .*$", r"\1", regex=True
        )
        counts = verdicts.value_counts()
        rows.append({"table": name, "cells": len(frame), **counts.to_dict()})
    return pd.DataFrame(rows).fillna(0)


def table_ids(card: Mapping[str, Any]) -> Sequence[str]:
    return [t["id"] for t in card["tables"]]
