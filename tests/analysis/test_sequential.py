"""Anytime-valid tests and intervals: published boundary values, consistency, validity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from faceid_tools.analysis import sequential as sq


# confseq's own unit tests (test/uniform_boundaries_unittest.cpp, values from its R reference):
# BetaBinomialMixture(v_opt=100, alpha_opt=0.05, g=0.2, h=0.8, one_sided).log_superMG(10, 100)
# and .bound(100, log(1/0.05)).
@pytest.mark.parametrize(
    ("one_sided", "log_mg", "bound"),
    [(True, -0.07134019, 28.41238), (False, -0.6941012, 31.4308)],
)
def test_beta_binomial_mixture_matches_confseq(one_sided: bool, log_mg: float, bound: float):
    got = float(sq.beta_binomial_log_mixture(10, 100, 100, 0.2, 0.8, 0.05, one_sided))
    assert got == pytest.approx(log_mg, abs=1e-5)

    def gap(s: float) -> float:
        return float(
            sq.beta_binomial_log_mixture(s, 100, 100, 0.2, 0.8, 0.05, one_sided)
        ) - math.log(20)

    assert brentq(gap, 0, 100 / 0.2 - 1e-9) == pytest.approx(bound, abs=1e-5)


def test_boundaries_match_direct_decisions():
    table = sq.boundaries(3000, 0.01, 0.025)
    rng = np.random.default_rng(1)
    n = rng.integers(1, 3001, 400)
    k = rng.binomial(n, rng.uniform(0, 0.05, 400))
    assert np.array_equal(table.verdicts(k, n), sq.decide(k, n, 0.01, 0.025))
    assert (table.below < table.above).all()


def test_interval_and_verdict_agree():
    k = np.array([0, 3, 10, 17, 30, 60])
    n = np.array([600, 900, 1000, 1000, 2000, 3000])
    lo, hi = sq.rate_cs(k, n, 0.95)
    side = sq.decide(k, n, 0.01, 0.025)
    assert np.array_equal(side == -1, hi <= 0.01)
    assert np.array_equal(side == 1, lo > 0.01)
    assert ((lo <= k / n) & (k / n <= hi)).all()


def test_quantile_ranks_agree_with_slow_share_test():
    n = np.arange(1, 5001)
    lo, hi = sq.quantile_cs_ranks(n, 0.95)
    slow = sq.boundaries(5000, 0.05, 0.025)
    # pass (share slower than x ≤ 5% established) ⇔ x_(u) ≤ x ⇔ n − slow ≥ u
    has_u = hi > 0
    assert np.array_equal(n[has_u] - slow.below[n[has_u]], hi[has_u])
    assert (lo[hi > 0] < hi[hi > 0]).all()


def test_crossing_rate_under_null_is_at_most_alpha():
    """Monitored after every trial up to 5,000, a true rate on the threshold rejects ≤ α."""
    alpha, p0, runs, n_max = 0.025, 0.05, 2000, 5000
    table = sq.boundaries(n_max, p0, alpha)
    rng = np.random.default_rng(7)
    k = np.cumsum(rng.random((runs, n_max)) < p0, axis=1)
    n = np.arange(1, n_max + 1)
    crossed = (k >= table.above[n]).any(axis=1)
    assert crossed.mean() <= alpha


def test_calls_to_decide():
    assert sq.calls_to_decide(17, 1000, 0.01, 0.025) == pytest.approx(1316, abs=2)
    assert sq.calls_to_decide(10, 1000, 0.01, 0.025) is None
    assert sq.calls_to_decide(0, 5000, 0.01, 0.025) == 0
