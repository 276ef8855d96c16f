"""Combined latency + error tables per group, per time bucket (drift, incidents) and per day (scale).

Columns of every table here: the keys, then ``n`` (attempts, or calls with ``per="call"``),
``errors``, ``error_rate`` with Wilson ``error_rate_lo``/``error_rate_hi``, then ``n_ok``
(successful calls with a latency) and the latency percentiles ``pXX`` with ``pXX_lo``/``pXX_hi``.

On a Parquet dataset, :func:`daily_summary` reads the files once: DuckDB returns each selected
row as a packed integer group code and its latency, a batch of days at a time, and the counts
(attempts, errors, successful latencies per region × level × day) and the order statistics every
cell needs are finished from those (see ``analysis.engines.duckdb.daily``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..calllog.conventions import OK
from ..errors import InputError
from ._data import (
    GRS,
    TIME_KEYS,
    Attempts,
    Per,
    Selection,
    check_keys,
    finish_keys,
    merge_null_safe,
    resolve,
)
from .error_rates import failures, outcome_counts, rate_table, selection
from .intervals import quantile_label
from .latency import quantile_ranks

__all__ = ["daily_summary", "hourly_series", "summary_table", "time_bucket", "time_series"]

DAILY_KEYS: tuple[str, ...] = ("region", "security_level", "day")


def summary_table(
    data: Any,
    by: str | Sequence[str] | None = ("region", "security_level"),
    *,
    quantiles: Sequence[float] = (0.5, 0.95, 0.99),
    per: Per = "attempt",
    attempts: Attempts = "all",
    action: str | None = GRS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Error rate and latency percentiles side by side per group (see the module docstring)."""
    keys = list(check_keys(by))
    src = resolve(data)
    err_sel = selection(per, action, attempts)
    ranks = quantile_ranks(quantiles, confidence)
    lat_sel = Selection(action=action, outcome="ok", first_attempt=attempts == "first")
    if per == "attempt":  # the latency selection is the error selection's successes
        raw, stats = src.outcome_summary(err_sel, lat_sel, keys, "latency_ms", ranks)
    else:
        raw = outcome_counts(src, keys, err_sel, value="latency_ms")
        stats = src.order_statistics(lat_sel, keys, "latency_ms", ranks)
    raw = raw.assign(
        _err=failures(raw["outcome"], raw["count"]),
        _ok=np.where(raw["outcome"].astype(object) == OK, raw["n_value"], 0),
    )
    if keys:
        totals = (
            raw.groupby(keys, dropna=False, sort=False, observed=True)
            .agg(n=("count", "sum"), errors=("_err", "sum"), n_ok=("_ok", "sum"))
            .reset_index()
        )
    else:
        totals = pd.DataFrame(
            {"n": [raw["count"].sum()], "errors": [raw["_err"].sum()], "n_ok": [raw["_ok"].sum()]}
        )
    stats = stats.rename(columns={"n": "n_ok"})
    merged = merge_null_safe(
        totals.drop(columns="n_ok") if per == "attempt" else totals, stats, keys
    )
    if per != "attempt":
        merged = merged.drop(columns="n_ok_x").rename(columns={"n_ok_y": "n_ok"})
    merged["n_ok"] = merged["n_ok"].fillna(0)
    qcols = [c for q in quantiles for c in _qcols(q)]
    out = rate_table(merged, keys, confidence, name="error_rate")
    out = out.reindex(
        columns=[
            *keys,
            "n",
            "errors",
            "error_rate",
            "error_rate_lo",
            "error_rate_hi",
            "n_ok",
            *qcols,
        ]
    )
    out = finish_keys(out, keys)
    for c in ("n", "errors", "n_ok"):
        out[c] = out[c].astype("int64")
    for c in qcols:
        out[c] = out[c].astype("float64")
    out.attrs.update(
        analysis="summary_table",
        by=keys,
        per=per,
        confidence=confidence,
        quantiles=[float(q) for q in quantiles],
        unit="ms",
    )
    return out


def _qcols(q: float) -> tuple[str, str, str]:
    label = quantile_label(q)
    return label, f"{label}_lo", f"{label}_hi"


def daily_summary(
    data: Any,
    *,
    quantiles: Sequence[float] = (0.5, 0.95, 0.99),
    per: Per = "attempt",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per region × security level × UTC day: attempts, error rate (Wilson), p50/p95/p99 (CIs).

    Built for large Parquet datasets (one DuckDB scan); same numbers on every path.
    """
    out = summary_table(data, DAILY_KEYS, quantiles=quantiles, per=per, confidence=confidence)
    out.attrs["analysis"] = "daily_summary"
    return out


#: Pandas frequency of each time bucket.
_FREQ = {"minute": "min", "hour": "h", "day": "D"}
#: Longest span (seconds) drawn in minutes, then in hours; anything longer is drawn in days.
_MAX_MINUTES_SPAN = 3 * 3600
_MAX_HOURS_SPAN = 7 * 86400


def time_bucket(data: Any, *, action: str | None = GRS) -> str:
    """The time bucket that suits the span of the data: ``minute``, ``hour`` or ``day``.

    Minutes for a span up to 3 hours (at most 180 points), hours up to 7 days (at most 168),
    days beyond.  The span is read from grouped counts (per day, then per hour), never row by row.
    """
    src = resolve(data)
    sel = Selection(action=action)
    for key, limit in (("day", _MAX_HOURS_SPAN), ("hour", _MAX_MINUTES_SPAN)):
        found = src.counts(sel, [key])
        buckets = pd.to_numeric(found[key].astype(object), errors="coerce").dropna()
        if buckets.empty:
            return "minute"
        span = (buckets.max() - buckets.min() + 1) * TIME_KEYS[key]
        if span > limit:
            return key if key == "day" else "hour"
    return "minute"


def time_series(
    data: Any,
    by: str | Sequence[str] | None = (),
    *,
    bucket: str | None = None,
    quantile: float = 0.95,
    per: Per = "attempt",
    attempts: Attempts = "all",
    confidence: float = 0.95,
    fill: bool = True,
) -> pd.DataFrame:
    """Per UTC time bucket (and ``by`` group): error rate and one latency percentile, with CIs.

    ``bucket`` is ``minute``, ``hour`` or ``day``; None picks it from the span of the data
    (:func:`time_bucket`).  The bucket's start is in the column named after it and
    ``attrs["bucket"]``.  With ``fill``, buckets without calls inside each group's span get
    ``n = 0`` rows (NaN estimates), so gaps show as gaps.
    """
    src = resolve(data)
    bucket = bucket or time_bucket(src)
    if bucket not in _FREQ:
        raise InputError(f"bucket must be one of {', '.join(_FREQ)}, got {bucket!r}")
    keys = [k for k in check_keys(by) if k not in TIME_KEYS]
    out = summary_table(
        src,
        [bucket, *keys],
        quantiles=(quantile,),
        per=per,
        attempts=attempts,
        confidence=confidence,
    )
    if fill and not out.empty:
        out = _fill_buckets(out, keys, bucket)
    out.attrs.update(
        analysis="time_series",
        by=keys,
        bucket=bucket,
        quantile=float(quantile),
        per=per,
        confidence=confidence,
        unit="ms",
    )
    return out


def hourly_series(
    data: Any,
    by: str | Sequence[str] | None = (),
    *,
    quantile: float = 0.95,
    per: Per = "attempt",
    attempts: Attempts = "all",
    confidence: float = 0.95,
    fill: bool = True,
) -> pd.DataFrame:
    """:func:`time_series` per UTC hour (the ``hour`` column)."""
    out = time_series(
        data,
        by,
        bucket="hour",
        quantile=quantile,
        per=per,
        attempts=attempts,
        confidence=confidence,
        fill=fill,
    )
    out.attrs["analysis"] = "hourly_series"
    return out


def _fill_buckets(out: pd.DataFrame, keys: list[str], bucket: str) -> pd.DataFrame:
    blocks = out.groupby(keys, dropna=False, sort=False, observed=True) if keys else [((), out)]
    parts = []
    for key, block in blocks:
        stamps = pd.date_range(block[bucket].min(), block[bucket].max(), freq=_FREQ[bucket])
        cols: dict[str, Any] = {bucket: stamps.astype("datetime64[ns, UTC]")}
        key_t = key if isinstance(key, tuple) else (key,)
        for k, v in zip(keys, key_t, strict=True):
            cols[k] = [v] * len(stamps)
        full = pd.DataFrame(cols)
        parts.append(full.merge(block, on=[bucket, *keys], how="left"))
    filled = pd.concat(parts, ignore_index=True)
    for c in ("n", "errors", "n_ok"):
        filled[c] = filled[c].fillna(0).astype("int64")
    return finish_keys(filled[out.columns], [*keys, bucket])
