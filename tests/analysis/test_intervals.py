"""The interval arithmetic both paths share, checked against its definitions and against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from faceid_tools.analysis.intervals import (
    bonett_price_ranks,
    holm,
    mann_whitney_pvalue,
    median_difference_interval,
    newcombe_interval,
    quantile_ci_coverage,
    quantile_ci_ranks,
    quantile_ci_ranks_many,
    quantile_label,
    quantile_rank,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("n", "q", "rank"),
    [(100, 0.95, 95), (100, 0.07, 7), (10, 0.9, 9), (7, 0.5, 4), (1, 0.99, 1), (3, 0.01, 1)],
)
def test_quantile_rank_is_ceil_q_n_in_exact_arithmetic(n: int, q: float, rank: int) -> None:
    # 0.07 * 100 is 7.000000000000001 in floating point; the rank must still be 7.
    assert quantile_rank(n, q) == rank


def test_quantile_labels() -> None:
    assert [quantile_label(q) for q in (0.5, 0.9, 0.95, 0.99, 0.999)] == [
        "p50",
        "p90",
        "p95",
        "p99",
        "p99.9",
    ]
    with pytest.raises(ValueError):
        quantile_label(1.0)


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("n", [20, 59, 100, 299, 1000, 5000])
def test_order_statistic_interval_has_its_coverage_and_is_tight(n: int, q: float) -> None:
    lo, hi = quantile_ci_ranks(n, q, 0.95)
    below = stats.binom.cdf(lo - 1, n, q) if lo else 0.0  # P(x_(l) > ξ)
    above = 1 - stats.binom.cdf(hi - 1, n, q) if hi else 0.0  # P(x_(u) < ξ)
    if lo:
        assert below <= 0.025
        assert stats.binom.cdf(lo, n, q) > 0.025  # one rank higher would break the tail bound
    if hi:
        assert above <= 0.025
        assert 1 - stats.binom.cdf(hi - 2, n, q) > 0.025
    if lo and hi:
        assert quantile_ci_coverage(n, q, lo, hi) >= 0.95
        assert lo <= quantile_rank(n, q) <= hi


def test_bounds_that_need_more_data_are_reported_missing() -> None:
    # p99 of 100 values: no rank above the estimate leaves 2.5% in the upper tail.
    lo, hi = quantile_ci_ranks(100, 0.99)
    assert lo > 0
    assert hi == 0
    assert quantile_ci_ranks(3, 0.5) == (0, 0)  # 3 values cannot bound a median at 95%
    assert quantile_ci_ranks(0, 0.5) == (0, 0)


def test_vectorised_ranks_equal_the_scalar_ones() -> None:
    ns = np.arange(1, 400)
    lo, hi = quantile_ci_ranks_many(ns, 0.95, 0.9)
    for i, n in enumerate(ns):
        assert (lo[i], hi[i]) == quantile_ci_ranks(int(n), 0.95, 0.9)


@pytest.mark.parametrize("n", [1, 5, 37, 200, 2000])
def test_wilson_equals_scipy(n: int) -> None:
    ks = np.arange(0, n + 1, max(1, n // 17))
    lo, hi = wilson_interval(ks, n, 0.95)
    for k, a, b in zip(ks, lo, hi, strict=True):
        ci = stats.binomtest(int(k), n).proportion_ci(0.95, method="wilson")
        assert a == pytest.approx(ci.low, abs=1e-12)
        assert b == pytest.approx(ci.high, abs=1e-12)


def test_wilson_without_trials_is_missing() -> None:
    lo, hi = wilson_interval(0, 0)
    assert math.isnan(float(lo)) and math.isnan(float(hi))


def test_newcombe_matches_the_published_example() -> None:
    # Newcombe (1998), Stat Med 17:873, example (a): 56/70 vs 48/80 -> 0.0524 to 0.3339.
    diff, lo, hi = newcombe_interval(56, 70, 48, 80)
    assert float(diff) == pytest.approx(0.2)
    assert float(lo) == pytest.approx(0.0524, abs=1e-4)
    assert float(hi) == pytest.approx(0.3339, abs=1e-4)


def test_mann_whitney_pvalue_equals_scipy_with_ties() -> None:
    rng = np.random.default_rng(7)
    for n1, n2 in [(5, 9), (40, 33), (300, 500)]:
        x = np.round(rng.lognormal(5, 0.5, n1), -1)  # rounded: many ties
        y = np.round(rng.lognormal(5.1, 0.5, n2), -1)
        pooled = np.concatenate([x, y])
        ranks = stats.rankdata(pooled)
        u1 = ranks[:n1].sum() - n1 * (n1 + 1) / 2
        _, t = np.unique(pooled, return_counts=True)
        ours = mann_whitney_pvalue(u1, n1, n2, float((t**3 - t).sum()))
        ref = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
        assert u1 == ref.statistic
        assert float(ours) == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-300)


def test_holm_step_down() -> None:
    adjusted = holm([0.01, 0.04, 0.03, np.nan])
    assert adjusted[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(adjusted[3])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]).size == 0


def test_bonett_price_interval() -> None:
    c, d, z = bonett_price_ranks(100)
    assert (c, d) == (40, 61)  # round(50.5 - 10) = round(40.5) = 40 (half to even); 100 - 40 + 1
    coverage = 1 - 2 * stats.binom.cdf(c - 1, 100, 0.5)
    assert z == pytest.approx(stats.norm.ppf(0.5 + coverage / 2))
    # Two groups of identical order statistics: the difference is 0 ± z·√2·se.
    diff, lo, hi = median_difference_interval(10, 8, 12, z, 10, 8, 12, z)
    se = (12 - 8) / (2 * z)
    assert float(diff) == 0
    assert float(hi) == pytest.approx(stats.norm.ppf(0.975) * math.sqrt(2) * se)
    assert float(lo) == pytest.approx(-float(hi))
    assert bonett_price_ranks(1)[:2] == (0, 0)
