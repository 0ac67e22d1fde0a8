"""Seed replicates: names, folders, training seeds, and what the plan replicates."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from emorepro.cards import load_cards
from emorepro.config import load_config
from emorepro.families.base import RunContext
from emorepro.layout import Layout
from emorepro.plan import (
    ResultKey,
    chain_depths,
    depends_on_seed,
    figure_jobs,
    job_inputs,
    job_settings,
    plan_results,
)
from emorepro.replicates import (
    SEED_STRIDE,
    replicate_name,
    replicate_rel,
    split_name,
    training_seed,
)
from emorepro.results import Source

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config() -> dict:
    return load_config(ROOT / "benchmarks/config.yaml")


@pytest.fixture(scope="module")
def cards() -> dict:
    return load_cards(ROOT / "benchmarks")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("speech000_ccc", ("speech000_ccc", 0)),
        ("speech000_ccc+seed1", ("speech000_ccc", 1)),
        ("x+seed12", ("x", 12)),
        ("x+seed0", ("x+seed0", 0)),  # replicate 0 has no suffix: not a replicate name
        ("x+seed01", ("x+seed01", 0)),
        ("x+seed", ("x+seed", 0)),
        ("+seed3", ("+seed3", 0)),
    ],
)
def test_split_name(name: str, expected: tuple[str, int]) -> None:
    assert split_name(name) == expected


def test_replicate_names_and_folders_round_trip() -> None:
    assert replicate_name("a", 0) == "a" and replicate_name("a", 2) == "a+seed2"
    assert split_name(replicate_name("a_b", 7)) == ("a_b", 7)
    with pytest.raises(ValueError, match=">= 0"):
        replicate_name("a", -1)
    rel = "experiments/fam/a/c/p"
    assert replicate_rel(rel, 1) == "experiments/fam/a+seed1/c/p"
    assert replicate_rel("experiments/fam/a+seed1/c/p/pp-g", 0) == "experiments/fam/a/c/p/pp-g"
    assert replicate_rel("res/experiments/fam/a/c/p/model.pt", 3) == (
        "res/experiments/fam/a+seed3/c/p/model.pt"
    )
    with pytest.raises(ValueError, match="not inside a result folder"):
        replicate_rel("features/x.parquet", 1)


def test_training_seeds_start_at_the_corpus_seed_and_never_collide() -> None:
    assert training_seed(2017, 0) == 2017
    seeds = {training_seed(2017, r) + fold for r in range(5) for fold in range(SEED_STRIDE)}
    assert len(seeds) == 5 * SEED_STRIDE  # a family's fold offsets stay inside one stride


def test_run_context_seeds_training_from_the_replicate(tmp_path: Path) -> None:
    key = ResultKey("tzirakis2017", "speech000_ccc+seed2", "recola_avec2016", "avec2016")
    ctx = RunContext(
        experiment=key.experiment(),
        corpus=key.corpus,
        protocol=key.protocol,
        inputs={},
        settings={},
        execution={},
        source=Source("synthetic", "tiny", 2017),
        result_dir=tmp_path,
        checkpoint=tmp_path / "c.pt",
        cache_dir=tmp_path,
        replicate=key.replicate,
    )
    assert ctx.experiment.name == "speech000_ccc"  # the grammar never sees the suffix
    assert ctx.seed == 2017 + 2 * SEED_STRIDE and ctx.source.seed == 2017


def test_one_seed_plans_no_replicate(config, cards) -> None:
    assert config["seeds"] == 1
    assert all(k.replicate == 0 for k in plan_results(config, cards))


def test_seeds_replicate_exactly_the_results_that_depend_on_a_training_seed(config, cards) -> None:
    base = plan_results(config, cards)
    cfg = copy.deepcopy(config)
    cfg["seeds"] = 3
    keys = plan_results(cfg, cards)
    rels = {k.rel for k in keys}
    seeded = [k for k in base if depends_on_seed(k.raw)]
    assert seeded and len(seeded) < len(base)
    assert len(keys) == len(base) + 2 * len(seeded)
    for k in base:
        replicated = {k.with_replicate(r).rel in rels for r in (1, 2)}
        assert replicated == {depends_on_seed(k.raw)}, k.rel
    # a network is replicated; a deterministic SVM is not
    svm = ResultKey("baselines", "svm_eGeMAPSv02", "rml", "loso")
    assert svm in base and not depends_on_seed(svm)
    pp = "experiments/tzirakis2017/speech000_ccc+seed2/recola_full/recola46/pp-tzirakis2017"
    assert pp in rels
    # a step that trains nothing but reads trained networks' outputs depends on their seed
    vote = ResultKey("zhang2018", "decision_majority_vote", "rml", "loso")
    assert not vote.experiment().trains_network and depends_on_seed(vote)
    # same experiment, same settings: only the seed differs
    rep = ResultKey("tzirakis2017", "visual_ccc+seed1", "recola_avec2016", "avec2016")
    assert rep.experiment() == rep.with_replicate(0).experiment()
    assert job_settings(rep, cfg) == job_settings(rep.with_replicate(0), cfg)
    # figures show replicate 0 only
    assert all("+seed" not in f.rel for f in figure_jobs(keys, Layout()))


def test_a_replicate_reads_the_same_replicate_of_what_it_builds_on(config, cards) -> None:
    key = ResultKey("tzirakis2017", "multimodal_landmarks+seed1", "recola_avec2016", "avec2016")
    inputs = job_inputs(key, Layout("res"), "/data/avec")
    assert inputs["init"] == [
        "res/experiments/tzirakis2017/multimodal_traindev+seed1/recola_avec2016/avec2016/"
        "metrics.json"
    ]
    base = job_inputs(key.with_replicate(0), Layout("res"), "/data/avec")
    assert {k: v for k, v in inputs.items() if k != "init"} == {
        k: v for k, v in base.items() if k != "init"
    }  # features, sheets and the corpus are shared by every replicate
    # the chain of a replicate is as long as the chain of replicate 0, and separate from it
    cfg = copy.deepcopy(config)
    cfg["seeds"] = 2
    keys = plan_results(cfg, cards)
    depths = chain_depths(keys, lambda k: job_inputs(k, Layout(), ""))
    for k, depth in depths.items():
        assert depth == depths[k.with_replicate(0)], k.rel
