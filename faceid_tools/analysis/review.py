"""Product review: SLO verdicts per region × level (and coarser grains) decided by intervals.

A verdict is decided by the confidence interval, never by the point estimate alone: **pass** when
the whole interval is on the good side of the threshold, **fail** when it is wholly on the bad
side, **not enough data** otherwise (including when the data cannot bound the estimate at all).
With the default 95% two-sided intervals each verdict is a one-sided call at 97.5%.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..calllog.schema import CATEGORIES
from ..errors import InputError
from . import anytime
from ._data import Per, check_keys, finish_keys, merge_null_safe, resolve, sort_values_of
from .intervals import wilson_interval
from .sequences import integrity_rate
from .timeseries import summary_table

__all__ = [
    "ALL_CALLS",
    "SLO",
    "VERDICTS",
    "calls_needed",
    "finest",
    "grain_name",
    "slo_verdicts",
    "verdict",
    "verdict_matrix",
]

PASS, FAIL, UNDECIDED = "pass", "fail", "not enough data"
#: Verdicts from best to worst.
VERDICTS: tuple[str, ...] = (PASS, UNDECIDED, FAIL)


@dataclass(frozen=True)
class SLO:
    """Service-level objectives for one region × level cell."""

    p95_latency_ms: float = 800.0  # p95 of successful calls' latency at most this
    error_rate: float = 0.01  # share of failed calls (per ``per``) at most this
    integrity_rate: float = 0.995  # share of sequences passing their MD5 check at least this

    def metrics(self) -> list[tuple[str, float, bool]]:
        """``(metric, threshold, higher_is_better)`` for each objective."""
        return [
            ("p95_latency_ms", self.p95_latency_ms, False),
            ("error_rate", self.error_rate, False),
            ("integrity_rate", self.integrity_rate, True),
        ]


def verdict(lo: float, hi: float, threshold: float, higher_is_better: bool = False) -> str:
    """pass / fail / not enough data for an interval ``[lo, hi]`` (NaN = unbounded side)."""
    lo_ok = lo is not None and not math.isnan(lo)
    hi_ok = hi is not None and not math.isnan(hi)
    if higher_is_better:
        if lo_ok and lo >= threshold:
            return PASS
        if hi_ok and hi < threshold:
            return FAIL
        return UNDECIDED
    if hi_ok and hi <= threshold:
        return PASS
    if lo_ok and lo > threshold:
        return FAIL
    return UNDECIDED


def _grid(keys: Sequence[str], seen: list[pd.DataFrame]) -> pd.DataFrame:
    """Every combination of key values: schema categories for coded keys and the values seen
    (a missing one by its name, last)."""
    values = []
    for k in keys:
        found = [v for frame in seen for v in frame[k].astype(object)]
        values.append(sort_values_of(k, [*CATEGORIES.get(k, ()), *found], missing=True))
    return pd.DataFrame(list(itertools.product(*values)), columns=list(keys))


#: Name of the grain of a row of :func:`slo_verdicts` with no group key: every call pooled.
ALL_CALLS = "all calls"
#: Largest number of further calls :func:`calls_needed` looks at; beyond it a verdict is out of reach.
_MAX_CALLS = 10_000_000


def grain_name(keys: Sequence[str]) -> str:
    """The ``grain`` of a verdict computed per ``keys``: ``"region × security_level"``, ..."""
    return " × ".join(keys) if keys else ALL_CALLS


def slo_verdicts(
    data: Any,
    slo: SLO | None = None,
    *,
    by: str | Sequence[str] | None = ("region", "security_level"),
    per: Per = "call",
    confidence: float = 0.95,
    pooled: bool = True,
    intervals: str = "auto",
) -> pd.DataFrame:
    """Each objective judged per group, and at every coarser grain: one row per group × objective.

    Columns: ``grain``, the keys, ``metric``, ``estimate``, ``lo``, ``hi``, ``objective``
    (``≤``/``≥``), ``threshold``, ``n`` (what the estimate rests on: successful calls for latency,
    calls for the error rate, downloaded sequences for integrity), ``calls`` (calls in the group),
    ``verdict`` and ``calls_needed``.

    **Grains.** The finest grain is ``by`` (default region × level: every combination of the
    schema's regions and levels, so a cell without calls shows as "not enough data"); with
    ``pooled``, the same objectives are judged again on every smaller set of the keys (per
    region with its levels pooled, per level with its regions pooled, then on all calls), whose
    rows leave the pooled keys empty.  ``grain`` names the keys of the row
    (``"region × security_level"``, ``"region"``, ``"security_level"``, ``"all calls"``); each
    grain's verdict rests on that grain's own data only.

    **calls_needed** is 0 for a decided row.  For an undecided one it is how many more calls in
    that group would be expected to decide it *if the current estimate holds*: for a rate, the
    smallest N at which the Wilson interval of the same rate (k = estimate·N) clears the
    threshold, minus the sequences or calls already made; for the p95, the interval's half-width
    on the side facing the threshold is taken to shrink as 1/√N (as an order-statistic interval
    does), so N = n·(half-width / distance to the threshold)².  Counts of successful calls and of
    sequences are turned into calls with the group's own ratio (calls per success, calls per
    sequence).  It is missing when no number of calls would do (the estimate sits on the
    threshold), when the group has no data, or when a bound does not exist yet (p95 from fewer
    than ~60 calls).

    **intervals**: ``"fixed"`` judges as above (intervals valid at a sample size fixed in advance);
    ``"anytime"`` judges every objective with anytime-valid tests and shows confidence sequences
    (valid however often the data was looked at and whenever collection stopped; see
    :mod:`faceid_tools.analysis.anytime`), with ``calls_needed`` from the same tests;
    ``"auto"`` (default) picks ``"anytime"`` when the data holds a campaign run until decided.
    ``out.attrs["intervals"]`` says which was used.
    """
    slo = slo or SLO()
    keys = list(check_keys(by))
    src = resolve(data)
    mode = anytime.intervals_for(data, src, intervals)
    grains = _grains(keys) if pooled else [keys]
    parts = []
    for grain_keys in grains:
        part = _verdicts_at(src, slo, grain_keys, keys, per, confidence, mode)
        part.insert(0, "grain", grain_name(grain_keys))
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out = finish_keys(out, [])
    for k in keys:
        out[k] = pd.Categorical(
            out[k].astype(object).where(out[k].notna(), None),
            categories=parts[0][k].cat.categories,
        )
    out["verdict"] = pd.Categorical(out["verdict"].astype(object), categories=list(VERDICTS))
    out["calls_needed"] = out["calls_needed"].astype("Int64")
    out.attrs.update(
        analysis="slo_verdicts",
        by=keys,
        grains=[grain_name(g) for g in grains],
        per=per,
        confidence=confidence,
        slo=slo.__dict__.copy(),
        intervals=mode,
    )
    return out


def _grains(keys: list[str]) -> list[list[str]]:
    """The grains judged: ``keys``, then every subset of them from the largest to none
    (region × level, per region, per level, all calls)."""
    return [list(sub) for r in range(len(keys), -1, -1) for sub in itertools.combinations(keys, r)]


def _verdicts_at(
    src: Any,
    slo: SLO,
    keys: list[str],
    all_keys: list[str],
    per: Per,
    confidence: float,
    mode: str = "fixed",
) -> pd.DataFrame:
    """The verdict rows of one grain (``keys``), with every key of ``all_keys`` as a column."""
    table = summary_table(src, keys, quantiles=(0.95,), per=per, confidence=confidence)
    integrity = integrity_rate(src, keys, confidence=confidence)
    grid = finish_keys(_grid(keys, [table, integrity]), keys) if keys else pd.DataFrame(index=[0])
    for frame in (table, integrity):
        for k in keys:
            frame[k] = frame[k].astype(object)
    plain_grid = grid.copy()
    for k in keys:
        plain_grid[k] = plain_grid[k].astype(object)
    calls = table[[*keys, "n"]].rename(columns={"n": "calls"})
    sources = {
        "p95_latency_ms": table.rename(
            columns={"p95": "estimate", "p95_lo": "lo", "p95_hi": "hi", "n_ok": "count"}
        ),
        "error_rate": table.rename(
            columns={
                "error_rate": "estimate",
                "error_rate_lo": "lo",
                "error_rate_hi": "hi",
                "n": "count",
            }
        ),
        "integrity_rate": integrity.rename(
            columns={"rate": "estimate", "rate_lo": "lo", "rate_hi": "hi", "n": "count"}
        ),
    }
    wanted = [*keys, "estimate", "lo", "hi", "count"]
    if mode == "anytime":
        sources = anytime.sources(src, keys, slo.p95_latency_ms, confidence, table, integrity)
        wanted.append("events")
    parts = []
    for metric, threshold, higher in slo.metrics():
        frame = sources[metric][wanted]
        if keys:
            part = merge_null_safe(plain_grid, frame, keys)
            part = merge_null_safe(part, calls, keys)
        else:
            part = frame.reset_index(drop=True).assign(calls=calls["calls"].to_numpy())
        part.insert(len(keys), "metric", metric)
        part["threshold"] = float(threshold)
        part["objective"] = "≥" if higher else "≤"
        part["count"] = part["count"].fillna(0).astype("int64")
        part["calls"] = part["calls"].fillna(0).astype("int64")
        est, lo, hi = (part[c].astype(float).to_numpy() for c in ("estimate", "lo", "hi"))
        if mode == "anytime":
            part = part.rename(columns={"count": "n"})
            sides, part["calls_needed"] = anytime.judge(part, metric, threshold, confidence)
            part["verdict"] = [FAIL if x > 0 else PASS if x < 0 else UNDECIDED for x in sides]
            parts.append(part.drop(columns="events").rename(columns={"n": "count"}))
            continue
        part["verdict"] = [
            verdict(float(a), float(b), threshold, higher) for a, b in zip(lo, hi, strict=True)
        ]
        part["calls_needed"] = [
            calls_needed(metric, e, a, b, threshold, higher, int(n), int(c), v, confidence)
            for e, a, b, n, c, v in zip(
                est, lo, hi, part["count"], part["calls"], part["verdict"], strict=True
            )
        ]
        parts.append(part)
    out = pd.concat(parts, ignore_index=True).rename(columns={"count": "n"})
    out = finish_keys(out, keys)
    order = {m: i for i, (m, _, _) in enumerate(slo.metrics())}
    out = out.assign(_o=out["metric"].map(order)).sort_values([*keys, "_o"], kind="stable")
    out = out.drop(columns="_o").reset_index(drop=True)
    for k in all_keys:
        if k not in keys:
            out[k] = None
    out["metric"] = out["metric"].astype("str")
    for c in ("estimate", "lo", "hi"):
        out[c] = out[c].astype("float64")
    columns = [*all_keys, "metric", "estimate", "lo", "hi", "objective", "threshold", "n"]
    return out[[*columns, "calls", "verdict", "calls_needed"]]


def calls_needed(
    metric: str,
    estimate: float,
    lo: float,
    hi: float,
    threshold: float,
    higher_is_better: bool,
    n: int,
    calls: int,
    current: str,
    confidence: float = 0.95,
) -> int | None:
    """More calls expected to decide one verdict if the estimate holds (see :func:`slo_verdicts`)."""
    if current != UNDECIDED:
        return 0
    if n <= 0 or calls <= 0 or math.isnan(estimate) or estimate == threshold:
        return None
    if metric == "p95_latency_ms":
        side = hi if estimate < threshold else lo
        if math.isnan(side):
            return None
        needed_n = n * ((side - estimate) / (threshold - estimate)) ** 2
        total = math.ceil(needed_n) + 1
    else:
        found = _wilson_decides_at(estimate, threshold, higher_is_better, n, confidence)
        if found is None:
            return None
        total = found
    more = max(total - n, 1)
    return math.ceil(more * calls / n)


def _wilson_decides_at(
    rate: float, threshold: float, higher_is_better: bool, n: int, confidence: float
) -> int | None:
    """Smallest N ≥ n whose Wilson interval of ``rate`` (k = rate·N) decides, or None."""

    def decided(size: int) -> bool:
        lo, hi = wilson_interval(rate * size, size, confidence)
        return verdict(float(lo), float(hi), threshold, higher_is_better) != UNDECIDED

    top = max(n, 1)
    while not decided(top):
        top *= 2
        if top > _MAX_CALLS:
            return None
    bottom = n
    while top - bottom > 1:  # decided(top) holds; find the first size that decides
        mid = (top + bottom) // 2
        if decided(mid):
            top = mid
        else:
            bottom = mid
    return top


def finest(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The rows of the finest grain of a :func:`slo_verdicts` result (per region × level)."""
    if "grain" not in verdicts.columns:
        return verdicts
    grains = verdicts.attrs.get("grains") or list(dict.fromkeys(verdicts["grain"]))
    return verdicts[verdicts["grain"] == grains[0]]


def verdict_matrix(
    verdicts: pd.DataFrame,
    metric: str | None = None,
    *,
    rows: str = "region",
    columns: str = "security_level",
) -> pd.DataFrame:
    """The finest-grain verdicts as a ``rows`` × ``columns`` table: one metric's, or the worst."""
    frame = finest(verdicts)
    frame = frame if metric is None else frame[frame["metric"] == metric]
    if frame.empty:
        raise InputError(f"no verdicts for metric {metric!r}")
    return worst_per_cell(frame, VERDICTS, rows=rows, columns=columns)


def worst_per_cell(
    frame: pd.DataFrame, severity: Sequence[str], *, rows: str, columns: str
) -> pd.DataFrame:
    """Each ``rows`` × ``columns`` cell's most severe ``verdict``, ``severity`` listing the
    verdicts from the mildest to the most severe."""
    rank = {v: i for i, v in enumerate(severity)}
    worst = (
        frame.assign(_r=frame["verdict"].astype(object).map(rank))
        .groupby([rows, columns], observed=True)["_r"]
        .max()
        .map(lambda i: severity[int(i)])
    )
    return worst.unstack(columns)
