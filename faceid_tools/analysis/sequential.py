"""Anytime-valid tests and intervals for a Bernoulli rate and for a quantile.

Everything here stays valid when it is looked at after every call and a campaign stops on it
(Ville's inequality on a nonnegative supermartingale), unlike a fixed-sample interval, which is
valid only at a sample size chosen in advance.

* **One-sided tests.** For k events in n trials and a threshold p0, the *beta-binomial mixture*
  of the likelihood ratios ``∏ (q/p0)^x ((1−q)/(1−p0))^(1−x)`` over ``q > p0`` is a nonnegative
  supermartingale under every ``p ≤ p0`` (each ratio is), so ``P(sup_n M_n ≥ 1/α) ≤ α``: reaching
  ``1/α`` rejects ``p ≤ p0`` (:func:`log_e_above`); symmetrically over ``q < p0`` it rejects
  ``p ≥ p0`` (:func:`log_e_below`).  Closed form (Howard, Ramdas, McAuliffe & Sekhon 2021,
  "Time-uniform, nonparametric, nonasymptotic confidence sequences", Prop. 7 with g = p0,
  h = 1 − p0): :func:`beta_binomial_log_mixture` computes it exactly as the reference package
  ``confseq`` does (checked against its published values in ``tests/analysis/test_sequential.py``).
* **The prior.** Beta with mean p0 (concentrated around the threshold), truncated to the
  alternative side; its spread is set by ``n_opt``, the number of trials at which the boundary is
  tightest (confseq's ``v_opt = p0(1 − p0)·n_opt``, ``alpha_opt = α``).  The default
  :data:`N_OPT` = 1,000 was tuned on the emulator's profiles (``bench/bench_campaign.py``):
  effects that a few hundred to a few thousand calls can decide are the ones a campaign is for.
* **Two-sided rate interval** (:func:`rate_cs`): the rates that neither one-sided test rejects,
  each at α/2 — so an interval clear of p0 on one side is exactly the one-sided verdict at α/2.
* **Quantile interval** (:func:`quantile_cs_ranks`, Howard & Ramdas 2022, "Sequential estimation of
  quantiles"): the count of values ≤ ξ_q is Binomial(n, q), so the counts neither test rejects
  at p0 = q give ranks ``(l, u)`` with ``ξ_q ∈ [x_(l), x_(u)]`` at all n at once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import betainc, betaln

__all__ = [
    "N_OPT",
    "Boundaries",
    "best_rho",
    "beta_binomial_log_mixture",
    "boundaries",
    "calls_to_decide",
    "decide",
    "log_e_above",
    "log_e_below",
    "quantile_cs_ranks",
    "rate_cs",
]

#: Trials at which the mixture boundary is tightest (the prior's spread); see the module docstring.
N_OPT = 1_000
#: Largest n :func:`calls_to_decide` looks at; beyond it a verdict is out of reach.
MAX_N = 10_000_000


def best_rho(v: Any, alpha: float) -> Any:
    """confseq's two-sided normal-mixture ρ that makes the boundary tightest at intrinsic time v."""
    la = math.log(1 / alpha)
    return v / (2 * la + math.log(1 + 2 * la))


def _log_incomplete_beta(a: Any, b: Any, x: Any) -> np.ndarray:
    with np.errstate(divide="ignore"):
        base = betaln(a, b)
        return np.where(np.asarray(x) >= 1, base, np.log(betainc(a, b, np.minimum(x, 1))) + base)


def beta_binomial_log_mixture(
    s: Any,
    v: Any,
    v_opt: Any,
    g: Any,
    h: Any,
    alpha_opt: float = 0.05,
    one_sided: bool = True,
) -> np.ndarray:
    """log of the beta-binomial mixture supermartingale at sum ``s`` and variance ``v``.

    Observations bounded in ``[−g, h]``; the same function, parameters and numbers as
    ``confseq.boundaries.beta_binomial_log_mixture`` (which does not build on Python 3.11).
    Every argument may be an array (broadcast).
    """
    g = np.asarray(g, dtype=float)
    h = np.asarray(h, dtype=float)
    rho = best_rho(np.asarray(v_opt, dtype=float), 2 * alpha_opt if one_sided else alpha_opt)
    r = np.maximum(rho - g * h, 1e-3 * g * h)
    x = h / (g + h) if one_sided else np.ones_like(g)
    normalizer = _log_incomplete_beta(r / (g * (g + h)), r / (h * (g + h)), x)
    s = np.asarray(s, dtype=float)
    v = np.asarray(v, dtype=float)
    return (
        v / (g * h) * np.log(g + h)
        - ((v + h * s) / (h * (g + h))) * np.log(g)
        - ((v - g * s) / (g * (g + h))) * np.log(h)
        + _log_incomplete_beta((r + v - g * s) / (g * (g + h)), (r + v + h * s) / (h * (g + h)), x)
        - normalizer
    )


def log_e_above(k: Any, n: Any, p0: Any, alpha: float, n_opt: float = N_OPT) -> np.ndarray:
    """log e-value against ``p ≤ p0`` after k events in n trials (reject when ≥ log 1/α)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    p0 = np.asarray(p0, dtype=float)
    var = p0 * (1 - p0)
    out = beta_binomial_log_mixture(k - n * p0, var * n, var * n_opt, p0, 1 - p0, alpha, True)
    return np.where(n > 0, out, 0.0)


def log_e_below(k: Any, n: Any, p0: Any, alpha: float, n_opt: float = N_OPT) -> np.ndarray:
    """log e-value against ``p ≥ p0`` after k events in n trials (reject when ≥ log 1/α)."""
    n_arr = np.asarray(n, dtype=float)
    return log_e_above(
        n_arr - np.asarray(k, dtype=float), n_arr, 1 - np.asarray(p0, float), alpha, n_opt
    )


def decide(k: Any, n: Any, p0: float, alpha: float, n_opt: float = N_OPT) -> np.ndarray:
    """−1 where ``p < p0`` is established at level α, +1 where ``p > p0`` is, 0 while open."""
    bar = math.log(1 / alpha)
    above = log_e_above(k, n, p0, alpha, n_opt) >= bar
    below = log_e_below(k, n, p0, alpha, n_opt) >= bar
    return np.where(above, 1, np.where(below, -1, 0)).astype("int8")


class Boundaries:
    """Per n = 0..n_max the event counts that decide: ``k ≤ below[n]`` establishes ``p < p0``,
    ``k ≥ above[n]`` establishes ``p > p0`` (``below = −1`` / ``above = n + 1``: not yet)."""

    def __init__(self, below: np.ndarray, above: np.ndarray, p0: float, alpha: float):
        self.below, self.above, self.p0, self.alpha = below, above, p0, alpha

    def verdicts(self, k: np.ndarray, n: np.ndarray) -> np.ndarray:
        """:func:`decide` for counts whose n is within the table (vectorised lookup)."""
        return np.where(k >= self.above[n], 1, np.where(k <= self.below[n], -1, 0)).astype("int8")


def boundaries(n_max: int, p0: float, alpha: float, n_opt: float = N_OPT) -> Boundaries:
    """The decision boundaries of :func:`decide` for every n up to ``n_max`` (bisection on k)."""
    n = np.arange(n_max + 1, dtype=np.int64)
    bar = math.log(1 / alpha)
    # above: smallest k with log_e_above ≥ bar (monotone increasing in k); n + 1 if none
    lo, hi = np.zeros_like(n) - 1, n + 1  # invariant: lo fails, hi passes (hi = n+1 virtual)
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        ok = log_e_above(np.maximum(mid, 0), n, p0, alpha, n_opt) >= bar
        ok &= mid >= 0
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
    above = hi
    # below: largest k with log_e_below ≥ bar (monotone decreasing in k); −1 if none
    lo, hi = np.full_like(n, -1), n + 1  # invariant: lo passes (or −1), hi fails
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        ok = log_e_below(np.minimum(mid, n), n, p0, alpha, n_opt) >= bar
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    below = lo
    below[0], above[0] = -1, 1
    return Boundaries(below, above, p0, alpha)


def rate_cs(
    k: Any, n: Any, confidence: float = 0.95, n_opt: float = N_OPT
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided anytime-valid interval for a rate: ``(lo, hi)`` per ``(k, n)``; NaN where n = 0.

    The rates p that neither one-sided test at ``α/2`` rejects (bisection in log-odds).
    """
    alpha = (1 - confidence) / 2
    bar = math.log(1 / alpha)
    k = np.atleast_1d(np.asarray(k, dtype=float))
    n = np.atleast_1d(np.asarray(n, dtype=float))
    valid = n > 0
    phat = np.clip(np.where(valid, k / np.where(valid, n, 1), 0.5), 1e-12, 1 - 1e-12)
    lo = np.where(k > 0, _edge(k, n, phat, 1e-15, alpha, bar, n_opt, upper=False), 0.0)
    hi = np.where(k < n, _edge(k, n, phat, 1 - 1e-15, alpha, bar, n_opt, upper=True), 1.0)
    return np.where(valid, lo, np.nan), np.where(valid, hi, np.nan)


def _edge(
    k: np.ndarray,
    n: np.ndarray,
    inside: np.ndarray,
    outside: float,
    alpha: float,
    bar: float,
    n_opt: float,
    *,
    upper: bool,
    steps: int = 60,
) -> np.ndarray:
    """Per row, the edge between the rates kept (near ``inside``) and those the one-sided test
    rejects (towards ``outside``): vectorised bisection in log-odds, p0 varying by row."""

    test = log_e_below if upper else log_e_above

    def kept(p: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(test(k, np.maximum(n, 1), p, alpha, n_opt) < bar)

    a = np.log(inside / (1 - inside))
    b = np.full(len(k), math.log(outside / (1 - outside)))
    far = kept(np.full(len(k), outside))
    for _ in range(steps):
        mid = (a + b) / 2
        ok = kept(1 / (1 + np.exp(-mid)))
        a, b = np.where(ok, mid, a), np.where(ok, b, mid)
    return np.where(far, outside if outside > 0.5 else 0.0, 1 / (1 + np.exp(-a)))


def quantile_cs_ranks(
    ns: Any, q: float, confidence: float = 0.95, n_opt: float = N_OPT
) -> tuple[np.ndarray, np.ndarray]:
    """1-based ranks ``(l, u)`` with ``ξ_q ∈ [x_(l), x_(u)]`` at every n at once (0: no bound yet)."""
    n = np.atleast_1d(np.asarray(ns, dtype=np.int64))
    if n.size == 0:
        return n.copy(), n.copy()
    table = boundaries(int(n.max()), q, (1 - confidence) / 2, n_opt)
    lo = table.below[n] + 1  # smallest count of values ≤ ξ not rejected
    hi = table.above[n]  # largest count not rejected, plus one
    valid = n >= 1
    lo = np.where(valid & (lo >= 1) & (lo <= n), lo, 0)
    hi = np.where(valid & (hi >= 1) & (hi <= n), hi, 0)
    return lo, hi


def calls_to_decide(k: float, n: int, p0: float, alpha: float, n_opt: float = N_OPT) -> int | None:
    """Further trials expected to decide if the rate ``k/n`` holds: the smallest N ≥ n at which
    the same tests decide with ``k/n·N`` events, minus n (0 if decided; None if out of reach)."""
    if n <= 0:
        return None
    rate = k / n
    if rate == p0:
        return None

    def decided(size: int) -> bool:
        return bool(decide(rate * size, size, p0, alpha, n_opt) != 0)

    if decided(n):
        return 0
    top = max(n, 1)
    while not decided(top):
        top *= 2
        if top > MAX_N:
            return None
    bottom = max(top // 2, n)
    while top - bottom > 1:
        mid = (top + bottom) // 2
        if decided(mid):
            top = mid
        else:
            bottom = mid
    return max(top - n, 1)
