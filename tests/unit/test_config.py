"""Config schema: the shipped config validates; typos and wrong types name the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from emorepro.config import load_config, validate_config
from emorepro.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def raw() -> dict:
    return yaml.safe_load((ROOT / "benchmarks/config.yaml").read_text())


def test_shipped_config_is_valid_and_defaults_filled(raw: dict) -> None:
    cfg = load_config(ROOT / "benchmarks/config.yaml")
    assert cfg["mlflow"]["tracking_uri"] == "sqlite:///results/mlflow.db"
    assert cfg["features"]["windowed"]["hop_s"] == 0.04
    assert cfg["families"]["baselines"]["enabled"] is True  # generic key, defaulted
    assert cfg["families"]["tzirakis2017"]["exclude"] == []
    assert raw == yaml.safe_load((ROOT / "benchmarks/config.yaml").read_text())  # not mutated


@pytest.mark.parametrize(
    ("mutate", "key", "words"),
    [
        (lambda c: c.update(sead=1), "'sead'", "allowed keys here"),
        (lambda c: c["families"]["baselines"]["svm"].update(C="x"), "'families.baselines.svm.C'",
         "not of type"),
        (lambda c: c["families"]["baselines"].update(svn={}), "'families.baselines.svn'",
         "allowed keys here: blstm, enabled, exclude, only_corpora, svm, svr"),
        (lambda c: c["families"].update(zhang2019={}), "'families.zhang2019'", "baselines"),
        (lambda c: c["families"]["tzirakis2017"].update(enabled="yes"),
         "'families.tzirakis2017.enabled'", "not of type"),
        (lambda c: c["corpora"]["rml"].update(sorce="real"), "'corpora.rml.sorce'", "sorce"),
        (lambda c: c["corpora"].update(rml={"source": "real"}), "'corpora.rml.path'", "required"),
        (lambda c: c.update(scale="huge"), "'scale'", "huge"),
        (lambda c: c["corpora"].update(ravdess={"source": "synthetic"}), "'corpora.ravdess'", ""),
        (lambda c: c["families"]["baselines"]["svm"].update(C=-1), "'families.baselines.svm.C'",
         "minimum"),
        (lambda c: c.pop("seed"), "'seed'", "required"),
    ],
)  # fmt: skip
def test_bad_config_names_the_key(raw: dict, mutate, key: str, words: str) -> None:
    bad = copy.deepcopy(raw)
    mutate(bad)
    with pytest.raises(ConfigError) as err:
        validate_config(bad, source="benchmarks/config.yaml")
    assert key in str(err.value)
    assert words in str(err.value)
    assert str(err.value).startswith("benchmarks/config.yaml:")


def test_svm_corpus_must_be_configured(raw: dict) -> None:
    bad = copy.deepcopy(raw)
    del bad["corpora"]["rml"]
    bad["features"]["logmel"]["corpora"].remove("rml")
    with pytest.raises(ConfigError, match=r"families\.baselines\.svm\.corpora.*'rml'"):
        validate_config(bad)


def test_synthetic_with_path_is_rejected(raw: dict) -> None:
    bad = copy.deepcopy(raw)
    bad["corpora"]["rml"]["path"] = "/data/rml"
    with pytest.raises(ConfigError, match=r"corpora\.rml\.path"):
        validate_config(bad)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


def test_every_registered_family_has_a_block_in_the_composed_schema() -> None:
    from emorepro.config import load_schema
    from emorepro.families import family_ids

    slots = load_schema()["properties"]["families"]["properties"]
    assert set(slots) == set(family_ids())
    for fragment in slots.values():
        assert {"enabled", "exclude"} <= set(fragment["properties"])
        assert fragment["additionalProperties"] is False
