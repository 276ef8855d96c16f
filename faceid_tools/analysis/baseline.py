"""Since the baseline: what got worse or better than in an earlier log, period or campaign.

:func:`compare_to_baseline` puts the current data next to a baseline, group by group, for five
metrics, each change with its interval, a Holm-corrected test and a verdict; :func:`window` cuts a
period and/or some campaigns out of one growing log, so that log can be its own baseline.  Both
are written over the public analysis functions only (``latency_summary``, ``error_rates``,
``integrity_rate``, ``duplicate_rate``) and :mod:`.intervals`, so they run on whatever engine
those run on, and only their aggregates reach pandas.  The section of the product review is
built by :mod:`.baseline_review`.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binom, norm

from ..errors import InputError
from ._data import (
    Per,
    Source,
    Window,
    check_keys,
    finish_keys,
    merge_null_safe,
    resolve,
    restrict,
    sort_values_of,
)
from .error_rates import error_rates
from .intervals import holm, newcombe_at, newcombe_interval, quantile_ci_ranks_many, z_value
from .latency import latency_summary
from .sequences import duplicate_rate, integrity_rate

log = logging.getLogger(__name__)

__all__ = [
    "CHANGE_VERDICTS",
    "HIGHER_IS_WORSE",
    "IMPROVED",
    "METRICS",
    "NO_CHANGE",
    "REGRESSED",
    "UNDECIDED",
    "compare_to_baseline",
    "newcombe_pvalue",
    "quantile_difference",
    "window",
]

REGRESSED, IMPROVED, NO_CHANGE, UNDECIDED = (
    "regressed",
    "improved",
    "no evidence of change",
    "not enough data",
)
#: The verdicts, most alarming first.
CHANGE_VERDICTS: tuple[str, ...] = (REGRESSED, IMPROVED, UNDECIDED, NO_CHANGE)
#: The metrics compared, and whether a higher value is worse.
HIGHER_IS_WORSE: dict[str, bool] = {
    "p50_latency_ms": True,
    "p95_latency_ms": True,
    "error_rate": True,
    "integrity_rate": False,
    "duplicate_rate": True,
}
METRICS: tuple[str, ...] = tuple(HIGHER_IS_WORSE)
_QUANTILES = {"p50_latency_ms": 0.5, "p95_latency_ms": 0.95}
_COLUMNS = [
    "metric",
    "baseline",
    "current",
    "change",
    "change_lo",
    "change_hi",
    "n_baseline",
    "n_current",
    "p_holm",
    "verdict",
]


def window(
    data: Any,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    *,
    campaign: str | Sequence[str] | None = None,
) -> Source:
    """The part of ``data`` started in ``[start, end)`` (UTC; naive means UTC; None = open) and/or
    made by the campaign(s) ``campaign`` (``campaign_id``), for any analysis function.

    A call belongs to the period its first attempt started in, retries and sequence download
    included.  On a Parquet dataset nothing is loaded: every query reads through the filter.
    ``compare_to_baseline(window(log, monday), window(log, last_monday, monday))`` compares this
    week with last week in one log.
    """
    lo, hi = _instant(start, "start"), _instant(end, "end")
    if lo is not None and hi is not None and not lo < hi:
        raise InputError(f"end must be after start, got start={lo.isoformat()}, end={hi}")
    campaigns: tuple[str, ...] | None = None
    if campaign is not None:
        campaigns = (campaign,) if isinstance(campaign, str) else tuple(campaign)
        if not campaigns or not all(isinstance(c, str) and c for c in campaigns):
            raise InputError(f"campaign must be a campaign_id or a list of them, got {campaign!r}")
    return restrict(data, Window(lo, hi, campaigns))


def _instant(value: datetime | str | None, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputError(f"{name}: not an ISO-8601 date/time: {value!r}") from None
    if t is pd.NaT:
        raise InputError(f"{name}: not an ISO-8601 date/time: {value!r}")
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def compare_to_baseline(
    data: Any,
    baseline: Any,
    *,
    by: str | Sequence[str] | None = ("region", "security_level"),
    confidence: float = 0.95,
    min_change: Mapping[str, float] | None = None,
    per: Per = "call",
) -> pd.DataFrame:
    """What changed between ``baseline`` and ``data``, per group and metric, with intervals.

    ``data`` and ``baseline`` are anything the analysis functions accept (a log, a Parquet dataset,
    a DataFrame, :func:`window` of one).  One row per group × metric: the group keys, ``metric``
    (``p50_latency_ms``, ``p95_latency_ms`` of successful attempts; ``error_rate`` per call — per
    attempt with ``per="attempt"``; ``integrity_rate`` and ``duplicate_rate`` of downloaded
    sequences), ``baseline``, ``current``, ``change`` (current − baseline, in the metric's unit)
    with ``change_lo``/``change_hi`` (``confidence``), ``n_baseline``/``n_current`` (the values
    behind each estimate), ``p_holm`` and ``verdict``.

    Method.  *Quantiles*: Price & Bonett's construction (Price & Bonett 2002, generalised from
    the median): each side's standard error is backed out of its distribution-free order-statistic
    interval ``[x_(l), x_(u)]`` (what :func:`latency_summary` reports) as ``(x_(u) − x_(l)) / 2z*``,
    where ``z*`` is the normal quantile of that interval's *exact* binomial coverage; the two are
    combined in quadrature, ``change ± z·√(se₀² + se₁²)``, and the p-value is the matching Wald
    test, so the interval excludes zero exactly when p < 1 − confidence.  It needs only each
    side's aggregates (no pooled ranks across two logs, which a bootstrap or Mann–Whitney would),
    assumes nothing about the distribution, and its coverage was checked against the emulator's
    lognormal truth over many seeds (``tests/analysis/test_baseline_truth.py``).  *Rates*:
    Newcombe's hybrid score interval (:func:`.intervals.newcombe_interval`) and the p-value that
    inverts it (:func:`newcombe_pvalue`: the largest level whose interval still holds zero), so
    test and interval always agree.  *Family*: Holm over every row of the table.

    *Verdict*: ``regressed``/``improved`` needs ``p_holm < 1 − confidence`` *and* an interval
    wholly beyond ``min_change[metric]`` (default 0, in the metric's unit) on the worse/better
    side; worse is higher for latency, error and duplicate rates, lower for integrity.  ``not
    enough data`` when either side cannot bound the metric (no calls in the group, or too few
    for an order-statistic bound of p95); otherwise ``no evidence of change``.
    """
    keys = list(check_keys(by))
    z = z_value(confidence)
    thresholds = _min_change(min_change)
    if per not in ("call", "attempt"):
        raise InputError(f"per must be 'call' or 'attempt', got {per!r}")
    same = data is baseline
    cur, base = resolve(data), resolve(baseline)
    same = same or cur is base
    now = _side(cur, keys, confidence, per)
    then = _side(base, keys, confidence, per)
    _check_sides(now, then, keys)
    if same or _identical(now, then, keys):
        warnings.warn(
            "baseline: the same data as the current one; every change is 0",
            UserWarning,
            stacklevel=2,
        )
    table = merge_null_safe(then, now, [*keys, "metric"], how="outer")
    table = _changes(table, z)
    table["p_holm"] = holm(table["p"].to_numpy(dtype=float))
    table["verdict"] = _verdicts(table, 1 - confidence, thresholds)
    table = finish_keys(table, keys)
    order = {m: i for i, m in enumerate(METRICS)}
    table = table.assign(_o=table["metric"].map(order))
    table = table.sort_values([*keys, "_o"], kind="stable").reset_index(drop=True)
    out = table[[*keys, *_COLUMNS]].copy()
    out["metric"] = out["metric"].astype("str")
    for c in ("n_baseline", "n_current"):
        out[c] = out[c].fillna(0).astype("int64")
    out["verdict"] = pd.Categorical(out["verdict"], categories=list(CHANGE_VERDICTS))
    out.attrs.update(
        analysis="compare_to_baseline",
        by=keys,
        per=per,
        confidence=confidence,
        min_change=dict(thresholds),
        units={m: ("ms" if m in _QUANTILES else "share") for m in METRICS},
    )
    return out


def _min_change(min_change: Mapping[str, float] | None) -> dict[str, float]:
    out = dict.fromkeys(METRICS, 0.0)
    for metric, value in (min_change or {}).items():
        if metric not in HIGHER_IS_WORSE:
            raise InputError(f"min_change: unknown metric {metric!r}; use {', '.join(METRICS)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise InputError(f"min_change[{metric!r}]: must be a number >= 0, got {value!r}")
        out[metric] = float(value)
    return out


def _side(src: Source, keys: list[str], confidence: float, per: Per) -> pd.DataFrame:
    """One side's estimates in long form: keys, metric, est, lo, hi (quantiles), k (rates), n."""
    parts = []
    lat = latency_summary(src, keys, quantiles=(0.5, 0.95), confidence=confidence)
    for metric, q in _QUANTILES.items():
        label = f"p{q * 100:g}"
        part = lat[[*keys, "n", label, f"{label}_lo", f"{label}_hi"]].rename(
            columns={label: "est", f"{label}_lo": "lo", f"{label}_hi": "hi"}
        )
        parts.append(part.assign(metric=metric, k=np.nan))
    rates = (
        ("error_rate", error_rates(src, keys, per=per, confidence=confidence), "errors"),
        ("integrity_rate", integrity_rate(src, keys, confidence=confidence), "verified"),
        ("duplicate_rate", duplicate_rate(src, keys, confidence=confidence), "repeats"),
    )
    for metric, frame, k in rates:
        part = frame[[*keys, "n", k, "rate"]].rename(columns={k: "k", "rate": "est"})
        parts.append(part.assign(metric=metric, lo=np.nan, hi=np.nan))
    out = pd.concat(parts, ignore_index=True)
    for key in keys:
        out[key] = out[key].astype(object)
    out = out[out["n"] > 0]
    return out[[*keys, "metric", "n", "est", "lo", "hi", "k"]].reset_index(drop=True)


def _check_sides(now: pd.DataFrame, then: pd.DataFrame, keys: list[str]) -> None:
    """Bad input: a side without any call, or groups that share no value of some key."""
    for name, frame in (("data", now), ("baseline", then)):
        if not (frame["metric"] == "error_rate").any():
            raise InputError(f"{name}: no GenerateReflectSequence calls to compare")
    for key in keys:
        a = set(sort_values_of(key, now[key], missing=True))
        b = set(sort_values_of(key, then[key], missing=True))
        if a and b and not a & b:
            raise InputError(
                f"by: no {key} in common between data ({_few(a)}) and baseline ({_few(b)}); "
                f"drop {key!r} from by or pick a baseline with the same {key} values"
            )


def _few(values: set[Any]) -> str:
    shown = sorted(map(str, values))
    return ", ".join(shown[:4]) + (f", … ({len(shown)} in all)" if len(shown) > 4 else "")


def _identical(now: pd.DataFrame, then: pd.DataFrame, keys: list[str]) -> bool:
    if len(now) != len(then):
        return False
    cols = [*keys, "metric"]
    a = now.sort_values(cols, key=lambda s: s.astype(str)).reset_index(drop=True)
    b = then.sort_values(cols, key=lambda s: s.astype(str)).reset_index(drop=True)
    if not (a[cols].astype(str) == b[cols].astype(str)).all().all():
        return False
    nums = ["n", "est", "lo", "hi", "k"]
    return bool(np.allclose(a[nums].to_numpy(float), b[nums].to_numpy(float), equal_nan=True))


def _changes(table: pd.DataFrame, z: float) -> pd.DataFrame:
    """Fill baseline/current/change/interval/p for every row (NaN where a side lacks data)."""
    t = table.rename(columns={"n_x": "n_baseline", "n_y": "n_current"})
    t["baseline"], t["current"] = t["est_x"], t["est_y"]
    for c in ("change", "change_lo", "change_hi", "p"):
        t[c] = np.nan
    for metric in METRICS:
        rows = (t["metric"] == metric).to_numpy()
        if not rows.any():
            continue
        r = t[rows]
        n0, n1 = r["n_baseline"].fillna(0).to_numpy(float), r["n_current"].fillna(0).to_numpy(float)
        if metric in _QUANTILES:
            diff, lo, hi, p = quantile_difference(
                (r["est_x"], r["lo_x"], r["hi_x"], n0),
                (r["est_y"], r["lo_y"], r["hi_y"], n1),
                _QUANTILES[metric],
                z,
            )
        else:
            k0, k1 = r["k_x"].fillna(0).to_numpy(float), r["k_y"].fillna(0).to_numpy(float)
            confidence = 1 - 2 * float(norm.sf(z))
            diff, lo, hi = newcombe_interval(k1, n1, k0, n0, confidence)
            p = newcombe_pvalue(k1, n1, k0, n0)
        bad = (n0 < 1) | (n1 < 1) | np.isnan(lo) | np.isnan(hi)
        t.loc[rows, "change"] = np.where(bad, np.nan, diff)
        t.loc[rows, "change_lo"] = np.where(bad, np.nan, lo)
        t.loc[rows, "change_hi"] = np.where(bad, np.nan, hi)
        t.loc[rows, "p"] = np.where(bad, np.nan, p)
    return t


def quantile_difference(
    baseline: tuple[Any, Any, Any, Any],
    current: tuple[Any, Any, Any, Any],
    q: float,
    z: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``current − baseline`` of a q-quantile, its interval ``± z·se`` and two-sided p-value.

    Each side is ``(estimate, lo, hi, n)`` with ``[lo, hi]`` the order-statistic interval at the
    confidence whose normal value is ``z`` (as :func:`latency_summary` reports it); its standard
    error is ``(hi − lo) / 2z*``, ``z*`` matching the interval's exact coverage (see
    :func:`compare_to_baseline`).  NaN where a side has no bound.
    """
    confidence = 1 - 2 * float(norm.sf(z))
    ses = []
    for _est, lo, hi, n in (baseline, current):
        ns = np.asarray(n, dtype="int64")
        r_lo, r_hi = quantile_ci_ranks_many(ns, q, confidence)
        coverage = binom.cdf(r_hi - 1, np.maximum(ns, 1), q) - binom.cdf(r_lo - 1, ns, q)
        z_exact = norm.ppf(0.5 + np.clip(coverage, 0, 1 - 1e-16) / 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            se = (np.asarray(hi, float) - np.asarray(lo, float)) / (2 * z_exact)
        ses.append(np.where((r_lo > 0) & (r_hi > 0), se, np.nan))
    diff = np.asarray(current[0], float) - np.asarray(baseline[0], float)
    se = np.sqrt(ses[0] ** 2 + ses[1] ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(se > 0, 2 * norm.sf(np.abs(diff) / se), np.where(diff == 0, 1.0, 0.0))
    p = np.where(np.isnan(se) | np.isnan(diff), np.nan, p)
    return diff, diff - z * se, diff + z * se, p


def newcombe_pvalue(k1: Any, n1: Any, k2: Any, n2: Any) -> np.ndarray:
    """Two-sided p-value of ``p1 = p2`` that inverts Newcombe's interval for ``p1 − p2``.

    The smallest α at which the (1 − α) interval leaves out zero, found by bisection on the normal
    value (Wilson intervals nest, so the bound moves monotonically): the interval at a level
    excludes zero exactly when p < 1 − level.  NaN where a side has no trials; below 1e-15 it
    reports 1e-15.
    """
    k1, n1, k2, n2 = (np.asarray(v, float) for v in (k1, n1, k2, n2))
    shape = np.broadcast(k1, n1, k2, n2).shape
    k1, n1, k2, n2 = (np.broadcast_to(v, shape) for v in (k1, n1, k2, n2))
    lo_z, hi_z = np.zeros(shape), np.full(shape, 8.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = k1 / n1 - k2 / n2
    for _ in range(48):
        mid = (lo_z + hi_z) / 2
        excludes = _excludes_zero(k1, n1, k2, n2, mid)
        lo_z = np.where(excludes, mid, lo_z)
        hi_z = np.where(excludes, hi_z, mid)
    p = np.maximum(2 * norm.sf(lo_z), 1e-15)
    p = np.where(diff == 0, 1.0, p)
    return np.where((n1 > 0) & (n2 > 0), p, np.nan)


def _excludes_zero(k1: Any, n1: Any, k2: Any, n2: Any, z: np.ndarray) -> np.ndarray:
    """Whether Newcombe's interval with normal value ``z`` (per element) leaves out zero.

    The arithmetic of :func:`.intervals.newcombe_interval` with one ``z`` per element.
    """
    _, lo, hi = newcombe_at(k1, n1, k2, n2, z)
    return np.asarray((lo > 0) | (hi < 0))


def _verdicts(table: pd.DataFrame, alpha: float, thresholds: Mapping[str, float]) -> list[str]:
    out = []
    columns = [table[c].to_numpy(dtype=float) for c in ("change_lo", "change_hi", "p_holm")]
    for metric, lo, hi, p in zip(table["metric"].astype(str), *columns, strict=True):
        if math.isnan(lo) or math.isnan(hi) or math.isnan(p):
            out.append(UNDECIDED)
            continue
        m = thresholds[metric]
        up, down = lo > m, hi < -m
        if p >= alpha or not (up or down):
            out.append(NO_CHANGE)
        elif up == HIGHER_IS_WORSE[metric]:
            out.append(REGRESSED)
        else:
            out.append(IMPROVED)
    return out
