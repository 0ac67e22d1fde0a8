"""metrics.py against independent references (written-out formula, scipy, scikit-learn)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from emorepro.metrics import (
    MetricVariant,
    accuracy,
    ccc,
    ccc_partition,
    confusion,
    macro_f1,
    pcc,
    per_class_prf,
    uar,
)


def ccc_reference(t: np.ndarray, p: np.ndarray, ddof: int) -> float:
    n = len(t)
    mt, mp = sum(t) / n, sum(p) / n
    cov = sum((a - mt) * (b - mp) for a, b in zip(t, p, strict=True)) / (n - ddof)
    vt = sum((a - mt) ** 2 for a in t) / (n - ddof)
    vp = sum((b - mp) ** 2 for b in p) / (n - ddof)
    return 2 * cov / (vt + vp + (mt - mp) ** 2)


RNG = np.random.default_rng(0)
T = RNG.normal(size=200)
P = 0.6 * T + RNG.normal(scale=0.5, size=200) + 0.3


@pytest.mark.parametrize("ddof", [0, 1])
def test_ccc_matches_written_out_formula(ddof: int) -> None:
    assert ccc(T, P, ddof=ddof) == pytest.approx(ccc_reference(T, P, ddof), abs=1e-12)


def test_ddof_changes_ccc_only_slightly() -> None:
    assert ccc(T, P, ddof=0) != ccc(T, P, ddof=1)
    assert abs(ccc(T, P, ddof=0) - ccc(T, P, ddof=1)) < 1e-2


@pytest.mark.parametrize(
    ("t", "p", "expected"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 1.0),  # identical
        ([1.0, 2.0, 3.0], [2.0, 2.0, 2.0], 0.0),  # constant prediction
        ([2.0, 2.0, 2.0], [2.0, 2.0, 2.0], 1.0),  # both constant, identical
        ([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], -1.0),  # perfect negative
    ],
)
def test_ccc_degenerate_cases(t: list[float], p: list[float], expected: float) -> None:
    assert ccc(t, p) == pytest.approx(expected, abs=1e-12)


def test_negative_correlation_gives_negative_ccc() -> None:
    assert ccc(T, -P) < 0


def test_mean_shift_lowers_ccc_not_pcc() -> None:
    assert pcc(T, P + 2.0) == pytest.approx(pcc(T, P), abs=1e-12)
    assert ccc(T, P + 2.0) < ccc(T, P)


@pytest.mark.parametrize("fn", [ccc, pcc])
@pytest.mark.parametrize(
    ("t", "p", "match"),
    [
        ([1.0], [1.0], "at least 2"),
        ([1.0, np.nan], [1.0, 2.0], "NaN"),
        ([1.0, 2.0], [1.0], "has"),
        ([1.0, 2.0, 3.0], [1.0, np.inf, 2.0], "infinite values .0 in y_true, 1 in y_pred"),
        ([-np.inf, 2.0], [1.0, 2.0], "infinite"),
    ],
)
def test_invalid_input_raises(fn: Callable[..., float], t: list, p: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fn(t, p)


def test_pcc_matches_scipy_and_constant_is_nan() -> None:
    assert pcc(T, P) == pytest.approx(pearsonr(T, P).statistic, abs=1e-12)
    assert math.isnan(pcc(T, np.ones_like(T)))


def test_pooled_and_per_recording_differ() -> None:
    # recording 2 is predicted backwards (CCC -1), but the recording means are right, and
    # the between-recording spread dominates the pooled variance
    t = [np.array([0.0, 1.0, 2.0]), np.array([10.0, 11.0, 12.0])]
    p = [np.array([0.0, 1.0, 2.0]), np.array([12.0, 11.0, 10.0])]
    assert ccc_partition(t, p, pooling="per_recording") == pytest.approx(0.0, abs=1e-12)
    pooled = ccc_partition(t, p, pooling="pooled")
    assert pooled == pytest.approx(ccc_reference(np.concatenate(t), np.concatenate(p), 0))
    assert pooled > 0.9
    with pytest.raises(ValueError, match="pooling"):
        ccc_partition(t, p, pooling="mean")  # type: ignore[arg-type]


LABELS = ["ang", "hap", "neu", "sad"]
YT = ["ang", "ang", "hap", "neu", "neu", "neu", "hap", "ang"]  # no "sad": fold lacks a class
YP = ["ang", "hap", "hap", "neu", "sad", "neu", "neu", "ang"]


@pytest.mark.parametrize(
    ("yt", "yp"),
    [
        (YT, YP),
        (YT, ["neu"] * len(YT)),  # constant prediction
        (list(RNG.choice(LABELS, 50)), list(RNG.choice(LABELS, 50))),
    ],
)
def test_classification_metrics_match_sklearn(yt: list[str], yp: list[str]) -> None:
    assert accuracy(yt, yp) == pytest.approx(accuracy_score(yt, yp))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "y_pred contains classes not in y_true"
        ref_uar = balanced_accuracy_score(yt, yp)
    assert uar(yt, yp, labels=LABELS) == pytest.approx(ref_uar)
    ref_f1 = f1_score(yt, yp, labels=LABELS, average="macro", zero_division=0)
    assert macro_f1(yt, yp, labels=LABELS) == pytest.approx(ref_f1)
    pr, rc, f1, sup = precision_recall_fscore_support(yt, yp, labels=LABELS, zero_division=0)
    df = per_class_prf(yt, yp, labels=LABELS)
    assert list(df.index) == LABELS
    np.testing.assert_allclose(df["precision"], pr)
    np.testing.assert_allclose(df["recall"], rc)
    np.testing.assert_allclose(df["f1"], f1)
    np.testing.assert_array_equal(df["support"], sup)
    np.testing.assert_array_equal(
        confusion(yt, yp, labels=LABELS), confusion_matrix(yt, yp, labels=LABELS)
    )


def test_fold_lacking_a_class_keeps_label_order() -> None:
    m = confusion(YT, YP, labels=LABELS)
    assert m.shape == (4, 4)
    assert m[3].sum() == 0  # no true "sad"
    assert m[:, 3].sum() == 1  # but one predicted "sad"
    assert uar(YT, YP, labels=LABELS) == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)


def test_unknown_label_raises() -> None:
    with pytest.raises(ValueError, match="not in labels"):
        uar(["ang", "xxx"], ["ang", "ang"], labels=LABELS)


def test_metric_variant_tag() -> None:
    assert MetricVariant("ccc", "pooled", 0).tag() == "ccc[pooled,ddof=0]"
    assert MetricVariant("ccc", "per_recording", 1).tag() == "ccc[per_recording,ddof=1]"
    assert MetricVariant("uar", None, None).tag() == "uar"
