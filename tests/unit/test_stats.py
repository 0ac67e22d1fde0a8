"""stats.py against written-out formulas, hand-worked values, scipy and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from scipy.stats import norm
from statsmodels.stats.proportion import proportions_ztest

from emorepro import stats
from emorepro.stats import (
    TestResult,
    compare_correlations_dependent,
    compare_correlations_independent,
    effective_sample_size,
    fisher_z,
    mcnemar_exact,
    reproduced_vs_reported,
    significance_mark,
    two_proportions_ztest,
)

SM_ALT = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}


def p_ref(z: float, alternative: str) -> float:
    """Normal tail probabilities written with math.erfc (independent of scipy)."""
    upper = 0.5 * math.erfc(z / math.sqrt(2.0))
    lower = 0.5 * math.erfc(-z / math.sqrt(2.0))
    return {"greater": upper, "less": lower, "two-sided": 2 * min(upper, lower)}[alternative]


# ---------------------------------------------------------------- fisher_z


@pytest.mark.parametrize("r", [-0.99, -0.5, 0.0, 0.1, 0.3, 0.75, 0.999])
def test_fisher_z_formula(r: float) -> None:
    assert fisher_z(r) == pytest.approx(0.5 * math.log((1 + r) / (1 - r)), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("r", [1.0, -1.0])
def test_fisher_z_clips_at_unity(r: float) -> None:
    edge = 1 - 1e-12
    expected = math.copysign(0.5 * math.log((1 + edge) / (1 - edge)), r)
    assert math.isfinite(fisher_z(r))
    assert fisher_z(r) == pytest.approx(expected, rel=1e-6)
    assert abs(fisher_z(r)) > 13.0


@pytest.mark.parametrize("r", [1.5, -1.2, float("nan"), float("inf")])
def test_fisher_z_rejects_non_correlations(r: float) -> None:
    with pytest.raises(ValueError, match="r must be a correlation"):
        fisher_z(r)


# ---------------------------------------------------------------- independent correlations


def test_independent_hand_worked() -> None:
    # r1=.5, r2=.3, n1=n2=103: z1 = .549306, z2 = .309520, se = sqrt(2/100) = .141421
    res = compare_correlations_independent(0.5, 103, 0.3, 103)
    assert res.statistic == pytest.approx((0.549306 - 0.309520) / 0.141421, abs=1e-4)
    assert res.statistic == pytest.approx(1.6955, abs=1e-4)
    assert res.p_value == pytest.approx(0.0900, abs=1e-4)
    assert res.method == "fisher_z_independent"
    assert res.alternative == "two-sided"


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize(
    ("r1", "n1", "r2", "n2"),
    [(0.7, 500, 0.65, 400), (0.2, 30, 0.6, 25), (-0.3, 10, 0.1, 8), (0.786, 67500, 0.715, 67500)],
)
def test_independent_formula_and_scipy(r1, n1, r2, n2, alternative) -> None:
    z = (0.5 * math.log((1 + r1) / (1 - r1)) - 0.5 * math.log((1 + r2) / (1 - r2))) / math.sqrt(
        1 / (n1 - 3) + 1 / (n2 - 3)
    )
    res = compare_correlations_independent(r1, n1, r2, n2, alternative=alternative)
    assert res.statistic == pytest.approx(z, rel=1e-10)
    assert res.p_value == pytest.approx(p_ref(z, alternative), rel=1e-7, abs=1e-300)
    scipy_p = {"greater": norm.sf(z), "less": norm.cdf(z), "two-sided": 2 * norm.sf(abs(z))}
    assert res.p_value == pytest.approx(scipy_p[alternative], rel=1e-9, abs=1e-300)


def test_independent_swap_flips_sign() -> None:
    a = compare_correlations_independent(0.6, 80, 0.4, 120)
    b = compare_correlations_independent(0.4, 120, 0.6, 80)
    assert b.statistic == pytest.approx(-a.statistic)
    assert b.p_value == pytest.approx(a.p_value)
    g = compare_correlations_independent(0.6, 80, 0.4, 120, alternative="greater")
    s = compare_correlations_independent(0.6, 80, 0.4, 120, alternative="less")
    assert g.p_value + s.p_value == pytest.approx(1.0)
    assert g.p_value < 0.5 < s.p_value


def test_independent_equal_correlations_p_one() -> None:
    res = compare_correlations_independent(0.5, 50, 0.5, 60)
    assert res.statistic == 0.0 and res.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(("n1", "n2"), [(3, 100), (100, 2), (0, 10)])
def test_independent_small_n(n1: int, n2: int) -> None:
    with pytest.raises(ValueError, match=r"n[12] must be >= 4"):
        compare_correlations_independent(0.5, n1, 0.3, n2)


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: compare_correlations_independent(0.5, 50, 0.3, 50, alternative=a),
        lambda a: compare_correlations_dependent(0.5, 0.3, 0.4, 50, alternative=a),
        lambda a: two_proportions_ztest(5, 10, 3, 10, alternative=a),
        lambda a: reproduced_vs_reported(0.5, 0.4, metric="ccc", n=50, alternative=a),
    ],
)
@pytest.mark.parametrize("bad", ["larger", "two_sided", ""])
def test_invalid_alternative(fn, bad: str) -> None:
    with pytest.raises(ValueError, match="alternative must be one of"):
        fn(bad)


# ---------------------------------------------------------------- dependent correlations


def test_dependent_steiger_hand_worked() -> None:
    # Steiger (1980) eq. 14 with r12=.6, r13=.4, r23=.5, n=100, worked by hand:
    # rbar = .5; psi = .5(1 - .5) - .5(.25)(1 - .5 - .25) = 7/32 = .21875;
    # c = psi / (1 - .25)^2 = 7/18; 2 - 2c = 11/9;
    # z12 = atanh(.6) = ln 2 = .693147, z13 = atanh(.4) = .5 ln(7/3) = .423649;
    # Z = (.693147 - .423649) * sqrt(97) / sqrt(11/9) = .269498 * 9.848858 / 1.105542 = 2.4009
    res = compare_correlations_dependent(0.6, 0.4, 0.5, 100)
    assert res.statistic == pytest.approx(0.269498 * 9.848858 / 1.105542, abs=1e-4)
    assert res.statistic == pytest.approx(2.4009, abs=1e-4)
    assert res.p_value == pytest.approx(p_ref(2.400859, "two-sided"), rel=1e-4)
    assert res.p_value == pytest.approx(0.01636, abs=1e-4)
    assert res.method == "steiger1980_z1star_dependent"


@pytest.mark.parametrize(
    ("r12", "r13", "r23", "n"),
    [(0.8, 0.75, 0.9, 67500), (0.3, 0.5, 0.2, 40), (-0.2, 0.1, 0.6, 200), (0.7, 0.1, -0.3, 12)],
)
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_dependent_formula(r12, r13, r23, n, alternative) -> None:
    rb = (r12 + r13) / 2
    psi = r23 * (1 - 2 * rb**2) - 0.5 * rb**2 * (1 - 2 * rb**2 - r23**2)
    c = psi / (1 - rb**2) ** 2
    z12 = 0.5 * math.log((1 + r12) / (1 - r12))
    z13 = 0.5 * math.log((1 + r13) / (1 - r13))
    z = (z12 - z13) * math.sqrt(n - 3) / math.sqrt(2 - 2 * c)
    res = compare_correlations_dependent(r12, r13, r23, n, alternative=alternative)
    assert res.statistic == pytest.approx(z, rel=1e-10)
    assert res.p_value == pytest.approx(p_ref(z, alternative), rel=1e-7, abs=1e-300)


def test_dependent_swap_and_limits() -> None:
    a = compare_correlations_dependent(0.55, 0.45, 0.7, 300)
    b = compare_correlations_dependent(0.45, 0.55, 0.7, 300)
    assert b.statistic == pytest.approx(-a.statistic) and b.p_value == pytest.approx(a.p_value)
    # uncorrelated predictions and rbar = 0 -> c = 0: same as the independent test, equal n
    d = compare_correlations_dependent(0.1, -0.1, 0.0, 150)
    i = compare_correlations_independent(0.1, 150, -0.1, 150)
    assert d.statistic == pytest.approx(i.statistic, rel=1e-12)
    # positively correlated predictions make the same difference more significant
    hi = compare_correlations_dependent(0.6, 0.5, 0.9, 150)
    lo = compare_correlations_dependent(0.6, 0.5, 0.1, 150)
    assert hi.statistic > lo.statistic > 0


def test_dependent_identical_predictions() -> None:
    res = compare_correlations_dependent(0.6, 0.6, 1.0, 100)
    assert res.statistic == 0.0 and res.p_value == 1.0


def test_dependent_small_n_and_bad_r() -> None:
    with pytest.raises(ValueError, match="n must be >= 4"):
        compare_correlations_dependent(0.5, 0.4, 0.3, 3)
    with pytest.raises(ValueError, match="r_23 must be a correlation"):
        compare_correlations_dependent(0.5, 0.4, 1.3, 30)


# ---------------------------------------------------------------- two proportions


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(45, 100, 30, 100), (12, 40, 20, 45), (600, 1000, 590, 1000), (1, 7, 6, 7), (0, 10, 3, 12)],
)
def test_two_proportions_vs_statsmodels(x1, n1, x2, n2, alternative) -> None:
    z_sm, p_sm = proportions_ztest([x1, x2], [n1, n2], alternative=SM_ALT[alternative])
    res = two_proportions_ztest(x1, n1, x2, n2, alternative=alternative)
    assert res.statistic == pytest.approx(float(z_sm), rel=1e-10)
    assert res.p_value == pytest.approx(float(p_sm), rel=1e-8)
    pool = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    assert res.statistic == pytest.approx(z, rel=1e-12)


def test_two_proportions_default_is_one_tailed_greater() -> None:
    res = two_proportions_ztest(45, 100, 30, 100)
    assert res.alternative == "greater"
    assert res.p_value == pytest.approx(p_ref(res.statistic, "greater"), rel=1e-8)
    assert two_proportions_ztest(30, 100, 45, 100).statistic == pytest.approx(-res.statistic)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(0, 10, 0, 20), (10, 10, 20, 20)])
def test_two_proportions_degenerate(x1, n1, x2, n2, alternative) -> None:
    res = two_proportions_ztest(x1, n1, x2, n2, alternative=alternative)
    assert res == TestResult(0.0, 1.0, "two_proportion_ztest_pooled", alternative)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 0, 1, 10), "n1 must be > 0"),
        ((1, 10, 0, 0), "n2 must be > 0"),
        ((11, 10, 1, 10), "successes1 must be in"),
        ((1, 10, -1, 10), "successes2 must be in"),
    ],
)
def test_two_proportions_invalid(args, match) -> None:
    with pytest.raises(ValueError, match=match):
        two_proportions_ztest(*args)


# ---------------------------------------------------------------- reproduced vs reported


def test_reproduced_vs_reported_correlation() -> None:
    res = reproduced_vs_reported(0.70, 0.786, metric="CCC", n=67500)
    ref = compare_correlations_independent(0.70, 67500, 0.786, 67500)
    assert res.statistic == pytest.approx(ref.statistic) and res.p_value == ref.p_value
    assert res.method == "fisher_z_independent[ccc]"
    other = reproduced_vs_reported(0.70, 0.786, metric="pcc", n=67500, n_reported=1000)
    ref2 = compare_correlations_independent(0.70, 67500, 0.786, 1000)
    assert other.statistic == pytest.approx(ref2.statistic)
    eff = reproduced_vs_reported(0.70, 0.786, metric="ccc", n=67500, n_effective=300)
    ref3 = compare_correlations_independent(0.70, 300, 0.786, 300)
    assert eff.statistic == pytest.approx(ref3.statistic)
    assert abs(eff.statistic) < abs(res.statistic)


@pytest.mark.parametrize("metric", ["accuracy", "uar", "f1", "gap"])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_reproduced_vs_reported_proportion(metric: str, alternative: str) -> None:
    res = reproduced_vs_reported(
        0.6123, 0.655, metric=metric, n=720, n_reported=700, alternative=alternative
    )
    # successes = round(value * n): 440.856 -> 441 and 458.5 -> 458 (banker's rounding)
    z_sm, p_sm = proportions_ztest([441, 458], [720, 700], alternative=SM_ALT[alternative])
    assert res.statistic == pytest.approx(float(z_sm)) and res.p_value == pytest.approx(p_sm)
    assert res.method == f"two_proportion_ztest_pooled[{metric}]"


def test_reproduced_vs_reported_errors() -> None:
    with pytest.raises(ValueError, match=r"'rmse' is not supported.*'ccc'.*'accuracy'"):
        reproduced_vs_reported(0.1, 0.2, metric="rmse", n=100)
    with pytest.raises(ValueError, match=r"proportion in \[0, 1\].*dividing by 100"):
        reproduced_vs_reported(61.2, 65.5, metric="accuracy", n=100)


# ---------------------------------------------------------------- effective n, marks


def _ess_reference(x: np.ndarray, y: np.ndarray, k_max: int) -> float:
    n = len(x)

    def r(v: np.ndarray, k: int) -> float:
        d = v - v.mean()
        return sum(d[i] * d[i + k] for i in range(n - k)) / sum(d * d)

    s = sum(r(x, k) * r(y, k) for k in range(1, k_max + 1))
    return min(max(n / (1 + 2 * s), 3.0), n)


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    x = np.zeros(n)
    e = rng.standard_normal(n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


def test_effective_sample_size_formula_and_ar1() -> None:
    rng = np.random.default_rng(7)
    x, y = _ar1(rng, 200, 0.8), _ar1(rng, 200, 0.6)
    assert effective_sample_size(x, y) == pytest.approx(_ess_reference(x, y, 40), rel=1e-10)
    assert effective_sample_size(x, y, max_lag=5) == pytest.approx(
        _ess_reference(x, y, 5), rel=1e-10
    )
    # two independent AR(1), phi = .9: n_eff / n -> (1 - phi^2) / (1 + phi^2) = 0.105
    a, b = _ar1(rng, 20000, 0.9), _ar1(rng, 20000, 0.9)
    assert effective_sample_size(a, b, max_lag=200) / 20000 == pytest.approx(0.105, rel=0.3)
    w1, w2 = rng.standard_normal(5000), rng.standard_normal(5000)
    assert effective_sample_size(w1, w2, max_lag=50) > 4000


def test_effective_sample_size_invalid() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        effective_sample_size([1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="x has 5 values but y has 4"):
        effective_sample_size(np.arange(5.0), np.arange(4.0))


@pytest.mark.parametrize(("p", "mark"), [(0.049, "*"), (0.0, "*"), (0.05, ""), (0.5, "")])
def test_significance_mark(p: float, mark: str) -> None:
    assert significance_mark(p) == mark


def test_significance_mark_alpha_and_invalid() -> None:
    assert significance_mark(0.02, alpha=0.01) == ""
    for bad in (float("nan"), -0.1, 1.5):
        with pytest.raises(ValueError, match="p_value must be in"):
            significance_mark(bad)


def _mcnemar_brute(b: int, c: int) -> float:
    """P(B >= b) for B ~ Binomial(b + c, 1/2), summed term by term."""
    n = b + c
    return sum(math.comb(n, k) for k in range(b, n + 1)) / 2**n


@pytest.mark.parametrize(("b", "c"), [(7, 1), (1, 7), (5, 5), (0, 3), (3, 0), (40, 25)])
def test_mcnemar_exact_is_the_binomial_tail(b: int, c: int) -> None:
    res = mcnemar_exact(b, c)
    assert res.p_value == pytest.approx(_mcnemar_brute(b, c), rel=1e-12)
    assert res.statistic == b - c and res.alternative == "greater"
    two = mcnemar_exact(b, c, alternative="two-sided").p_value
    assert two == pytest.approx(min(1.0, 2 * min(_mcnemar_brute(b, c), _mcnemar_brute(c, b))))


def test_mcnemar_exact_edge_cases() -> None:
    assert mcnemar_exact(0, 0).p_value == 1.0
    with pytest.raises(ValueError, match="only_second must be a non-negative int"):
        mcnemar_exact(3, -1)
    with pytest.raises(ValueError, match="only_first must be a non-negative int"):
        mcnemar_exact(2.5, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_seeds_vs_reported_is_scipys_one_sample_t(alternative: str) -> None:
    values = [0.61, 0.55, 0.66, 0.58]
    # proportions on their own scale, correlations on Fisher z
    res = stats.seeds_vs_reported(values, 0.5, metric="uar", alternative=alternative)
    ref = scipy_stats.ttest_1samp(values, 0.5, alternative=alternative)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue)
    res = stats.seeds_vs_reported(values, 0.5, metric="ccc", alternative=alternative)
    ref = scipy_stats.ttest_1samp(np.arctanh(values), np.arctanh(0.5), alternative=alternative)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue)
    assert res.method == "one-sample t over 4 seeds[ccc]"


def test_seeds_vs_reported_needs_two_seeds_with_spread() -> None:
    with pytest.raises(ValueError, match=">= 2 finite values"):
        stats.seeds_vs_reported([0.5], 0.4, metric="ccc")
    with pytest.raises(ValueError, match=">= 2 finite values"):
        stats.seeds_vs_reported([0.5, float("nan")], 0.4, metric="ccc")
    with pytest.raises(ValueError, match="identical values"):
        stats.seeds_vs_reported([0.5, 0.5], 0.4, metric="ccc")
    with pytest.raises(ValueError, match="alternative"):
        stats.seeds_vs_reported([0.5, 0.6], 0.4, metric="ccc", alternative="bigger")
