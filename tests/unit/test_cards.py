"""Paper cards: schema, printed-number parsing, cell statuses; every card in benchmarks/."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from emorepro.cards import (
    Ref,
    card_paths,
    derive_refs,
    evaluate,
    iter_cells,
    load_card,
    load_cards,
    parse_printed,
    printed_qualifier,
    result_dir,
)
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
        ("about 80%", 80.0),
        ("more than about 5%", 5.0),
        ("almost 3 points", 3.0),
        ("≈80", 80.0),
        ("seven", 7.0),
        ("Five", 5.0),
        ("1.1%", 1.1),
        ("-", None),
        ("–", None),
        ("—", None),
        ("", None),
    ],
)
def test_parse_printed(text: str, value: float | None) -> None:
    assert parse_printed(text) == value


@pytest.mark.parametrize(
    "text", ["abc", "0.3.1", "1e-3x", "about", "about x", "seventy", "3 apples"]
)
def test_parse_printed_rejects_non_numbers(text: str) -> None:
    with pytest.raises(ValueError, match="not a printed number"):
        parse_printed(text)


def test_printed_qualifier_keeps_the_hedge() -> None:
    assert printed_qualifier("more than about 5%") == "more than about"
    assert printed_qualifier("almost 3 points") == "almost"
    assert printed_qualifier("About 80%") == "about"
    assert printed_qualifier("6.16%") == printed_qualifier("seven") == ""


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


# --- derived rows (numbers the text computes from other cells) -------------------------------

TEXT_TABLE = {
    "id": "text_1",
    "label": "Text, Sec. 4",
    "kind": "text",
    "caption": 'Sec. 4, paragraph 2: "a gain of about .2"',
    "metric": "ccc",
    "unit": "fraction",
    "columns": [{"id": "a_test", "header": "Arousal", "partition": "test"}],
    "rows": [
        {
            "id": "gain",
            "label": "Ours over Theirs",
            "printed": {"Text": "a gain of about .2"},
            "origin": "derived",
            "cells": {"a_test": "about .2"},
            "derive": {
                "cells": {
                    "a_test": {
                        "op": "difference",
                        "of": ["table_1.ours.a_test", "table_1.ours.a_test"],
                    }
                },
                "tolerance": 0.05,
            },
        }
    ],
}


def _with_text(**derive) -> dict:
    card = copy.deepcopy(MINI)
    table = copy.deepcopy(TEXT_TABLE)
    table["rows"][0]["derive"].update(derive)
    card["tables"].append(table)
    return card


def _derived_row(card: dict) -> dict:
    return card["tables"][1]["rows"][0]


def test_schema_accepts_a_derived_row(tmp_path: Path) -> None:
    card = load_card(_write(tmp_path, _with_text()))
    (cell,) = [c for c in iter_cells(card) if c.origin == "derived"]
    assert (cell.status, cell.printed, cell.reported, cell.tolerance) == (
        "derived",
        "about .2",
        0.2,
        0.05,
    )
    assert cell.result is None and cell.metric_key is None  # no run of its own: never planned
    assert derive_refs(cell.derivation) == [Ref("table_1", "ours", "a_test")] * 2


def test_a_derived_cell_with_a_reason_is_not_reproducible(tmp_path: Path) -> None:
    card = _with_text()
    derive = _derived_row(card)["derive"]
    del derive["cells"]
    derive["not_reproducible"] = {"a_test": "the text compares against an unpublished run"}
    (cell,) = [c for c in iter_cells(load_card(_write(tmp_path, card))) if c.origin == "derived"]
    assert cell.status == "not reproducible" and cell.reason.startswith("the text compares")


def _set(path: str, value):
    def mutate(card: dict) -> None:
        *keys, last = path.split("/")
        node = _derived_row(card)
        for key in keys:
            node = node[key]
        node[last] = value

    return mutate


A_TEST = "derive/cells/a_test"
BAD_DERIVED = [
    # schema
    (lambda c: _derived_row(c).pop("derive"), "derive"),
    (
        lambda c: _derived_row(c).update(reproduce=MINI["tables"][0]["rows"][0]["reproduce"]),
        "tables/1/rows/0/reproduce",
    ),
    (
        lambda c: c["tables"][0]["rows"][0].update(derive=_derived_row(c)["derive"]),
        "tables/0/rows/0/derive",
    ),
    (lambda c: _derived_row(c).update(compare_to="ours"), "tables/1/rows/0/compare_to"),
    (lambda c: _derived_row(c)["derive"].pop("tolerance"), "tolerance"),
    (_set(A_TEST, {"op": "difference", "of": ["table_1.ours.a_test"]}), "too short"),
    (_set(A_TEST, {"op": "ratio", "of": ["table_1.ours.a_test"]}), "ratio"),
    (_set(A_TEST, {"op": "param", "of": ["table_1.ours.a_test"]}), "key"),
    (_set(A_TEST, {"op": "mean", "of": ["table_1.ours"]}), "table_1.ours"),
    # semantic checks (cards.load_card)
    (
        _set(A_TEST, {"op": "mean", "of": ["table_1.mine.a_test"]}),
        "no row 'mine' in table 'table_1'",
    ),
    (_set(A_TEST, {"op": "mean", "of": ["table_9.ours.a_test"]}), "no table 'table_9'"),
    (_set(A_TEST, {"op": "mean", "of": ["table_1.ours.a_val"]}), "prints no cell 'a_val'"),
    (_set(A_TEST, {"op": "mean", "of": [{"printed": "table_1.ours.a_test"}]}), "never copied"),
    (_set(A_TEST, {"op": "mean", "of": ["table_1.theirs.a_dev"]}), "printed: table_1.theirs"),
    (_set(A_TEST, {"op": "mean", "of": ["text_1.gain.a_test"]}), "itself derived"),
    (_set(A_TEST, {"op": "param", "of": ["table_1.ours.a_dev"], "key": "x"}), "not reproduced"),
    (_set(A_TEST, {"op": "param", "of": ["table_1.ours.a_test"], "key": "x"}), "scalar value"),
    (_set("derive/not_reproducible", {"a_test": "no run"}), "exactly one of"),
]


@pytest.mark.parametrize(("mutate", "message"), BAD_DERIVED)
def test_schema_and_checks_reject_bad_derived_rows(tmp_path: Path, mutate, message: str) -> None:
    card = _with_text()
    mutate(card)
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        load_card(_write(tmp_path, card))
    assert "mini.yaml" in str(err.value)


def test_a_reference_to_a_missing_row_names_the_card_file_and_both_rows(tmp_path: Path) -> None:
    card = _with_text()
    _set(A_TEST, {"op": "difference", "of": ["table_1.ours.a_test", "table_1.gone.a_test"]})(card)
    path = _write(tmp_path, card)
    with pytest.raises(ConfigError) as err:
        load_card(path)
    message = str(err.value)
    assert message.startswith(f"{path}: text_1/gain/a_test: ")  # the file and the derived row
    assert "table_1.gone.a_test: no row 'gone' in table 'table_1'" in message


def test_evaluate_against_a_hand_computation() -> None:
    values = {"t.a.x": 0.68, "t.b.x": 0.52, "t.c.x": 0.75, "q.p.x": 75.0}
    look = values.get

    def of(expr):
        return evaluate(expr, lambda r: look(str(r)))

    assert of({"op": "difference", "of": ["t.a.x", "t.b.x"]}).value == pytest.approx(0.16)
    assert of({"op": "mean", "of": ["t.a.x", "t.b.x", "t.c.x"]}).value == pytest.approx(0.65)
    count = {
        "op": "count",
        "of": [
            {"op": "greater", "of": ["t.a.x", "t.b.x"]},  # .68 > .52
            {"op": "greater", "of": ["t.b.x", "t.a.x"]},  # no
            {"op": "at_least", "of": ["t.c.x", {"op": "max", "of": ["t.a.x", "t.c.x"]}]},  # tie
        ],
    }
    assert of(count).value == 2.0
    nested = {"op": "min", "of": [{"op": "difference", "of": ["t.c.x", "t.a.x"]}, "t.b.x"]}
    assert of(nested).value == pytest.approx(0.07)
    params = {("t.a.x", "beta"): 1.0, ("t.b.x", "beta"): 1.0, ("t.c.x", "beta"): 0.4}

    def param(expr):
        return evaluate(expr, look, lambda r, k: params.get((str(r), k)))

    same = {
        "op": "same",
        "of": [{"op": "param", "of": [r], "key": "beta"} for r in ("t.a.x", "t.b.x")],
    }
    assert param(same).value == 1.0
    same["of"].append({"op": "param", "of": ["t.c.x"], "key": "beta"})
    differ = param(same)
    assert differ.value is None and differ.problem == "inputs differ (1, 1, 0.4)"


def test_a_missing_input_leaves_the_value_pending_not_zero() -> None:
    values = {"t.a.x": 0.68}
    result = evaluate(
        {"op": "count", "of": [{"op": "greater", "of": ["t.a.x", "t.b.x"]}]},
        lambda r: values.get(str(r)),
    )
    assert result.value is None
    assert result.missing == (Ref("t", "b", "x"),)
    param = evaluate({"op": "param", "of": ["t.a.x"], "key": "beta"}, values.get)  # no params
    assert param.value is None and param.missing == (Ref("t", "a", "x"),)


#: every number printed only in the running text of a paper, as a derived card cell:
#: (table, row, column) -> the string as printed
TEXT_NUMBERS = {
    "zhang2018": {
        ("text_iv_c1", "audio_gain_baum1s", "baum1s"): "6.16%",
        ("text_iv_c1", "visual_gain_baum1s", "baum1s"): "8.42%",
        ("text_iv_c2", "lower_classes", "enterface05"): "about 80%",
        ("text_iv_c2", "other_classes", "enterface05"): "about 90%",
        ("text_iv_e", "margin_over_previous_works", "rml_enterface05"): "more than about 5%",
    },
    "han_emobed": {
        ("text_5_1_gains", "emobed_gain_video", "app_audio_test"): ".064",
        ("text_5_1_gains", "emobed_gain_video", "geo_audio_test"): ".018",
        ("text_5_1_cases", "joint_beats_classic", "arousal"): "seven",
        ("text_5_1_cases", "joint_beats_classic", "valence"): "six",
        ("text_5_1_cases", "emobed_best", "arousal"): "six",
        ("text_5_1_cases", "emobed_best", "valence"): "five",
        ("text_5_2", "emobed_gain", "audio"): "5.2%",
        ("text_5_2", "emobed_gain", "video"): "6.0%",
        ("text_5_4", "beta_recola_arousal", "weight"): "1.0",
        ("text_5_4", "beta_recola_valence_audio", "weight"): "0.4",
        ("text_5_4", "beta_recola_valence_video_low", "weight"): "0.8",
        ("text_5_4", "beta_recola_valence_video_high", "weight"): "1.2",
        ("text_5_4", "alpha_omg", "weight"): "0.5",
        ("text_5_4", "beta_omg_audio", "weight"): "0.3",
        ("text_5_4", "beta_omg_video", "weight"): "0.8",
    },
    "aminbeidokhti2020": {
        ("text_2_3_4", "spatial_attention_gain", "acc"): "almost 3 points",
        ("text_3_4_1", "augmented_over_ensemble", "gap"): "1.1%",
    },
    "tzirakis2017_published": {},
    "tzirakis2017_preprint": {},
}


def test_the_text_numbers_are_derived_cells_of_the_cards() -> None:
    assert set(TEXT_NUMBERS) == EXPECTED_CARDS
    assert sum(len(v) for v in TEXT_NUMBERS.values()) == 22
    for name, expected in TEXT_NUMBERS.items():
        card = load_card(ROOT / "benchmarks" / f"{name}.yaml")
        derived = {(c.table, c.row, c.column): c for c in iter_cells(card) if c.origin == "derived"}
        assert {k: c.printed for k, c in derived.items()} == expected, name
        assert all(c.status == "derived" for c in derived.values()), name
        kinds = {t["id"]: t["kind"] for t in card["tables"]}
        assert {kinds[t] for t, _, _ in derived} <= {"text"}, name


def _plain(text: str) -> str:
    """Paper text without LaTeX math and emphasis marks, whitespace collapsed."""
    for a, b in (("$", ""), ("\\alpha", "α"), ("\\beta", "β"), ("*", "")):
        text = text.replace(a, b)
    return re.sub(r"\s+([,.;])", r"\1", re.sub(r"\s+", " ", text))


@pytest.mark.parametrize("name", sorted(k for k, v in TEXT_NUMBERS.items() if v))
def test_derived_rows_quote_the_text_and_the_printed_cells_give_the_printed_number(
    name: str,
) -> None:
    """Each derived row quotes its sentence verbatim (`printed.Text`, `...` between parts);
    its expression over the paper's own printed cells gives the number the text prints,
    within the row's tolerance (the transcription and the expression agree)."""
    card = load_card(ROOT / "benchmarks" / f"{name}.yaml")
    document = PAPERS / card["document"]
    text = _plain(document.read_text()) if document.is_file() else None
    printed = {(c.table, c.row, c.column): c.reported for c in iter_cells(card)}
    checked = 0
    for cell in iter_cells(card):
        if cell.origin != "derived":
            continue
        row = next(
            r
            for t in card["tables"]
            for r in t["rows"]
            if (t["id"], r["id"]) == (cell.table, cell.row)
        )
        if text is not None:
            for part in row["printed"]["Text"].split(" ... "):
                assert _plain(part) in text, (cell.row, part)
        paper = evaluate(cell.derivation, lambda r: printed[(r.table, r.row, r.column)])
        if paper.value is None:  # a weight a run selects: no printed cell gives it
            assert '"param"' in json.dumps(cell.derivation), cell.row
            continue
        assert abs(paper.value - cell.reported) <= cell.tolerance + 1e-9, (cell.row, paper.value)
        checked += 1
    assert checked == {"zhang2018": 5, "han_emobed": 8, "aminbeidokhti2020": 2}[name]
