"""Anytime-valid verdict rows for :func:`faceid_tools.analysis.slo_verdicts` (``intervals="anytime"``).

Each objective is a one-sided test on a rate, decided by :mod:`.sequential` at ``α/2`` per side
(``α = 1 − confidence``, as the fixed intervals' two sides):

* error rate — failed calls among calls, threshold as given;
* p95 latency — the share of successful calls *slower* than the objective, at most 5% (the p95 is
  at most the objective exactly when that share is); the displayed p95 interval is the quantile
  confidence sequence ``[x_(l), x_(u)]``, which clears the objective exactly when the test decides;
* integrity — sequences failing their MD5 among downloaded sequences, at most ``1 − threshold``.

``calls_needed`` comes from the same tests (:func:`.sequential.calls_to_decide`), turned into calls
with the group's own calls-per-unit ratio.

**Which intervals** (:func:`intervals_for`): ``"auto"`` picks the anytime ones when the data holds a
campaign run with ``--until-decided`` (its ``campaigns.run_mode`` in the log file says so), since
such a campaign stops on what it sees; otherwise the fixed-sample ones.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..calllog.conventions import RUN_MODE_UNTIL_DECIDED
from ._data import GRS, Selection, merge_null_safe
from .intervals import quantile_rank
from .sequential import N_OPT, calls_to_decide, decide, quantile_cs_ranks, rate_cs

log = logging.getLogger(__name__)

__all__ = ["INTERVALS", "bad_share_threshold", "intervals_for", "judge", "sources"]

#: Values of ``slo_verdicts(intervals=...)``.
INTERVALS: tuple[str, ...] = ("auto", "anytime", "fixed")
#: The quantile the latency objective is on.
LATENCY_Q = 0.95


def bad_share_threshold(metric: str, threshold: float) -> float:
    """The objective as "share of bad units at most p0": p0 for each metric."""
    if metric == "p95_latency_ms":
        return 1 - LATENCY_Q
    if metric == "integrity_rate":
        return 1 - threshold
    return threshold


@functools.lru_cache(maxsize=4096)
def _ranks(n: int, confidence: float) -> dict[str, int]:
    lo, hi = quantile_cs_ranks([n], LATENCY_Q, confidence)
    return {
        "p95": quantile_rank(n, LATENCY_Q) if n else 0,
        "p95_lo": int(lo[0]),
        "p95_hi": int(hi[0]),
    }


def sources(
    src: Any,
    keys: list[str],
    threshold_ms: float,
    confidence: float,
    table: pd.DataFrame,
    integrity: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """Per metric: keys, ``estimate``, ``lo``, ``hi``, ``count`` (units) and ``events`` (bad units)."""
    lat = Selection(action=GRS, outcome="ok")
    stats = src.order_statistics(lat, keys, "latency_ms", lambda n: _ranks(int(n), confidence))
    width = float(np.nextafter(threshold_ms, np.inf))
    bins = src.binned_counts(
        Selection(action=GRS, outcome="ok", not_null=("latency_ms",)),
        keys,
        "latency_ms",
        0.0,
        width,
        2,
    )
    bins = bins.assign(_slow=np.where(bins["_bin"].to_numpy() >= 1, bins["count"], 0))
    if keys:
        slow = bins.groupby(keys, dropna=False, sort=False, observed=True)["_slow"].sum()
        slow = slow.rename("events").reset_index()
        for k in keys:
            slow[k] = slow[k].astype(object)
            stats[k] = stats[k].astype(object)
        latency = merge_null_safe(stats, slow, keys)
    else:
        latency = stats.assign(events=int(bins["_slow"].sum()))
    latency = latency.rename(
        columns={"p95": "estimate", "p95_lo": "lo", "p95_hi": "hi", "n": "count"}
    )
    latency["events"] = latency["events"].fillna(0)

    errors = table.rename(columns={"n": "count", "errors": "events", "error_rate": "estimate"})
    errors = errors.assign(**_rate_bounds(errors["events"], errors["count"], confidence))

    sequences = integrity.rename(columns={"n": "count", "rate": "estimate"})
    sequences = sequences.assign(events=sequences["count"] - sequences["verified"])
    bad = _rate_bounds(sequences["events"], sequences["count"], confidence)
    sequences = sequences.assign(lo=1 - bad["hi"], hi=1 - bad["lo"])
    cols = [*keys, "estimate", "lo", "hi", "count", "events"]
    return {
        "p95_latency_ms": latency[cols],
        "error_rate": errors[cols],
        "integrity_rate": sequences[cols],
    }


def _rate_bounds(events: pd.Series, count: pd.Series, confidence: float) -> dict[str, np.ndarray]:
    lo, hi = rate_cs(events.to_numpy(float), count.to_numpy(float), confidence)
    return {"lo": lo, "hi": hi}


def judge(
    part: pd.DataFrame, metric: str, threshold: float, confidence: float, n_opt: float = N_OPT
) -> tuple[list[int], list[int | None]]:
    """Per row of ``part`` (``events``, ``n`` units, ``calls``): the side decided (−1: the share
    of bad units is below its threshold, +1: above, 0: open) and calls_needed."""
    p0 = bad_share_threshold(metric, threshold)
    alpha = (1 - confidence) / 2
    events = part["events"].fillna(0).to_numpy(float)
    count = part["n"].to_numpy("int64")
    calls = part["calls"].to_numpy("int64")
    side = decide(events, count, p0, alpha, n_opt)
    needed: list[int | None] = []
    for s, k, n, c in zip(side, events, count, calls, strict=True):
        if s != 0:
            needed.append(0)
            continue
        more = calls_to_decide(float(k), int(n), p0, alpha, n_opt) if n > 0 and c > 0 else None
        needed.append(None if more is None else math.ceil(more * c / n))
    return [int(s) for s in side], needed


def intervals_for(data: Any, src: Any, intervals: str) -> str:
    """``"anytime"`` or ``"fixed"`` for ``slo_verdicts(intervals=...)`` (see the module docstring)."""
    if intervals not in INTERVALS:
        raise ValueError(f"intervals must be one of {', '.join(INTERVALS)}, got {intervals!r}")
    if intervals != "auto":
        return intervals
    path = _log_path(data, src)
    if path is None:
        return "fixed"
    adaptive = _adaptive_campaigns(path)
    if not adaptive:
        return "fixed"
    seen = src.counts(Selection(action=GRS), ["campaign_id"])
    present = {str(c) for c in seen["campaign_id"].astype(object) if c is not None}
    return "anytime" if present & adaptive else "fixed"


def _log_path(data: Any, src: Any) -> Path | None:
    path: Path | None
    if isinstance(data, str | os.PathLike):
        path = Path(data)
    elif hasattr(data, "path") and isinstance(data.path, str | os.PathLike):
        path = Path(data.path)
    else:
        frame = data if isinstance(data, pd.DataFrame) else getattr(src, "frame", None)
        where = frame.attrs.get("source_path") if isinstance(frame, pd.DataFrame) else None
        path = Path(where) if where else None
    return path if path is not None and path.is_file() else None


def _adaptive_campaigns(path: Path) -> set[str]:
    """Campaign ids the log file records as run until decided (none if it has no such column)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.Error:
        return set()
    try:
        rows = conn.execute(
            "SELECT campaign_id FROM campaigns WHERE run_mode = ?", (RUN_MODE_UNTIL_DECIDED,)
        ).fetchall()
    except sqlite3.Error:  # no campaign tables, or written before run_mode existed
        return set()
    finally:
        conn.close()
    return {str(r[0]) for r in rows}
