"""Paper cards: every table of a paper document with every number exactly as printed.

A card (``benchmarks/<id>.yaml``) is validated by ``schemas/paper_card.schema.json``. Each
own result (and each quoted result that emorepro re-runs) names the experiment whose result
file reproduces it::

    results/experiments/<family>/<name>/<corpus>/<protocol>[/pp-<grid>]/metrics.json

Printed strings are parsed by :func:`parse_printed`: parentheses, significance marks and
percent signs are stripped, a missing leading zero is accepted (``.318`` -> 0.318), and a
dash or an empty cell means "not reported" (``None``), never zero. Numbers printed in the
running text keep their words (``about 80%``, ``almost 3 points``, ``seven``): the cell holds
the string as printed, :func:`parse_printed` its value and :func:`printed_qualifier` the
hedge ("about"), which the card's tolerance accounts for.

**Derived rows** (``origin: derived``) hold numbers the text computes from other cells of the
same card: a gain (``difference``), a count of cases (``count`` of ``greater``/``at_least``),
a mean over cells, or a hyper-parameter a run selects (``param``). Their ``derive`` block maps
each column to an expression over cell references ``<table>.<row>.<column>``, which stand
for the *reproduced* value of that cell (``{printed: <ref>}`` takes the printed value of a
quoted cell: another work's number, never re-run). :func:`evaluate` computes an expression
from any lookup, so the same expression gives the paper's own value (from the printed
inputs) and the reproduction (from the runs); a missing input leaves it pending, never zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from emorepro import schemas
from emorepro.errors import ConfigError
from emorepro.yamlio import load_yaml

CARD_GLOB = "*.yaml"
NOT_CARDS = {"config.yaml"}
_DASHES = {"", "-", "–", "—", "--", "n/a", "N/A"}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
#: hedges printed before a number in running text (longest first)
QUALIFIERS = (
    "more than about",
    "less than about",
    "more than",
    "less than",
    "approximately",
    "almost",
    "nearly",
    "around",
    "about",
    "≈",
    "~",
)
_WORDS = {
    w: float(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
}
_UNIT_WORDS = re.compile(r"\s+points?$")


def card_schema() -> dict[str, Any]:
    return schemas.load("paper_card")


def printed_qualifier(text: str) -> str:
    """The hedge printed before a number in running text ('' when the number is exact).

    >>> [printed_qualifier(t) for t in ("more than about 5%", "≈80", "6.16%")]
    ['more than about', '≈', '']
    """
    s = str(text).strip().lower()
    return next((q for q in QUALIFIERS if s.startswith(q)), "")


def parse_printed(text: str) -> float | None:
    """The value of a number as printed; ``None`` for a dash (not reported).

    A hedge before a number of the running text (:data:`QUALIFIERS`), a trailing "points" and
    number words up to twelve are read too; :func:`printed_qualifier` keeps the hedge.

    >>> parse_printed("(.427)"), parse_printed("80.36"), parse_printed("0.318*"), parse_printed("–")
    (0.427, 80.36, 0.318, None)
    >>> parse_printed("about 80%"), parse_printed("almost 3 points"), parse_printed("seven")
    (80.0, 3.0, 7.0)
    """
    s = str(text).strip()
    if s in _DASHES:
        return None
    s = s.strip("()[] ").rstrip("*†‡%").strip().replace("−", "-")
    if s in _DASHES:
        return None
    s = s[len(printed_qualifier(s)) :]
    s = _UNIT_WORDS.sub("", s).strip().rstrip("%").strip()
    if s.lower() in _WORDS:
        return _WORDS[s.lower()]
    if not _NUMBER.match(s):
        raise ValueError(f"not a printed number: {text!r}")
    return float(s)


def load_card(path: Path | str) -> dict[str, Any]:
    """Read and validate one card; errors name the file and the offending key path."""
    path = Path(path)
    try:
        card = load_yaml(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read paper card ({err})") from err
    err = schemas.first_error(card, card_schema())
    if err is not None:
        where = schemas.key_of(err)
        raise ConfigError(f"{path}: {where}: {err.message} (schema: paper_card.schema.json)")
    if card["id"] != path.stem:
        raise ConfigError(f"{path}: id {card['id']!r} must equal the file name {path.stem!r}")
    _check_ids(card, path)
    return card


def _check_ids(card: Mapping[str, Any], path: Path) -> None:
    seen_tables: set[str] = set()
    for table in card["tables"]:
        if table["id"] in seen_tables:
            raise ConfigError(f"{path}: duplicate table id {table['id']!r}")
        seen_tables.add(table["id"])
        columns = [c["id"] for c in table["columns"]]
        if len(set(columns)) != len(columns):
            raise ConfigError(f"{path}: {table['id']}: duplicate column ids {columns}")
        rows: set[str] = set()
        for row in table["rows"]:
            where = f"{path}: {table['id']}/{row['id']}"
            if row["id"] in rows:
                raise ConfigError(f"{where}: duplicate row id")
            rows.add(row["id"])
            for key in (*row["cells"], *row.get("marks", {})):
                if key not in columns:
                    raise ConfigError(f"{where}: cell {key!r} is not a column of {columns}")
            for col, text in row["cells"].items():
                try:
                    parse_printed(text)
                except ValueError as err:
                    raise ConfigError(f"{where}/{col}: {err}") from err
            rep = row.get("reproduce")
            if rep:
                for key in rep["metrics"]:
                    if key not in columns:
                        raise ConfigError(f"{where}: reproduce.metrics key {key!r} not a column")
    for table in card["tables"]:
        for row in table["rows"]:
            if row["origin"] == "derived":
                _check_derived(card, table, row, path)


@dataclass(frozen=True)
class Ref:
    """A cell of the same card, ``<table>.<row>.<column>``; ``printed``: its printed value
    (quoted cells only) instead of its reproduced value."""

    table: str
    row: str
    column: str
    printed: bool = False

    @classmethod
    def of(cls, operand: str | Mapping[str, Any]) -> Ref:
        printed = isinstance(operand, Mapping)
        text = operand["printed"] if isinstance(operand, Mapping) else operand
        table, row, column = text.split(".")
        return cls(table, row, column, printed)

    def __str__(self) -> str:
        return f"{self.table}.{self.row}.{self.column}"


def _is_ref(node: Any) -> bool:
    return isinstance(node, str) or (isinstance(node, Mapping) and "printed" in node)


def derive_refs(expr: Any) -> list[Ref]:
    """Every cell an expression reads, in order (the cell of a ``param`` too)."""
    if _is_ref(expr):
        return [Ref.of(expr)]
    return [r for node in expr["of"] for r in derive_refs(node)]


@dataclass(frozen=True)
class Derived:
    """The value of an expression; ``None`` with the inputs that are ``missing`` (no value
    yet) or with a ``problem`` (the inputs exist but give no value, e.g. ``same`` over
    values that differ)."""

    value: float | None
    missing: tuple[Ref, ...] = ()
    problem: str | None = None


def evaluate(
    expr: Any,
    value_of: Callable[[Ref], float | None],
    param_of: Callable[[Ref, str], float | None] | None = None,
) -> Derived:
    """Compute a derive expression; ``value_of(ref)`` gives a cell's value (``None`` when it
    has none), ``param_of(ref, key)`` the ``params[key]`` of the result behind a cell.

    >>> cells = {"t.a.x": 42.26, "t.b.x": 36.10}
    >>> evaluate({"op": "difference", "of": ["t.a.x", "t.b.x"]}, lambda r: cells[str(r)]).value
    6.16
    >>> evaluate({"op": "difference", "of": ["t.a.x", "t.c.x"]}, lambda r: cells.get(str(r)))
    Derived(value=None, missing=(Ref(table='t', row='c', column='x', printed=False),), problem=None)
    """
    missing: list[Ref] = []
    problems: list[str] = []

    def ev(node: Any) -> float | None:
        if _is_ref(node):
            ref = Ref.of(node)
            value = value_of(ref)
            if value is None:
                missing.append(ref)
            return value
        if node["op"] == "param":
            ref = Ref.of(node["of"][0])
            value = param_of(ref, node["key"]) if param_of else None
            if value is None:
                missing.append(ref)
            return value
        values = [ev(o) for o in node["of"]]
        if any(v is None for v in values):
            return None
        return _apply(node["op"], [float(v) for v in values if v is not None], problems)

    value = ev(expr)
    if missing or problems:
        return Derived(None, tuple(dict.fromkeys(missing)), "; ".join(problems) or None)
    return Derived(round(value, 12) if value is not None else None)


def _apply(op: str, v: Sequence[float], problems: list[str]) -> float | None:
    if op == "difference":
        return v[0] - v[1]
    if op == "mean":
        return sum(v) / len(v)
    if op == "min":
        return min(v)
    if op == "max":
        return max(v)
    if op == "greater":
        return float(v[0] > v[1])
    if op == "at_least":
        return float(v[0] >= v[1])
    if op == "count":
        return float(sum(x != 0 for x in v))
    if op == "same":
        if max(v) - min(v) > 1e-9:
            problems.append("inputs differ (" + ", ".join(f"{x:g}" for x in v) + ")")
            return None
        return v[0]
    raise ValueError(f"unknown derive op {op!r}")


_SYMBOL = {"difference": " - ", "greater": " > ", "at_least": " >= "}  # ASCII: LaTeX-safe


def describe(expr: Any, card: Mapping[str, Any]) -> str:
    """An expression in words, each cell as ``<table label> <row>/<column>``.

    >>> card = {"tables": [{"id": "t", "label": "TABLE I"}]}
    >>> describe({"op": "difference", "of": ["t.a.x", {"printed": "t.b.x"}]}, card)
    'TABLE I a/x - TABLE I b/x (printed)'
    """
    labels = {t["id"]: t["label"] for t in card["tables"]}

    def text(node: Any, top: bool = False) -> str:
        if _is_ref(node):
            ref = Ref.of(node)
            cell = f"{labels.get(ref.table, ref.table)} {ref.row}/{ref.column}"
            return cell + (" (printed)" if ref.printed else "")
        op, parts = node["op"], node["of"]
        if op == "param":
            return f"{node['key']} chosen by the run of {text(parts[0])}"
        if op in _SYMBOL:
            inner = _SYMBOL[op].join(text(p) for p in parts)
            return inner if top else f"({inner})"
        if op == "count":
            return "number of [" + "; ".join(text(p, True) for p in parts) + "]"
        if op == "same":
            return "the value common to [" + "; ".join(text(p, True) for p in parts) + "]"
        return f"{op}(" + ", ".join(text(p, True) for p in parts) + ")"

    return text(expr, True)


def _check_derived(
    card: Mapping[str, Any], table: Mapping[str, Any], row: Mapping[str, Any], path: Path
) -> None:
    """A derived row: every printed cell has an expression or a reason; every reference names
    an existing cell of this card; ``printed`` only for quoted cells, ``param`` only for cells
    with a result; units agree (:func:`_unit`)."""
    where = f"{path}: {table['id']}/{row['id']}"
    spec = row["derive"]
    exprs, reasons = spec.get("cells", {}), spec.get("not_reproducible", {})
    for col in (*exprs, *reasons):
        if col not in row["cells"]:
            raise ConfigError(f"{where}: derive names column {col!r}, which the row does not print")
    for col in row["cells"]:
        if (col in exprs) == (col in reasons):
            raise ConfigError(
                f"{where}/{col}: a derived cell needs exactly one of derive.cells (how it is "
                "computed) and derive.not_reproducible (why it cannot be)"
            )
    tables = {t["id"]: t for t in card["tables"]}
    for col, expr in exprs.items():
        here = f"{where}/{col}"
        for node in _params(expr):
            ref = Ref.of(node["of"][0])
            target = _target(tables, ref, here)
            if ref.column not in target.get("reproduce", {}).get("metrics", {}):
                raise ConfigError(
                    f"{here}: param {node['key']!r} of {ref}: that cell is not reproduced by a "
                    "run (no reproduce.metrics entry), so no result holds the parameter"
                )
        for ref in derive_refs(expr):
            target = _target(tables, ref, here)
            if target["origin"] == "derived":
                raise ConfigError(f"{here}: {ref} is itself derived; refer to its inputs")
            if ref.printed and target["origin"] != "quoted":
                raise ConfigError(
                    f"{here}: {{printed: {ref}}} reads the printed value of an own cell; a "
                    "derived number is computed from reproduced cells, never copied"
                )
            if not ref.printed and "reproduce" not in target:
                raise ConfigError(
                    f"{here}: {ref} is a quoted cell nobody re-runs; use {{printed: {ref}}} to "
                    "compare against the other work's printed number"
                )
        unit = _unit(expr, tables, here)
        if unit != table["unit"]:
            raise ConfigError(
                f"{here}: the expression gives a {unit} value, table unit is {table['unit']}"
            )


def _params(expr: Any) -> Iterator[Mapping[str, Any]]:
    if _is_ref(expr):
        return
    if expr["op"] == "param":
        yield expr
        return
    for node in expr["of"]:
        yield from _params(node)


def _target(tables: Mapping[str, Any], ref: Ref, where: str) -> Mapping[str, Any]:
    """The row a reference names (ConfigError naming the card file and the row otherwise)."""
    table = tables.get(ref.table)
    if table is None:
        raise ConfigError(f"{where}: derive refers to {ref}: no table {ref.table!r} in this card")
    row = next((r for r in table["rows"] if r["id"] == ref.row), None)
    if row is None:
        raise ConfigError(
            f"{where}: derive refers to {ref}: no row {ref.row!r} in table {ref.table!r}"
        )
    if ref.column not in row["cells"]:
        raise ConfigError(
            f"{where}: derive refers to {ref}: row {ref.row!r} prints no cell {ref.column!r}"
        )
    return row


def _unit(expr: Any, tables: Mapping[str, Any], where: str) -> str:
    """Unit of an expression: a cell's table unit; arithmetic keeps the (common) unit of its
    operands; comparisons and ``count`` give ``count``; ``param`` gives ``scalar``."""
    if _is_ref(expr):
        return str(tables[Ref.of(expr).table]["unit"])
    op = expr["op"]
    if op == "param":
        return "scalar"
    units = {_unit(node, tables, where) for node in expr["of"]}
    if op == "count":
        return "count"
    if len(units) > 1:
        raise ConfigError(f"{where}: {op} over cells of different units {sorted(units)}")
    return "count" if op in ("greater", "at_least") else units.pop()


def card_paths(directory: Path | str) -> list[Path]:
    """The card files in ``directory`` (every ``*.yaml`` except the benchmark config)."""
    return sorted(p for p in Path(directory).glob(CARD_GLOB) if p.name not in NOT_CARDS)


def load_cards(directory: Path | str) -> dict[str, dict[str, Any]]:
    return {p.stem: load_card(p) for p in card_paths(directory)}


def result_dir(results: str, reproduce: Mapping[str, Any]) -> str:
    """Folder of the result file that reproduces a row (see module docstring); relative to
    the results root when ``results`` is empty."""
    prefix = f"{results}/" if results else ""
    base = (
        f"{prefix}experiments/{reproduce['experiment']}/{reproduce['corpus']}/"
        f"{reproduce['protocol']}"
    )
    if reproduce.get("postprocess"):
        base += f"/pp-{reproduce['postprocess']}"
    return base


@dataclass(frozen=True)
class Cell:
    """One printed number of a card, with what reproduces it (if anything)."""

    card: str
    table: str
    row: str
    column: str
    label: str
    header: str
    origin: str
    printed: str
    reported: float | None
    metric: str
    unit: str
    status: str  # "dag" | "pending" | "quoted" | "not compared" | "derived" | "not reproducible"
    result: str | None  # result dir relative to the results root ("<R>" placeholder)
    metric_key: str | None
    tolerance: float | None
    variant: str | None
    issue: int | None
    mark: str
    reason: str | None = None  # why an own cell is not compared / a derived one not reproducible
    derivation: Any = None  # the derive expression of a derived cell


def iter_cells(card: Mapping[str, Any], *, results: str = "results") -> Iterator[Cell]:
    """Every printed cell of a card, in table/row/column order."""
    for table in card["tables"]:
        columns = {c["id"]: c for c in table["columns"]}
        for row in table["rows"]:
            rep = row.get("reproduce")
            derive = row.get("derive") or {}
            for col_id, col in columns.items():
                if col_id not in row["cells"]:
                    continue
                key = rep["metrics"].get(col_id) if rep else None
                reason = (rep or {}).get("not_compared", {}).get(col_id)
                expr = derive.get("cells", {}).get(col_id)
                if row["origin"] == "derived":
                    reason = derive.get("not_reproducible", {}).get(col_id)
                    status = "derived" if expr is not None else "not reproducible"
                elif reason is not None:
                    status = "not compared"
                elif rep is None or key is None:
                    status = "quoted" if row["origin"] == "quoted" else "pending"
                else:
                    status = rep["status"]
                tolerance = derive["tolerance"] if derive else rep["tolerance"] if rep else None
                yield Cell(
                    card=card["id"],
                    table=table["id"],
                    row=row["id"],
                    column=col_id,
                    label=row["label"],
                    header=col["header"],
                    origin=row["origin"],
                    printed=row["cells"][col_id],
                    reported=parse_printed(row["cells"][col_id]),
                    metric=col.get("metric", table["metric"]),
                    unit=table["unit"],
                    status=status,
                    result=result_dir(results, rep) if rep and key else None,
                    metric_key=key,
                    tolerance=tolerance,
                    variant=(derive or rep or {}).get("variant"),
                    issue=rep.get("issue") if rep else None,
                    mark=row.get("marks", {}).get(col_id, ""),
                    reason=reason,
                    derivation=expr,
                )


def dag_results(cards: Mapping[str, Mapping[str, Any]], *, results: str) -> list[str]:
    """Every result folder that some card row with ``status: dag`` needs (sorted, unique)."""
    return sorted(
        {
            c.result
            for card in cards.values()
            for c in iter_cells(card, results=results)
            if c.status == "dag" and c.result
        }
    )
