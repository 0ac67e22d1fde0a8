"""Paper cards: every table of a paper document with every number exactly as printed.

A card (``benchmarks/<id>.yaml``) is validated by ``schemas/paper_card.schema.json``. Each
own result (and each quoted result that emorepro re-runs) names the experiment whose result
file reproduces it::

    results/experiments/<family>/<name>/<corpus>/<protocol>[/pp-<grid>]/metrics.json

Printed strings are parsed by :func:`parse_printed`: parentheses, significance marks and
percent signs are stripped, a missing leading zero is accepted (``.318`` -> 0.318), and a
dash or an empty cell means "not reported" (``None``), never zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
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


def card_schema() -> dict[str, Any]:
    return schemas.load("paper_card")


def parse_printed(text: str) -> float | None:
    """The value of a number as printed; ``None`` for a dash (not reported).

    >>> parse_printed("(.427)"), parse_printed("80.36"), parse_printed("0.318*"), parse_printed("–")
    (0.427, 80.36, 0.318, None)
    """
    s = str(text).strip()
    if s in _DASHES:
        return None
    s = s.strip("()[] ").rstrip("*†‡%").strip().replace("−", "-")
    if s in _DASHES:
        return None
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
    status: str  # "dag" | "pending" | "quoted" | "not compared"
    result: str | None  # result dir relative to the results root ("<R>" placeholder)
    metric_key: str | None
    tolerance: float | None
    variant: str | None
    issue: int | None
    mark: str
    reason: str | None = None  # why an own cell is deliberately not compared


def iter_cells(card: Mapping[str, Any], *, results: str = "results") -> Iterator[Cell]:
    """Every printed cell of a card, in table/row/column order."""
    for table in card["tables"]:
        columns = {c["id"]: c for c in table["columns"]}
        for row in table["rows"]:
            rep = row.get("reproduce")
            for col_id, col in columns.items():
                if col_id not in row["cells"]:
                    continue
                key = rep["metrics"].get(col_id) if rep else None
                reason = (rep or {}).get("not_compared", {}).get(col_id)
                if reason is not None:
                    status = "not compared"
                elif rep is None or key is None:
                    status = "quoted" if row["origin"] == "quoted" else "pending"
                else:
                    status = rep["status"]
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
                    tolerance=rep["tolerance"] if rep else None,
                    variant=rep.get("variant") if rep else None,
                    issue=rep.get("issue") if rep else None,
                    mark=row.get("marks", {}).get(col_id, ""),
                    reason=reason,
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
