"""Paper cards: schema, printed-number parsing, cell statuses; every card in benchmarks/."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from emorepro.cards import card_paths, iter_cells, load_card, load_cards, parse_printed, result_dir
from emorepro.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PAPERS = ROOT.parent / "shared" / "papers"
EXPECTED_CARDS = {
    "tzirakis2017_published",
    "tzirakis2017_preprint",
    "zhang2018",
    "han_emobed",
    "aminbeidokhti2020",
}

MINI = {
    "id": "mini",
    "document": "000.txt",
    "citation": "A. Author, Mini paper, 2020",
    "tables": [
        {
            "id": "table_1",
            "label": "TABLE I",
            "kind": "table",
            "caption": "Results.",
            "metric": "ccc",
            "unit": "fraction",
            "columns": [
                {"id": "a_test", "header": "Arousal", "target": "arousal", "partition": "test"},
                {"id": "a_dev", "header": "Arousal", "target": "arousal", "partition": "dev"},
            ],
            "rows": [
                {
                    "id": "ours",
                    "label": "Ours",
                    "origin": "own",
                    "cells": {"a_test": ".700", "a_dev": "(0.750)"},
                    "reproduce": {
                        "status": "dag",
                        "experiment": "baselines/svr_x",
                        "corpus": "recola_full",
                        "protocol": "recola46",
                        "postprocess": "tzirakis2017",
                        "metrics": {"a_test": "arousal.test.ccc"},
                        "tolerance": 0.05,
                    },
                },
                {
                    "id": "theirs",
                    "label": "Theirs",
                    "origin": "quoted",
                    "source": "[9]",
                    "cells": {"a_test": "–", "a_dev": "(.6)"},
                },
            ],
        }
    ],
}


def _write(tmp_path: Path, card: dict, name: str = "mini") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(card, allow_unicode=True))
    return path


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.318", 0.318),
        (".318", 0.318),
        ("(0.427)", 0.427),
        ("(.427)", 0.427),
        ("80.36", 80.36),
        ("0.789*", 0.789),
        ("54.57%", 54.57),
        ("−0.05", -0.05),
        ("-", None),
        ("–", None),
        ("—", None),
        ("", None),
    ],
)
def test_parse_printed(text: str, value: float | None) -> None:
    assert parse_printed(text) == value


@pytest.mark.parametrize("text", ["abc", "0.3.1", "1e-3x"])
def test_parse_printed_rejects_non_numbers(text: str) -> None:
    with pytest.raises(ValueError, match="not a printed number"):
        parse_printed(text)


def test_mini_card_cells(tmp_path: Path) -> None:
    card = load_card(_write(tmp_path, MINI))
    cells = list(iter_cells(card, results="res"))
    assert [(c.row, c.column, c.status) for c in cells] == [
        ("ours", "a_test", "dag"),
        ("ours", "a_dev", "pending"),  # printed but no metric mapped -> not yet reproduced
        ("theirs", "a_test", "quoted"),
        ("theirs", "a_dev", "quoted"),
    ]
    assert cells[0].result == "res/experiments/baselines/svr_x/recola_full/recola46/pp-tzirakis2017"
    assert cells[0].reported == 0.7 and cells[2].reported is None
    assert result_dir("", card["tables"][0]["rows"][0]["reproduce"]).startswith("experiments/")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["tables"][0]["rows"][0].pop("reproduce"), "reproduce"),
        (lambda c: c["tables"][0]["rows"][1].pop("source"), "source"),
        (lambda c: c["tables"][0]["rows"][0]["cells"].update(a_val="0.1"), "a_val"),
        (lambda c: c["tables"][0]["rows"][0]["cells"].update(a_dev="n.a."), "not a printed"),
        (lambda c: c["tables"][0]["rows"].append(c["tables"][0]["rows"][1]), "duplicate row"),
        (lambda c: c["tables"][0].update(metric="rmse"), "rmse"),
        (lambda c: c.update(typo=1), "typo"),
        (lambda c: c["tables"][0]["rows"][0]["reproduce"].update(experiment="x"), "x"),
    ],
)
def test_schema_and_checks_reject_bad_cards(tmp_path: Path, mutate, message: str) -> None:
    card = copy.deepcopy(MINI)
    mutate(card)
    with pytest.raises(ConfigError, match=message) as err:
        load_card(_write(tmp_path, card))
    assert "mini.yaml" in str(err.value)


def test_id_must_equal_file_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must equal the file name"):
        load_card(_write(tmp_path, MINI, name="other"))


def test_repository_cards_validate() -> None:
    cards = load_cards(ROOT / "benchmarks")
    assert set(cards) == EXPECTED_CARDS
    assert [p.name for p in card_paths(ROOT / "benchmarks")] == sorted(
        f"{c}.yaml" for c in EXPECTED_CARDS
    )


@pytest.mark.parametrize("name", sorted(EXPECTED_CARDS))
def test_every_own_result_is_linked_and_documents_exist(name: str) -> None:
    card = load_card(ROOT / "benchmarks" / f"{name}.yaml")
    if PAPERS.is_dir():
        assert (PAPERS / card["document"]).is_file()
    cells = list(iter_cells(card))
    assert cells, "a card without printed numbers"
    for table in card["tables"]:
        for row in table["rows"]:
            if row["origin"] == "own":
                rep = row["reproduce"]
                assert rep["metrics"], f"{name}/{table['id']}/{row['id']} maps no metric"
                if rep["status"] == "pending" and name.startswith("tzirakis"):
                    assert rep.get("issue") == 4


@pytest.mark.parametrize("name", sorted(EXPECTED_CARDS))
def test_printed_numbers_appear_in_the_paper_text(name: str) -> None:
    """Every printed number of a card occurs verbatim in its document's text (the texts sit
    beside the checkout in ``shared/papers/``, not in the repository; without them this only
    checks that every number parses)."""
    card = load_card(ROOT / "benchmarks" / f"{name}.yaml")
    document = PAPERS / card["document"]
    text = document.read_text() if document.is_file() else None
    for cell in iter_cells(card):
        if cell.reported is not None and text is not None:
            core = cell.printed.strip("()*% ")
            assert core in text, f"{name}/{cell.table}/{cell.row}/{cell.column}: {core}"


def test_fast_yaml_reader_gives_the_safe_loaders_values() -> None:
    """Cards and config are read with libyaml's C parser; every committed file must give the
    same data as ``yaml.safe_load`` (and a non-safe tag must still be refused)."""
    import yaml

    from emorepro.yamlio import load_yaml

    files = sorted((ROOT / "benchmarks").glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        text = path.read_text()
        assert load_yaml(text) == yaml.safe_load(text), path
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")
