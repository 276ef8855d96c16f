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


def best_rho(v: float, alpha: float) -> float:
    """confseq's two-sided normal-mixture ρ that makes the boundary tightest at intrinsic time v."""
    la = math.log(1 / alpha)
    return v / (2 * la + math.log(1 + 2 * la))


def _log_incomplete_beta(a: Any, b: Any, x: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        base = betaln(a, b)
        return base if x >= 1 else np.log(betainc(a, b, x)) + base


def beta_binomial_log_mixture(
    s: Any,
    v: Any,
    v_opt: float,
    g: float,
    h: float,
    alpha_opt: float = 0.05,
    one_sided: bool = True,
) -> np.ndarray:
    """log of the beta-binomial mixture supermartingale at sum ``s`` and variance ``v``.

    Observations bounded in ``[−g, h]``; the same function, parameters and numbers as
    ``confseq.boundaries.beta_binomial_log_mixture`` (which does not build on Python 3.11).
    """
    rho = best_rho(v_opt, 2 * alpha_opt if one_sided else alpha_opt)
    r = max(rho - g * h, 1e-3 * g * h)
    x = h / (g + h) if one_sided else 1.0
    normalizer = _log_incomplete_beta(r / (g * (g + h)), r / (h * (g + h)), x)
    s = np.asarray(s, dtype=float)
    v = np.asarray(v, dtype=float)
    return (
        v / (g * h) * math.log(g + h)
        - ((v + h * s) / (h * (g + h))) * math.log(g)
        - ((v - g * s) / (g * (g + h))) * math.log(h)
        + _log_incomplete_beta((r + v - g * s) / (g * (g + h)), (r + v + h * s) / (h * (g + h)), x)
        - normalizer
    )


def log_e_above(k: Any, n: Any, p0: float, alpha: float, n_opt: float = N_OPT) -> np.ndarray:
    """log e-value against ``p ≤ p0`` after k events in n trials (reject when ≥ log 1/α)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    var = p0 * (1 - p0)
    out = beta_binomial_log_mixture(k - n * p0, var * n, var * n_opt, p0, 1 - p0, alpha, True)
    return np.where(n > 0, out, 0.0)


def log_e_below(k: Any, n: Any, p0: float, alpha: float, n_opt: float = N_OPT) -> np.ndarray:
    """log e-value against ``p ≥ p0`` after k events in n trials (reject when ≥ log 1/α)."""
    n_arr = np.asarray(n, dtype=float)
    return log_e_above(n_arr - np.asarray(k, dtype=float), n_arr, 1 - p0, alpha, n_opt)


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
    lo, hi = np.zeros_like(k), np.ones_like(k)
    for i, (ki, ni) in enumerate(zip(k, n, strict=True)):
        if not ni > 0:
            lo[i] = hi[i] = np.nan
            continue
        phat = ki / ni
        if ki > 0:
            lo[i] = _root(
                lambda p, ki=ki, ni=ni: log_e_above(ki, ni, p, alpha, n_opt) < bar, phat, 0
            )
        if ki < ni:
            hi[i] = _root(
                lambda p, ki=ki, ni=ni: log_e_below(ki, ni, p, alpha, n_opt) < bar, phat, 1
            )
    return lo, hi


def _root(kept: Any, inside: float, outside: float, steps: int = 60) -> float:
    """The edge between rates ``kept(p)`` true (near ``inside``) and false (towards ``outside``)."""
    a = min(max(inside, 1e-12), 1 - 1e-12)
    b = 1e-15 if outside == 0 else 1 - 1e-15
    if kept(b):
        return outside
    la, lb = math.log(a / (1 - a)), math.log(b / (1 - b))
    for _ in range(steps):
        mid = (la + lb) / 2
        if kept(1 / (1 + math.exp(-mid))):
            la = mid
        else:
            lb = mid
    return 1 / (1 + math.exp(-la))


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
