"""Interval and test arithmetic shared by the pandas and the DuckDB paths.

Everything here works on counts or on order statistics, never on raw rows, so both paths feed it the
same numbers and get the same answers.

* Quantiles: the estimate of the q-quantile of n values is the order statistic ``x_(k)`` with
  ``k = max(1, ceil(q·n))`` (inverted CDF, SQL's ``quantile_disc``).  Its confidence interval is
  ``[x_(l), x_(u)]`` with ``l = F⁻¹(α/2)`` and ``u = F⁻¹(1 − α/2) + 1`` for F the Binomial(n, q) CDF:
  distribution-free, each tail at most α/2 (Hahn & Meeker, *Statistical Intervals*, §5.2).  A bound
  that needs a rank outside 1..n does not exist for that n: it is reported as NaN.
* Proportions: Wilson score intervals; differences of proportions: Newcombe's hybrid score interval
  (Newcombe 1998, method 10) built from the two Wilson intervals.
* Difference of medians: Bonett & Price (2002), whose variance of each median comes from an exact
  order-statistic interval, so it needs only a few order statistics per group.
* Mann–Whitney U: the two-sided asymptotic p-value with tie and continuity corrections, exactly as
  ``scipy.stats.mannwhitneyu(method="asymptotic")`` computes it, from (U, n1, n2, tie term) — the form
  in which the DuckDB path returns the test.
* Holm's step-down adjustment of a family of p-values.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from scipy.stats import binom, norm

from ..errors import InputError

__all__ = [
    "bonett_price_ranks",
    "bonett_price_ranks_many",
    "holm",
    "mann_whitney_pvalue",
    "median_difference_interval",
    "newcombe_at",
    "newcombe_interval",
    "quantile_ci_coverage",
    "quantile_ci_ranks",
    "quantile_ci_ranks_many",
    "quantile_label",
    "quantile_rank",
    "quantile_ranks_many",
    "wilson_at",
    "wilson_interval",
    "z_value",
]


def z_value(confidence: float) -> float:
    """The two-sided standard-normal critical value for ``confidence`` (1.959… for 0.95)."""
    _check_confidence(confidence)
    return float(norm.ppf(0.5 + confidence / 2))


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}")


def _check_q(q: float) -> Fraction:
    if not 0 < q < 1:
        raise InputError(f"quantile must be in (0, 1), got {q!r}")
    # repr() gives the shortest decimal that round-trips, so 0.95 is exactly 95/100 here.
    return Fraction(repr(float(q)))


def quantile_label(q: float) -> str:
    """Column name of a quantile: 0.5 → ``p50``, 0.95 → ``p95``, 0.999 → ``p99.9``."""
    _check_q(q)
    return f"p{float(q) * 100:.10g}"


def quantile_rank(n: int, q: float) -> int:
    """1-based rank of the q-quantile estimate among n sorted values: ``max(1, ceil(q·n))``."""
    return int(quantile_ranks_many(np.array([n]), q)[0])


def quantile_ranks_many(ns: np.ndarray, q: float) -> np.ndarray:
    """:func:`quantile_rank` for an array of sizes (0 where n < 1)."""
    frac = _check_q(q)
    n = np.asarray(ns, dtype=object)
    num, den = frac.numerator, frac.denominator
    ranks = np.array([max(1, -((-num * int(k)) // den)) if k >= 1 else 0 for k in n], dtype="int64")
    return ranks.reshape(np.shape(ns))


def quantile_ci_ranks(n: int, q: float, confidence: float = 0.95) -> tuple[int, int]:
    """1-based ranks ``(l, u)`` of the order-statistic interval for the q-quantile.

    ``P(x_(l) ≤ ξ_q ≤ x_(u)) ≥ confidence`` for any continuous distribution.  A rank of 0 means
    that bound does not exist for this n (too few values); the caller reports it as NaN.
    """
    lo, hi = quantile_ci_ranks_many(np.array([n]), q, confidence)
    return int(lo[0]), int(hi[0])


def quantile_ci_ranks_many(
    ns: np.ndarray, q: float, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`quantile_ci_ranks` for an array of sizes, in one vectorised binomial call each."""
    _check_q(q)
    _check_confidence(confidence)
    n = np.asarray(ns, dtype="int64")
    alpha = 1 - confidence
    safe = np.maximum(n, 1)
    lo = binom.ppf(alpha / 2, safe, q).astype("int64")
    hi = binom.ppf(1 - alpha / 2, safe, q).astype("int64") + 1
    valid = n >= 1
    lo = np.where(valid & (lo >= 1) & (lo <= n), lo, 0)
    hi = np.where(valid & (hi >= 1) & (hi <= n), hi, 0)
    return lo, hi


def quantile_ci_coverage(n: int, q: float, lo: int, hi: int) -> float:
    """Exact coverage ``B(u−1) − B(l−1)`` of ``[x_(l), x_(u)]`` for the q-quantile of n values."""
    return float(binom.cdf(hi - 1, n, q) - binom.cdf(lo - 1, n, q))


def bonett_price_ranks(n: int) -> tuple[int, int, float]:
    """Ranks ``(c, n−c+1)`` and the normal value ``z`` of Bonett & Price's median variance.

    ``c = round((n+1)/2 − √n)`` (at least 1); ``[x_(c), x_(n−c+1)]`` covers the median with exact
    probability ``1 − 2·B(c−1; n, ½)``, and ``z`` is the normal quantile with that coverage, so
    ``var(median) ≈ ((x_(n−c+1) − x_(c)) / (2z))²``.  Returns ``(0, 0, nan)`` below n = 2.
    """
    lo, hi, z = bonett_price_ranks_many(np.array([n]))
    return int(lo[0]), int(hi[0]), float(z[0])


def bonett_price_ranks_many(ns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`bonett_price_ranks` for an array of sizes."""
    n = np.asarray(ns, dtype="int64")
    valid = n >= 2
    c = np.maximum(1, np.round((n + 1) / 2 - np.sqrt(np.maximum(n, 0)))).astype("int64")
    tail = binom.cdf(c - 1, np.maximum(n, 1), 0.5)
    with np.errstate(divide="ignore"):
        z = np.where(tail > 0, norm.isf(np.where(tail > 0, tail, 0.5)), np.inf)
    return (
        np.where(valid, c, 0),
        np.where(valid, n - c + 1, 0),
        np.where(valid, z, np.nan),
    )


def median_difference_interval(
    median_a: Any,
    lo_a: Any,
    hi_a: Any,
    z_a: Any,
    median_b: Any,
    lo_b: Any,
    hi_b: Any,
    z_b: Any,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bonett–Price interval for ``median_a − median_b`` (arrays broadcast).

    ``lo_*``/``hi_*`` are the order statistics at :func:`bonett_price_ranks` and ``z_*`` their normal
    values.  Returns ``(difference, lower, upper)``; NaN where a group has fewer than 2 values.
    """
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        var_a = ((np.asarray(hi_a, float) - np.asarray(lo_a, float)) / (2 * np.asarray(z_a))) ** 2
        var_b = ((np.asarray(hi_b, float) - np.asarray(lo_b, float)) / (2 * np.asarray(z_b))) ** 2
        diff = np.asarray(median_a, float) - np.asarray(median_b, float)
        half = z * np.sqrt(var_a + var_b)
    return diff, diff - half, diff + half


def wilson_interval(k: Any, n: Any, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes in n trials (arrays broadcast; NaN where n = 0).

    Equal to ``scipy.stats.binomtest(k, n).proportion_ci(confidence, method="wilson")``,
    vectorised for thousands of groups.  The package's one Wilson interval: every rate shown
    (pages, CLI, baseline tests) comes from here or from :func:`wilson_at`.
    """
    return wilson_at(k, n, z_value(confidence))


def wilson_at(k: Any, n: Any, z: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`wilson_interval` at the normal value ``z`` (an array broadcasts with k and n)."""
    z = np.asarray(z, dtype=float)
    k_arr = np.asarray(k, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k_arr / n_arr
        denom = 1 + z * z / n_arr
        centre = (p + z * z / (2 * n_arr)) / denom
        half = z * np.sqrt(p * (1 - p) / n_arr + z * z / (4 * n_arr * n_arr)) / denom
        lo = np.where(k_arr == 0, 0.0, centre - half)
        hi = np.where(k_arr == n_arr, 1.0, centre + half)
    bad = n_arr <= 0
    return np.where(bad, np.nan, np.clip(lo, 0, 1)), np.where(bad, np.nan, np.clip(hi, 0, 1))


def newcombe_interval(
    k1: Any, n1: Any, k2: Any, n2: Any, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for ``p1 − p2`` (method 10).  Returns ``(diff, lo, hi)``."""
    return newcombe_at(k1, n1, k2, n2, z_value(confidence))


def newcombe_at(
    k1: Any, n1: Any, k2: Any, n2: Any, z: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`newcombe_interval` at the normal value ``z`` (an array broadcasts with the counts)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.asarray(k1, float) / np.asarray(n1, float)
        p2 = np.asarray(k2, float) / np.asarray(n2, float)
    l1, u1 = wilson_at(k1, n1, z)
    l2, u2 = wilson_at(k2, n2, z)
    diff = p1 - p2
    lo = diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return diff, lo, hi


def mann_whitney_pvalue(u1: Any, n1: Any, n2: Any, tie_term: Any) -> np.ndarray:
    """Two-sided asymptotic Mann–Whitney p-value from U of the first sample.

    ``tie_term`` is ``Σ (t³ − t)`` over groups of t tied values in the pooled sample.  Same normal
    approximation, tie correction and continuity correction as ``scipy.stats.mannwhitneyu(x, y,
    method="asymptotic")``, which needs the raw samples; the DuckDB path has only these sums.
    """
    u1 = np.asarray(u1, float)
    n1 = np.asarray(n1, float)
    n2 = np.asarray(n2, float)
    t = np.asarray(tie_term, float)
    n = n1 + n2
    u = np.maximum(u1, n1 * n2 - u1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(n1 * n2 / 12 * ((n + 1) - t / (n * (n - 1))))
        z = (u - n1 * n2 / 2 - 0.5) / s
    p = np.clip(2 * norm.sf(z), 0, 1)
    return np.where((n1 > 0) & (n2 > 0), p, np.nan)


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control); NaN stays NaN."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    vals = p[ok]
    m = vals.size
    if m == 0:
        return out
    order = np.argsort(vals, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * vals[order]))
    result = np.empty(m)
    result[order] = adjusted
    out[ok] = result
    return out
