"""Zhang et al. (002) decision-level rules, score-level fusion and segment pooling."""

from __future__ import annotations

import numpy as np
import pytest

from emorepro.families.zhang2018.fusion_rules import RULES, fuse, score_level, vote_counts
from emorepro.families.zhang2018.pooling import average_pool, max_pool, pool_segments

# Two items, three classes. Item 0 separates every rule (hand computation per rule below).
AUDIO = np.array([[0.50, 0.40, 0.10], [0.2, 0.3, 0.5]])
VISUAL = np.array([[0.05, 0.55, 0.40], [0.1, 0.1, 0.8]])


def test_each_rule_by_hand() -> None:
    # item 0: max   = (0.50, 0.55, 0.40)  -> 1
    #         min   = (0.05, 0.40, 0.10)  -> 1
    #         sum   = (0.55, 0.95, 0.50)  -> 1;  average = sum / 2 -> 1
    #         prod  = (0.025, 0.22, 0.04) -> 1
    #         votes: audio 0, visual 1 -> 1-1 tie -> lowest index 0
    # item 1: every rule -> 2 (both modalities vote 2)
    want = {"max": 1, "min": 1, "sum": 1, "average": 1, "product": 1, "majority_vote": 0}
    assert set(want) == set(RULES)
    for rule, first in want.items():
        assert fuse(rule, AUDIO, VISUAL).tolist() == [first, 2], rule


def test_rules_that_disagree() -> None:
    a = np.array([[0.9, 0.1, 0.0], [0.45, 0.45, 0.10]])
    v = np.array([[0.0, 0.6, 0.4], [0.30, 0.20, 0.50]])
    # item 0: max (0.9, 0.6, 0.4) -> 0; min (0, 0.1, 0) -> 1; sum (0.9, 0.7, 0.4) -> 0;
    #         product (0, 0.06, 0) -> 1
    # item 1: max (0.45, 0.45, 0.5) -> 2; min (0.3, 0.2, 0.1) -> 0; sum (0.75, 0.65, 0.6) -> 0;
    #         product (0.135, 0.09, 0.05) -> 0; votes: audio 0 (tie 0/1 -> lowest), visual 2
    assert fuse("max", a, v).tolist() == [0, 2]
    assert fuse("min", a, v).tolist() == [1, 0]
    assert fuse("sum", a, v).tolist() == [0, 0]
    assert fuse("product", a, v).tolist() == [1, 0]
    assert fuse("majority_vote", a, v).tolist() == [0, 0]
    assert fuse("majority_vote", a, v, vote_tie="confident").tolist() == [0, 2]


def test_ties_go_to_the_lowest_class_index() -> None:
    p = np.array([[0.3, 0.3, 0.4], [0.4, 0.3, 0.3]])
    q = np.array([[0.4, 0.3, 0.3], [0.3, 0.3, 0.4]])
    for rule in ("max", "min", "sum", "average", "product"):
        assert fuse(rule, p, q).tolist() == [0, 0], rule  # classes 0 and 2 tie in both items
    # one voter's own argmax tie: (0.5, 0.5, 0) votes 0
    assert vote_counts(np.stack([np.array([[0.5, 0.5, 0.0]])] * 2)).tolist() == [[2, 0, 0]]


def test_majority_vote_with_two_voters() -> None:
    a = np.array([[0.1, 0.2, 0.7], [0.1, 0.2, 0.7], [0.6, 0.4, 0.0], [0.0, 0.5, 0.5]])
    v = np.array([[0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.0, 0.4, 0.6], [0.5, 0.0, 0.5]])
    # votes (a, v): (2, 1) split, (2, 2) agree, (0, 2) split with equal confidence, (1, 0) split
    assert fuse("majority_vote", a, v).tolist() == [1, 2, 0, 0]
    # confident: visual 0.8 > 0.7 -> 1; agree -> 2; 0.6 = 0.6 -> lower of {0, 2}; 0.5 = 0.5 -> 0
    assert fuse("majority_vote", a, v, vote_tie="confident").tolist() == [1, 2, 0, 0]
    a2 = np.array([[0.1, 0.1, 0.8]])
    v2 = np.array([[0.3, 0.6, 0.1]])
    assert fuse("majority_vote", a2, v2).tolist() == [1]  # split: lower index
    assert fuse("majority_vote", a2, v2, vote_tie="confident").tolist() == [2]  # 0.8 > 0.6


def test_confident_majority_vote_equals_max_and_average_equals_sum() -> None:
    """Why the default vote tie-break is "lowest": with two voters "confident" is the max rule
    (Table V has majority vote well below max), and average always decides as sum does."""
    rng = np.random.default_rng(0)
    a = rng.dirichlet(np.ones(6), size=500)
    v = rng.dirichlet(np.ones(6), size=500)
    assert np.array_equal(fuse("majority_vote", a, v, vote_tie="confident"), fuse("max", a, v))
    assert np.array_equal(fuse("average", a, v), fuse("sum", a, v))
    assert not np.array_equal(fuse("majority_vote", a, v), fuse("max", a, v))
    assert fuse("product", a, v).dtype == np.int64


def test_score_level_is_equation_6() -> None:
    sa = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 0.0]])
    sv = np.array([[-3.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    # 0.5 sa + 0.5 sv = [[-1, -0.5, 0.25], [0.5, 0.5, 0]] -> [2, 0 (tie -> lowest)]
    assert score_level(sa, sv).tolist() == [2, 0]
    assert score_level(sa, sv, w=1.0).tolist() == [0, 1]
    assert score_level(sa, sv, w=0.0).tolist() == [1, 0]
    with pytest.raises(ValueError, match="w="):
        score_level(sa, sv, w=1.5)


def test_fusion_input_checks() -> None:
    with pytest.raises(ValueError, match="unknown rule"):
        fuse("median", AUDIO, VISUAL)
    with pytest.raises(ValueError, match="differ"):
        fuse("sum", AUDIO, VISUAL[:1])
    with pytest.raises(ValueError, match=">= 0"):
        fuse("product", -AUDIO, VISUAL)
    with pytest.raises(ValueError, match="NaN"):
        fuse("max", np.full((1, 3), np.nan), VISUAL[:1])
    with pytest.raises(ValueError, match="vote_tie"):
        fuse("majority_vote", AUDIO, VISUAL, vote_tie="random")


# ---------------------------------------------------------------- pooling


def test_average_and_max_pool_by_hand() -> None:
    feats = np.array([[1.0, 0.0], [3.0, 2.0], [10.0, -1.0], [5.0, 4.0], [0.0, 9.0]])
    ids = ["v2", "v2", "v1", "v2", "v1"]
    items, mean = average_pool(feats, ids)
    assert items == ["v2", "v1"]  # order of first appearance
    assert mean.tolist() == [[3.0, 2.0], [5.0, 4.0]]
    items_max, top = max_pool(feats, ids)
    assert items_max == items
    assert top.tolist() == [[5.0, 4.0], [10.0, 9.0]]


def test_pooling_keeps_dtype_and_accepts_any_hashable_ids() -> None:
    feats = np.arange(12, dtype=np.float32).reshape(6, 2)
    items, pooled = pool_segments(feats, [7, 7, 3, 3, 3, 9])
    assert items == [7, 3, 9] and pooled.dtype == np.float32
    assert pooled.tolist() == [[1.0, 2.0], [6.0, 7.0], [10.0, 11.0]]
    _, single = average_pool(feats[:1], ["a"])
    assert single.tolist() == [[0.0, 1.0]]


def test_pooling_input_checks() -> None:
    feats = np.zeros((3, 2))
    with pytest.raises(ValueError, match="item ids"):
        average_pool(feats, ["a", "b"])
    with pytest.raises(ValueError, match="float"):
        average_pool(np.zeros((3, 2), dtype=np.int64), ["a", "a", "b"])
    with pytest.raises(ValueError, match="how="):
        pool_segments(feats, ["a", "a", "b"], how="median")
