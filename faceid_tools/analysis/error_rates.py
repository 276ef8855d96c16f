"""Error rates per attempt and per logical call, by any grouping and by error code (Wilson)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..calllog.conventions import OK
from ..calllog.schema import OUTCOME_CATEGORIES
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
)
from .intervals import wilson_interval

__all__ = ["error_codes", "error_rates", "outcome_breakdown"]


def selection(per: Per, action: str | None, attempts: Attempts = "all") -> Selection:
    """Rows an error count looks at: every attempt, or each call's final attempt."""
    if per not in ("attempt", "call"):
        raise InputError(f"per must be 'attempt' or 'call', got {per!r}")
    if attempts not in ("all", "first"):
        raise InputError(f"attempts must be 'all' or 'first', got {attempts!r}")
    if per == "call" and attempts == "first":
        raise InputError(
            "per='call' looks at each call's final attempt; attempts='first' contradicts it"
        )
    return Selection(
        action=action,
        first_attempt=attempts == "first",
        final_attempt=per == "call",
        not_null=("outcome",),
    )


def outcome_counts(
    src: Source, keys: Sequence[str], sel: Selection, *, value: str | None = None
) -> pd.DataFrame:
    """Counts per group and outcome (raw key values), for the functions below."""
    return src.counts(sel, [*keys, "outcome"], value=value)


def failures(outcome: pd.Series, count: pd.Series) -> np.ndarray:
    """``count`` where ``outcome`` is a failure (anything but ``ok``), else 0: the one rule of
    what an error is, for every rate of errors."""
    return np.where(outcome.astype(object) != OK, count, 0)


def rate_table(
    totals: pd.DataFrame,
    keys: Sequence[str],
    confidence: float,
    *,
    k: str = "errors",
    name: str = "rate",
) -> pd.DataFrame:
    """Add ``<name>``, ``<name>_lo``, ``<name>_hi`` (k / n with its Wilson interval; NaN where
    n = 0) to a frame with ``n`` and ``k`` columns: the one definition of a rate shown."""
    n = totals["n"].to_numpy(dtype=float)
    hits = totals[k].to_numpy(dtype=float)
    lo, hi = wilson_interval(hits, n, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        totals[name] = np.where(n > 0, hits / n, np.nan)
    totals[f"{name}_lo"] = lo
    totals[f"{name}_hi"] = hi
    return totals


def error_rates(
    data: Any,
    by: str | Sequence[str] | None = ("region",),
    *,
    per: Per = "attempt",
    attempts: Attempts = "all",
    action: str | None = GRS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of failures per group: ``n``, ``errors``, ``rate`` with its Wilson ``rate_lo``/``rate_hi``.

    ``per="attempt"`` counts every attempt (``outcome != "ok"`` is a failure); ``per="call"``
    counts logical calls (``call_id``), a call failing when its last attempt failed.
    """
    keys = check_keys(by)
    src = resolve(data)
    raw = outcome_counts(src, keys, selection(per, action, attempts))
    result = _rates_from_outcomes(raw, keys, confidence)
    result.attrs.update(
        analysis="error_rates", by=list(keys), per=per, confidence=confidence, unit="share"
    )
    return result


def _rates_from_outcomes(raw: pd.DataFrame, keys: Sequence[str], confidence: float) -> pd.DataFrame:
    raw = raw.assign(_err=failures(raw["outcome"], raw["count"]))
    if keys:
        totals = (
            raw.groupby(list(keys), dropna=False, sort=False, observed=True)
            .agg(n=("count", "sum"), errors=("_err", "sum"))
            .reset_index()
        )
    else:
        totals = pd.DataFrame({"n": [int(raw["count"].sum())], "errors": [int(raw["_err"].sum())]})
    totals = finish_keys(totals, keys)
    totals["n"] = totals["n"].astype("int64")
    totals["errors"] = totals["errors"].astype("int64")
    return rate_table(totals, keys, confidence)


def error_codes(
    data: Any,
    by: str | Sequence[str] | None = (),
    *,
    per: Per = "attempt",
    attempts: Attempts = "all",
    action: str | None = GRS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Rate of each error code per group, with Wilson intervals.

    One row per group × code seen anywhere in the selection (zero counts included, so a code absent
    from a group still gets an upper bound): ``error_code``, ``n`` (all attempts/calls of the
    group), ``errors`` (with that code), ``rate``, ``rate_lo``, ``rate_hi``.  A failure without
    an ``error_code`` is listed under its outcome (e.g. ``timeout``).
    """
    keys = check_keys(by)
    if "error_code" in keys:
        raise InputError("error_code is the breakdown already; leave it out of `by`")
    src = resolve(data)
    raw = src.counts(selection(per, action, attempts), [*keys, "outcome", "error_code"])
    outcome = raw["outcome"].astype(object)
    code = raw["error_code"].astype(object).where(raw["error_code"].notna(), outcome)
    raw = raw.assign(_code=code.where(outcome != "ok", None))
    group_keys = list(keys)
    totals = _group_totals(raw, group_keys)
    fails = raw[raw["_code"].notna()]
    codes = sorted(set(fails["_code"]))
    per_code = (
        fails.groupby([*group_keys, "_code"], dropna=False, sort=False, observed=True)["count"]
        .sum()
        .rename("errors")
        .reset_index()
        .rename(columns={"_code": "error_code"})
    )
    grid = totals.merge(pd.DataFrame({"error_code": codes}), how="cross")
    out = merge_null_safe(grid, per_code, [*group_keys, "error_code"])
    out["errors"] = out["errors"].fillna(0).astype("int64")
    out["n"] = out["n"].astype("int64")
    out = out[[*group_keys, "error_code", "n", "errors"]]
    out = finish_keys(out, [*group_keys, "error_code"])
    out = rate_table(out, keys, confidence)
    out.attrs.update(analysis="error_codes", by=list(keys), per=per, confidence=confidence)
    return out


def outcome_breakdown(
    data: Any,
    by: str | Sequence[str] | None = (),
    *,
    per: Per = "attempt",
    attempts: Attempts = "all",
    action: str | None = GRS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of each outcome class (``ok``, ``api_error``, ``timeout``, ...) per group.

    Every class of the schema appears for every group: ``outcome``, ``n``, ``count``, ``share``,
    ``share_lo``, ``share_hi`` (Wilson).
    """
    keys = check_keys(by)
    if "outcome" in keys:
        raise InputError("outcome is the breakdown already; leave it out of `by`")
    src = resolve(data)
    raw = outcome_counts(src, keys, selection(per, action, attempts))
    group_keys = list(keys)
    totals = _group_totals(raw, group_keys)
    seen = {str(v) for v in raw["outcome"].dropna()}
    classes = [*OUTCOME_CATEGORIES, *sorted(seen - set(OUTCOME_CATEGORIES))]
    grid = totals.merge(pd.DataFrame({"outcome": classes}), how="cross")
    raw = raw.assign(outcome=raw["outcome"].astype(object))
    out = merge_null_safe(grid, raw, [*group_keys, "outcome"])
    out["count"] = out["count"].fillna(0).astype("int64")
    out["n"] = out["n"].astype("int64")
    out = finish_keys(out[[*group_keys, "outcome", "n", "count"]], [*group_keys, "outcome"])
    out = rate_table(out, keys, confidence, k="count").rename(
        columns={"rate": "share", "rate_lo": "share_lo", "rate_hi": "share_hi"}
    )
    out.attrs.update(analysis="outcome_breakdown", by=list(keys), per=per, confidence=confidence)
    return out


def _group_totals(raw: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """Rows per group (column ``n``) from a counts frame; one row when there is no grouping."""
    if not group_keys:
        return pd.DataFrame({"n": [int(raw["count"].sum())]})
    return (
        raw.groupby(group_keys, dropna=False, sort=False, observed=True)["count"]
        .sum()
        .rename("n")
        .reset_index()
    )
