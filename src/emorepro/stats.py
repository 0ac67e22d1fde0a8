"""Significance tests for comparing systems and for comparing a reproduction with a paper.

Han et al. (003, §3.5 of the catalogue) use "a Fisher r-to-z transformation for dimensional
continuous emotion regression and a one-tailed z-test for categorical discrete emotion
classification", with p < .05 marked by "*". This module implements both, the Steiger (1980)
test for two *dependent* correlations (two systems scored against the same gold standard on
the same frames), the exact McNemar test for two classifiers scored on the same items, and
:func:`reproduced_vs_reported`, which picks the right test for a metric.

Caveat for frame-level metrics: RECOLA frames (40 ms) are strongly autocorrelated, so using the
number of frames as ``n`` treats tens of thousands of dependent values as independent and
overstates significance. :func:`effective_sample_size` gives a Bartlett-type correction that
can be passed as ``n_effective``.

All distributions come from :mod:`scipy.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import norm

Alternative = Literal["two-sided", "greater", "less"]
ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less")
CORRELATION_METRICS: tuple[str, ...] = ("ccc", "pcc")
PROPORTION_METRICS: tuple[str, ...] = (
    "accuracy",
    "uar",
    "recall",
    "precision",
    "f1",
    "fscore",
    "gap",
)
_R_CLIP = 1.0 - 1e-12


@dataclass(frozen=True)
class TestResult:
    """One test: ``statistic`` (a z value), its ``p_value``, the test name and alternative."""

    __test__ = False  # not a pytest test class despite the name

    statistic: float
    p_value: float
    method: str
    alternative: str


def _check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {list(ALTERNATIVES)}, got {alternative!r}")


def _p_from_z(z: float, alternative: str) -> float:
    """p value of a standard-normal statistic: greater -> P(Z >= z), less -> P(Z <= z)."""
    _check_alternative(alternative)
    if alternative == "greater":
        return float(norm.sf(z))
    if alternative == "less":
        return float(norm.cdf(z))
    return float(min(1.0, 2.0 * norm.sf(abs(z))))


def _check_r(r: float, name: str) -> float:
    r = float(r)
    if not math.isfinite(r) or abs(r) > 1.0 + 1e-9:
        raise ValueError(f"{name} must be a correlation in [-1, 1], got {r!r}")
    return r


def _check_n(n: float, name: str, minimum: int) -> float:
    if isinstance(n, bool) or not isinstance(n, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, got {type(n).__name__}")
    if not math.isfinite(float(n)) or n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n!r}")
    return float(n)


def fisher_z(r: float) -> float:
    """Fisher r-to-z transform ``z = atanh(r) = 0.5 * ln((1 + r) / (1 - r))``.

    ``r`` is clipped to ``±(1 - 1e-12)`` so that ``r = ±1`` gives a large finite z
    (about ±14.2) instead of infinity.
    """
    r = _check_r(r, "r")
    return float(np.arctanh(np.clip(r, -_R_CLIP, _R_CLIP)))


def compare_correlations_independent(
    r1: float, n1: float, r2: float, n2: float, *, alternative: Alternative = "two-sided"
) -> TestResult:
    """Fisher r-to-z test of two correlations from independent samples.

    ``z = (atanh(r1) - atanh(r2)) / sqrt(1/(n1 - 3) + 1/(n2 - 3))``; ``greater`` tests
    ``rho1 > rho2``. Needs ``n1, n2 >= 4``. Applied to CCC (as Han et al. do) this uses
    Pearson's large-sample variance ``1/(n - 3)``, an approximation for CCC.
    """
    _check_alternative(alternative)
    n1 = _check_n(n1, "n1", 4)
    n2 = _check_n(n2, "n2", 4)
    z1, z2 = fisher_z(_check_r(r1, "r1")), fisher_z(_check_r(r2, "r2"))
    z = (z1 - z2) / math.sqrt(1.0 / (n1 - 3.0) + 1.0 / (n2 - 3.0))
    return TestResult(float(z), _p_from_z(z, alternative), "fisher_z_independent", alternative)


def compare_correlations_dependent(
    r_12: float, r_13: float, r_23: float, n: float, *, alternative: Alternative = "two-sided"
) -> TestResult:
    """Steiger (1980) Z1* test of two overlapping correlations measured on the same n cases.

    Variable 1 is shared (e.g. the gold standard), 2 and 3 are e.g. predictions A and B;
    ``greater`` tests ``rho_12 > rho_13``. With the pooled ``rbar = (r_12 + r_13) / 2``
    (Steiger 1980, eq. 14):

    ``psi = r_23 (1 - 2 rbar^2) - 0.5 rbar^2 (1 - 2 rbar^2 - r_23^2)``,
    ``c = psi / (1 - rbar^2)^2`` (covariance of the two Fisher z values times n - 3),
    ``Z = (atanh(r_12) - atanh(r_13)) sqrt(n - 3) / sqrt(2 - 2c)``.

    Needs ``n >= 4``. If ``2 - 2c <= 0`` (the two predictions are identical, r_23 = 1) the
    statistic is 0 and p is 1.
    """
    _check_alternative(alternative)
    n = _check_n(n, "n", 4)
    r12, r13, r23 = (_check_r(r, k) for r, k in ((r_12, "r_12"), (r_13, "r_13"), (r_23, "r_23")))
    rbar = (r12 + r13) / 2.0
    rb2 = rbar * rbar
    psi = r23 * (1.0 - 2.0 * rb2) - 0.5 * rb2 * (1.0 - 2.0 * rb2 - r23 * r23)
    den_r = max(1.0 - rb2, 1.0 - _R_CLIP**2)
    c = psi / den_r**2
    var = 2.0 - 2.0 * c
    method = "steiger1980_z1star_dependent"
    diff = fisher_z(r12) - fisher_z(r13)
    if var <= 1e-15:
        return TestResult(0.0, 1.0, method, alternative)
    z = diff * math.sqrt(n - 3.0) / math.sqrt(var)
    return TestResult(float(z), _p_from_z(z, alternative), method, alternative)


def _check_count(k: float, n: float, kname: str, nname: str) -> tuple[float, float]:
    if isinstance(n, bool) or not isinstance(n, int | float | np.integer | np.floating):
        raise ValueError(f"{nname} must be a number, got {type(n).__name__}")
    if not math.isfinite(float(n)) or n <= 0:
        raise ValueError(f"{nname} must be > 0 (number of trials), got {n!r}")
    if not math.isfinite(float(k)) or k < 0 or k > n:
        raise ValueError(f"{kname} must be in [0, {nname}={n}], got {k!r}")
    return float(k), float(n)


def two_proportions_ztest(
    successes1: float,
    n1: float,
    successes2: float,
    n2: float,
    *,
    alternative: Alternative = "greater",
) -> TestResult:
    """Pooled-variance z-test of two proportions; one-tailed ``greater`` (p1 > p2) by default.

    ``p = (x1 + x2) / (n1 + n2)``, ``z = (x1/n1 - x2/n2) / sqrt(p (1 - p) (1/n1 + 1/n2))``
    (identical to ``statsmodels...proportions_ztest(..., prop_var=False)``).
    If both samples are all successes or all failures (p = 0 or 1) the variance is zero and
    there is no evidence of any difference: statistic 0.0 and p_value 1.0 for every
    alternative. ``n <= 0`` or a count outside ``[0, n]`` -> ``ValueError``.
    """
    _check_alternative(alternative)
    x1, n1 = _check_count(successes1, n1, "successes1", "n1")
    x2, n2 = _check_count(successes2, n2, "successes2", "n2")
    p_pool = (x1 + x2) / (n1 + n2)
    var = p_pool * (1.0 - p_pool) * (1.0 / n1 + 1.0 / n2)
    method = "two_proportion_ztest_pooled"
    if var <= 0.0:
        return TestResult(0.0, 1.0, method, alternative)
    z = (x1 / n1 - x2 / n2) / math.sqrt(var)
    return TestResult(float(z), _p_from_z(z, alternative), method, alternative)


def mcnemar_exact(
    only_first: int, only_second: int, *, alternative: Alternative = "greater"
) -> TestResult:
    """Exact McNemar test of two classifiers scored on the same items.

    ``only_first`` (b): items the first system gets right and the second wrong;
    ``only_second`` (c): the reverse. Under H0 each discordant item is a fair coin, so
    ``b ~ Binomial(b + c, 1/2)``; ``greater`` (default, one-tailed) tests that the first
    system is better: ``p = P(B >= b)``. The statistic is ``b - c``. No discordant item ->
    statistic 0 and p 1. Counts must be non-negative ints.
    """
    from scipy.stats import binomtest

    _check_alternative(alternative)
    for name, k in (("only_first", only_first), ("only_second", only_second)):
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
            raise ValueError(f"{name} must be a non-negative int (a count), got {k!r}")
    b, c = int(only_first), int(only_second)
    method = "mcnemar_exact"
    if b + c == 0:
        return TestResult(0.0, 1.0, method, alternative)
    p = binomtest(b, b + c, 0.5, alternative=alternative).pvalue
    return TestResult(float(b - c), float(min(p, 1.0)), method, alternative)


def effective_sample_size(x: object, y: object, *, max_lag: int | None = None) -> float:
    """Bartlett (1935) effective n for the correlation of two autocorrelated series.

    ``n_eff = n / (1 + 2 * sum_{k=1..K} r_x(k) r_y(k))`` with ``r(k)`` the lag-k sample
    autocorrelation (biased estimator, divisor n) and ``K = max_lag`` (default ``n // 5``,
    as in Pyper & Peterman 1998). The result is clipped to ``[3, n]`` so it can always be
    passed as ``n`` to the Fisher tests (which need n > 3). Needs at least 4 values each.
    """
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    b = np.asarray(y, dtype=np.float64).reshape(-1)
    if a.size != b.size:
        raise ValueError(f"effective_sample_size: x has {a.size} values but y has {b.size}")
    n = a.size
    if n < 4:
        raise ValueError(f"effective_sample_size: needs at least 4 values, got {n}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("effective_sample_size: x and y must be finite (no NaN/inf)")
    k_max = n // 5 if max_lag is None else int(max_lag)
    if not 0 <= k_max < n:
        raise ValueError(f"effective_sample_size: max_lag must be in [0, {n - 1}], got {max_lag}")

    def acf(v: np.ndarray) -> np.ndarray:
        d = v - v.mean()
        den = float(np.dot(d, d))
        if den == 0.0 or k_max == 0:
            return np.zeros(k_max)
        size = 1 << (2 * n - 1).bit_length()  # zero-padded: circular = linear correlation
        spectrum = np.fft.rfft(d, size)
        full = np.fft.irfft(spectrum * spectrum.conj(), size)[1 : k_max + 1]  # lags 1..K
        return full / den

    s = float(np.dot(acf(a), acf(b)))
    n_eff = n / max(1.0 + 2.0 * s, 1e-12)
    return float(min(max(n_eff, 3.0), float(n)))


def effective_sample_size_blocks(blocks: Iterable[tuple[object, object]]) -> float:
    """Effective n of a metric pooled over independent recordings (blocks).

    ``sum_b n_eff(x_b, y_b)`` with :func:`effective_sample_size` per block (its default lag
    window); a block of fewer than 4 values counts its own length (too short to estimate an
    autocorrelation). Recordings are taken as independent of each other, frames within one
    recording are not. Empty input -> ``ValueError``.
    """
    total, seen = 0.0, 0
    for x, y in blocks:
        a = np.asarray(x, dtype=np.float64).reshape(-1)
        b = np.asarray(y, dtype=np.float64).reshape(-1)
        seen += 1
        total += float(a.size) if a.size < 4 and a.size == b.size else effective_sample_size(a, b)
    if seen == 0:
        raise ValueError("effective_sample_size_blocks: no blocks")
    return total


def reproduced_vs_reported(
    reproduced: float,
    reported: float,
    *,
    metric: str,
    n: int,
    n_reported: int | None = None,
    alternative: Alternative = "two-sided",
    n_effective: float | None = None,
) -> TestResult:
    """Is a reproduced metric different from the paper's value?

    * ``ccc``/``pcc``: :func:`compare_correlations_independent` (Fisher r-to-z) with
      ``n`` frames for the reproduction and ``n_reported`` (default ``n``) for the paper.
    * ``accuracy``, ``uar``, ``recall``, ``precision``, ``f1``, ``fscore``, ``gap`` (values in
      [0, 1]): :func:`two_proportions_ztest` with ``successes = round(value * n)`` (Python's
      round, half to even).

    ``greater`` tests reproduced > reported. Frames are autocorrelated, so ``n`` = frames
    overstates significance; pass ``n_effective`` (e.g. from :func:`effective_sample_size`)
    to use it in place of ``n`` on both sides (and of ``n_reported`` unless that is given
    explicitly). Unknown metric -> ``ValueError`` listing the allowed ones.
    """
    _check_alternative(alternative)
    key = metric.lower()
    allowed = CORRELATION_METRICS + PROPORTION_METRICS
    if key not in allowed:
        raise ValueError(f"metric {metric!r} is not supported; use one of {list(allowed)}")
    n1 = n if n_effective is None else n_effective
    n2 = n_reported if n_reported is not None else n1
    if key in CORRELATION_METRICS:
        res = compare_correlations_independent(
            reproduced, n1, reported, n2, alternative=alternative
        )
        return TestResult(res.statistic, res.p_value, f"{res.method}[{key}]", alternative)
    for name, v in (("reproduced", reproduced), ("reported", reported)):
        if not math.isfinite(float(v)) or not 0.0 <= float(v) <= 1.0:
            raise ValueError(
                f"{name}={v!r}: metric {metric!r} must be a proportion in [0, 1] "
                "(convert percentages by dividing by 100)"
            )
    n1 = _check_n(n1, "n", 1)
    n2 = _check_n(n2, "n_reported", 1)
    res = two_proportions_ztest(
        round(float(reproduced) * n1), n1, round(float(reported) * n2), n2, alternative=alternative
    )
    return TestResult(res.statistic, res.p_value, f"{res.method}[{key}]", alternative)


def seeds_vs_reported(
    values: Iterable[float],
    reported: float,
    *,
    metric: str,
    alternative: Alternative = "two-sided",
) -> TestResult:
    """Do ``k`` seed replicates of one experiment centre on the paper's value?

    One-sample Student t-test with ``k - 1`` degrees of freedom of the replicates' values
    against ``reported``: ``t = (mean - reported) / (sd / sqrt(k))``, ``sd`` with ddof 1.
    Correlations (``ccc``, ``pcc``) are compared on the Fisher z scale (``atanh``), where
    sample correlations are close to normal; proportions on their own scale. The unit of
    evidence is the seed, so unlike :func:`reproduced_vs_reported` the test n is ``k``.
    Fewer than 2 values, or values without spread (a t-test needs one), -> ``ValueError``.
    """
    from scipy.stats import t as student_t

    _check_alternative(alternative)
    x = np.asarray(list(values), dtype=float)
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"seeds_vs_reported needs >= 2 finite values, got {x.tolist()}")
    ref = float(reported)
    if metric.lower() in CORRELATION_METRICS:
        x = np.array([fisher_z(_check_r(v, "value")) for v in x])
        ref = fisher_z(_check_r(ref, "reported"))
    sd = float(x.std(ddof=1))
    if sd == 0.0:
        raise ValueError("the seeds gave identical values: no spread to test against")
    stat = (float(x.mean()) - ref) / (sd / math.sqrt(x.size))
    df = x.size - 1
    if alternative == "greater":
        p = float(student_t.sf(stat, df))
    elif alternative == "less":
        p = float(student_t.cdf(stat, df))
    else:
        p = float(min(1.0, 2.0 * student_t.sf(abs(stat), df)))
    return TestResult(stat, p, f"one-sample t over {x.size} seeds[{metric.lower()}]", alternative)


def significance_mark(p_value: float, *, alpha: float = 0.05) -> str:
    """``"*"`` if ``p_value < alpha`` (Han et al.: "Only if the p-value was lower than .05"),
    else ``""``. NaN or a p outside [0, 1] -> ``ValueError``."""
    p = float(p_value)
    if not math.isfinite(p) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p_value must be in [0, 1], got {p_value!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return "*" if p < alpha else ""
