"""Pairwise comparisons between regions or levels: a test, an effect size with its interval, Holm.

Latency: the Mann–Whitney U test (``scipy.stats.mannwhitneyu``, asymptotic with tie and continuity
corrections) with the difference of medians as the effect size (Bonett–Price interval).  Error
rates: Fisher's exact test (``scipy.stats.fisher_exact``) with the risk difference as the effect
size (Newcombe's interval).  Holm's correction runs over every pair one call reports (or within
each ``within`` group): the *family*.  The effect-size intervals are **simultaneous** over the
same family (Bonferroni: each of the m pairs' at ``1 − (1 − confidence)/m``), so they all hold
together at ``confidence`` and an interval clear of zero is a family-wise test at
``alpha = 1 − confidence``.  ``significant`` asks for both: a Holm-adjusted p-value below
``alpha`` and a simultaneous interval that excludes zero.  A Holm-significant pair whose interval
still includes zero is not significant; an interval clear of zero whose test is not
significant is widened to reach zero (``widened``), so a figure never shows a non-significant
pair clear of zero.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ._data import (
    GRS,
    Attempts,
    Per,
    Selection,
    Source,
    check_keys,
    finish_keys,
    merge_null_safe,
    resolve,
    sort_values_of,
)
from .error_rates import failures, outcome_counts, selection
from .intervals import (
    bonett_price_ranks_many,
    holm,
    mann_whitney_pvalue,
    median_difference_interval,
    newcombe_interval,
    quantile_ranks_many,
)

__all__ = ["compare_error_rates", "compare_latency"]


Within = str | Sequence[str] | None
Family = Literal["all", "within"]


def _check(between: str, within: Within, family: str) -> tuple[list[str], str]:
    if family not in ("all", "within"):
        raise InputError(f"family must be 'all' or 'within', got {family!r}")
    inner = [] if within is None else [within] if isinstance(within, str) else list(within)
    keys = check_keys((*inner, between))
    return list(keys[:-1]), keys[-1]


def _pairs(groups: pd.DataFrame, within: list[str], between: str) -> pd.DataFrame:
    """Every pair (a, b) of ``between`` values present in the same ``within`` group, in order."""
    rows = []
    frame = groups[[*within, between]].drop_duplicates()
    for k in [*within, between]:
        frame[k] = frame[k].astype(object).where(frame[k].notna(), None)
    if within:
        blocks = [
            (key if isinstance(key, tuple) else (key,), block)
            for key, block in frame.groupby(within, dropna=False, sort=False)
        ]
        blocks.sort(key=lambda kb: tuple(str(v) for v in kb[0]))
    else:
        blocks = [((), frame)]
    for key, block in blocks:
        values = sort_values_of(between, block[between])
        for a, b in itertools.combinations(values, 2):
            rows.append({**dict(zip(within, key, strict=True)), "a": a, "b": b})
    return pd.DataFrame(rows, columns=[*within, "a", "b"])


def _side(
    frame: pd.DataFrame,
    pairs: pd.DataFrame,
    within: list[str],
    between: str,
    side: str,
    columns: Sequence[str],
) -> pd.DataFrame:
    """Attach each pair's side-``side`` statistics (``columns`` → ``<col>_<side>``)."""
    renamed = frame[[*within, between, *columns]].rename(
        columns={between: side, **{c: f"{c}_{side}" for c in columns}}
    )
    renamed[side] = renamed[side].astype(object)
    return merge_null_safe(pairs, renamed, [*within, side])


def _family_sizes(pairs: pd.DataFrame, within: list[str], family: str) -> np.ndarray:
    """Each pair's family size m: every pair reported, or the pairs of its ``within`` group."""
    if family == "within" and within and len(pairs):
        codes = pairs.groupby(within, dropna=False, sort=False, observed=True).ngroup()
        return codes.map(codes.value_counts()).to_numpy(dtype="int64")
    return np.full(len(pairs), max(len(pairs), 1), dtype="int64")


def _simultaneous(
    interval: Callable[[np.ndarray, float], tuple[Any, Any, Any]],
    sizes: np.ndarray,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``interval(rows, level)`` for each family size m at Bonferroni's ``1 − (1 − confidence)/m``."""
    diff, lo, hi = (np.full(len(sizes), np.nan) for _ in range(3))
    for m in np.unique(sizes):
        rows = np.flatnonzero(sizes == m)
        d, a, b = interval(rows, 1 - (1 - confidence) / int(m))
        diff[rows], lo[rows], hi[rows] = d, a, b
    return diff, lo, hi


def _alpha(alpha: float | None, confidence: float) -> float:
    level = 1 - confidence if alpha is None else alpha
    if not 0 < level < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {level!r}")
    return level


def _finish(out: pd.DataFrame, within: list[str], alpha: float, family: str) -> pd.DataFrame:
    p = out["p_value"].to_numpy(dtype=float)
    if family == "within" and within and len(out):
        adjusted = np.full(len(out), np.nan)
        codes = out.groupby(within, dropna=False, sort=False, observed=True).ngroup()
        for code in np.unique(codes.to_numpy()):
            rows = np.flatnonzero(codes.to_numpy() == code)
            adjusted[rows] = holm(p[rows])
        out["p_holm"] = adjusted
    else:
        out["p_holm"] = holm(p)
    # A difference is reported only when the test and the effect size agree: the adjusted
    # p-value is below alpha *and* the simultaneous interval leaves out zero.  An interval clear
    # of zero whose test does not reject is widened to reach zero (a wider interval covers at
    # least as often), so a figure never shows a non-significant pair clear of zero.
    excludes_zero = (out["diff_lo"] > 0) | (out["diff_hi"] < 0)
    out["significant"] = ((out["p_holm"] < alpha) & excludes_zero).astype(bool)
    widen = excludes_zero & ~out["significant"]
    out["widened"] = widen.astype(bool)
    out.loc[widen & (out["diff_lo"] > 0), "diff_lo"] = 0.0
    out.loc[widen & (out["diff_hi"] < 0), "diff_hi"] = 0.0
    return out.reset_index(drop=True)


class _MedianRanks:
    """Ranks of the median and of Bonett–Price's order statistics, vectorised over sizes."""

    def __init__(self) -> None:
        self._cache: dict[int, dict[str, int]] = {}

    def prime(self, ns: Sequence[int] | np.ndarray) -> None:
        todo = np.array(sorted({int(n) for n in ns} - set(self._cache)), dtype="int64")
        if todo.size:
            med = quantile_ranks_many(todo, 0.5)
            lo, hi, _ = bonett_price_ranks_many(todo)
            for i, n in enumerate(todo.tolist()):
                self._cache[n] = {"median": int(med[i]), "bp_lo": int(lo[i]), "bp_hi": int(hi[i])}

    def __call__(self, n: int) -> Mapping[str, int]:
        if n not in self._cache:
            self.prime([n])
        return self._cache[n]


def compare_latency(
    data: Any,
    between: str = "region",
    *,
    within: Within = None,
    attempts: Attempts = "all",
    action: str | None = GRS,
    column: str = "latency_ms",
    confidence: float = 0.95,
    alpha: float | None = None,
    family: Family = "all",
) -> pd.DataFrame:
    """Pairwise latency comparison of the ``between`` groups (within each ``within`` group).

    One row per pair: the ``within`` keys, ``a``, ``b``, ``n_a``, ``n_b``, ``median_a``,
    ``median_b``, ``diff`` (``median_a − median_b``, ms) with its simultaneous interval
    ``diff_lo``/``diff_hi``, ``u_statistic`` (U of a), ``p_value`` (Mann–Whitney), ``p_holm``,
    ``significant`` (``p_holm < alpha`` and the interval excludes 0) and ``widened`` (the
    interval was stretched to 0 because the test does not reject).  Successful calls only.
    Holm's correction and the simultaneous intervals run over every pair reported
    (``family="all"``) or separately within each ``within`` group (``"within"``); ``alpha``
    defaults to ``1 − confidence``.
    """
    within_keys, between_key = _check(between, within, family)
    keys = [*within_keys, between_key]
    src = resolve(data)
    sel = Selection(action=action, outcome="ok", first_attempt=attempts == "first")

    ranks = _MedianRanks()
    med = src.order_statistics(sel, keys, column, ranks)
    for rank in ("median", "bp_lo", "bp_hi"):  # absent when no group has a value (no success)
        if rank not in med.columns:
            med[rank] = np.nan
    med["z"] = bonett_price_ranks_many(med["n"].to_numpy(dtype="int64"))[2]
    pairs = _pairs(med, within_keys, between_key)
    cols = ["n", "median", "bp_lo", "bp_hi", "z"]
    out = _side(med, pairs, within_keys, between_key, "a", cols)
    out = _side(med, out, within_keys, between_key, "b", cols)
    cols_ab = [f"{c}_{side}" for side in "ab" for c in ("median", "bp_lo", "bp_hi", "z")]
    x = [out[c].to_numpy(dtype=float) for c in cols_ab]
    diff, lo, hi = _simultaneous(
        lambda r, level: median_difference_interval(
            x[0][r], x[1][r], x[2][r], x[3][r], x[4][r], x[5][r], x[6][r], x[7][r], level
        ),
        _family_sizes(out, within_keys, family),
        confidence,
    )
    out["diff"], out["diff_lo"], out["diff_hi"] = diff, lo, hi
    tests = _mann_whitney(src, sel, within_keys, between_key, column, pairs)
    out = merge_null_safe(out, tests, [*within_keys, "a", "b"])
    out = out[
        [
            *within_keys,
            "a",
            "b",
            "n_a",
            "n_b",
            "median_a",
            "median_b",
            "diff",
            "diff_lo",
            "diff_hi",
            "u_statistic",
            "p_value",
        ]
    ]
    out = finish_keys(out, within_keys).astype({"n_a": "int64", "n_b": "int64"})
    out = _finish(out, within_keys, _alpha(alpha, confidence), family)
    out.attrs.update(
        analysis="compare_latency",
        between=between_key,
        within=within_keys,
        family=family,
        unit="ms",
        confidence=confidence,
        alpha=_alpha(alpha, confidence),
        intervals="simultaneous",
    )
    return out


def _mann_whitney(
    src: Source,
    sel: Selection,
    within: list[str],
    between: str,
    column: str,
    pairs: pd.DataFrame,
) -> pd.DataFrame:
    """U and p per pair, from the engine's rank sums.

    Every engine feeds the same (U, n1, n2, tie term) to :func:`mann_whitney_pvalue`, which the
    tests hold equal to ``scipy.stats.mannwhitneyu(method="asymptotic")``; calling that per
    pair costs milliseconds of argument checking each, too much for hundreds of pairs.
    """
    keys = [*within, between]
    sel = Selection(**{**sel.__dict__, "not_null": (*sel.not_null, column)})
    if pairs.empty:
        return pd.DataFrame(columns=[*within, "a", "b", "u_statistic", "p_value"])
    members = []
    for i, rec in enumerate(pairs.to_dict("records")):
        for side in ("a", "b"):
            members.append(
                {
                    **{k: rec[k] for k in within},
                    between: rec[side],
                    "_pair": i,
                    "_is_a": side == "a",
                }
            )
    res = src.rank_sums(sel, keys, column, pd.DataFrame(members)).to_dict("index")
    rows = []
    for i, rec in enumerate(pairs.to_dict("records")):
        r = res[i]
        u1 = float(r["u_statistic"])
        p = float(mann_whitney_pvalue(u1, float(r["n_a"]), float(r["n_b"]), float(r["tie_term"])))
        rows.append({**rec, "u_statistic": u1, "p_value": p})
    return pd.DataFrame(rows)


def compare_error_rates(
    data: Any,
    between: str = "region",
    *,
    within: Within = None,
    per: Per = "attempt",
    attempts: Attempts = "all",
    action: str | None = GRS,
    confidence: float = 0.95,
    alpha: float | None = None,
    family: Family = "all",
) -> pd.DataFrame:
    """Pairwise error-rate comparison of the ``between`` groups (within each ``within`` group).

    One row per pair: the ``within`` keys, ``a``, ``b``, ``n_a``, ``errors_a``, ``rate_a`` (and
    for b), ``diff`` (``rate_a − rate_b``) with Newcombe's simultaneous ``diff_lo``/``diff_hi``,
    ``p_value`` (Fisher's exact test), ``p_holm``, ``significant`` and ``widened``.  ``family`` as for
    :func:`compare_latency`.
    """
    within_keys, between_key = _check(between, within, family)
    keys = [*within_keys, between_key]
    src = resolve(data)
    raw = outcome_counts(src, keys, selection(per, action, attempts))
    raw = raw.assign(_err=failures(raw["outcome"], raw["count"]))
    totals = (
        raw.groupby(keys, dropna=False, sort=False, observed=True)
        .agg(n=("count", "sum"), errors=("_err", "sum"))
        .reset_index()
    )
    for k in keys:
        totals[k] = totals[k].astype(object)
    pairs = _pairs(totals, within_keys, between_key)
    out = _side(totals, pairs, within_keys, between_key, "a", ["n", "errors"])
    out = _side(totals, out, within_keys, between_key, "b", ["n", "errors"])
    for c in ("n_a", "errors_a", "n_b", "errors_b"):
        out[c] = out[c].astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate_a"] = out["errors_a"] / out["n_a"]
        out["rate_b"] = out["errors_b"] / out["n_b"]
    cnt = [out[c].to_numpy(dtype=float) for c in ("errors_a", "n_a", "errors_b", "n_b")]
    diff, lo, hi = _simultaneous(
        lambda r, level: newcombe_interval(cnt[0][r], cnt[1][r], cnt[2][r], cnt[3][r], level),
        _family_sizes(out, within_keys, family),
        confidence,
    )
    out["diff"], out["diff_lo"], out["diff_hi"] = diff, lo, hi
    out["p_value"] = [
        float(stats.fisher_exact([[ea, na - ea], [eb, nb - eb]]).pvalue)
        for ea, na, eb, nb in zip(
            out["errors_a"], out["n_a"], out["errors_b"], out["n_b"], strict=True
        )
    ]
    out = out[
        [
            *within_keys,
            "a",
            "b",
            "n_a",
            "errors_a",
            "rate_a",
            "n_b",
            "errors_b",
            "rate_b",
            "diff",
            "diff_lo",
            "diff_hi",
            "p_value",
        ]
    ]
    out = _finish(finish_keys(out, within_keys), within_keys, _alpha(alpha, confidence), family)
    out.attrs.update(
        analysis="compare_error_rates",
        between=between_key,
        within=within_keys,
        family=family,
        per=per,
        confidence=confidence,
        alpha=_alpha(alpha, confidence),
        intervals="simultaneous",
    )
    return out
