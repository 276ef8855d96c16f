"""Latency percentiles with distribution-free intervals, per any grouping; queueing apart."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._data import GRS, Attempts, Selection, check_keys, finish_keys, resolve
from .engines import base as _engine
from .intervals import quantile_ci_ranks_many, quantile_label, quantile_ranks_many

__all__ = [
    "DEFAULT_QUANTILES",
    "QuantileRanks",
    "latency_ecdf",
    "latency_summary",
    "quantile_ranks",
    "queueing_summary",
]

#: The percentiles reported by default.
DEFAULT_QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.95, 0.99)


class QuantileRanks:
    """Ranks of quantile estimates and their intervals: ``pXX``, ``pXX_lo``, ``pXX_hi`` per quantile.

    Called with n it returns the ranks of a group of n; :meth:`prime` computes many sizes in one
    vectorised pass (the DuckDB path knows every group's n before it picks order statistics).
    ``extra`` adds fixed ranks: ``{"min": 1, "max": -1}`` (−1 is n).
    """

    def __init__(
        self,
        quantiles: Sequence[float],
        confidence: float,
        extra: Mapping[str, int] | None = None,
    ) -> None:
        self.labels = [(quantile_label(q), float(q)) for q in quantiles]
        self.confidence = confidence
        self.extra = dict(extra or {})
        self._cache: dict[int, dict[str, int]] = {}

    def prime(self, ns: Sequence[int] | np.ndarray) -> None:
        todo = np.array(sorted({int(n) for n in ns} - set(self._cache)), dtype="int64")
        if todo.size == 0:
            return
        columns: dict[str, np.ndarray] = {}
        for label, q in self.labels:
            lo, hi = quantile_ci_ranks_many(todo, q, self.confidence)
            columns[label] = quantile_ranks_many(todo, q)
            columns[f"{label}_lo"] = lo
            columns[f"{label}_hi"] = hi
        for i, n in enumerate(todo.tolist()):
            ranks = {name: int(col[i]) for name, col in columns.items()}
            ranks.update({name: (n if r == -1 else r) for name, r in self.extra.items()})
            self._cache[n] = ranks

    def __call__(self, n: int) -> Mapping[str, int]:
        if n not in self._cache:
            self.prime([n])
        return self._cache[n]


def quantile_ranks(quantiles: Sequence[float], confidence: float) -> _engine.RankFn:
    """The rank function for ``quantiles``: ``pXX``, ``pXX_lo``, ``pXX_hi`` per quantile."""
    return QuantileRanks(quantiles, confidence)


def _selection(action: str | None, outcome: str | None, attempts: Attempts) -> Selection:
    if attempts not in ("all", "first"):
        raise InputError(f"attempts must be 'all' or 'first', got {attempts!r}")
    return Selection(action=action, outcome=outcome, first_attempt=attempts == "first")


def latency_summary(
    data: Any,
    by: str | Sequence[str] | None = ("region",),
    *,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    confidence: float = 0.95,
    attempts: Attempts = "all",
    action: str | None = GRS,
    outcome: str | None = "ok",
    column: str = "latency_ms",
) -> pd.DataFrame:
    """Count and percentiles (``p50``, ``p50_lo``, ``p50_hi``, ...) of service latency per group.

    Defaults: GenerateReflectSequence calls that succeeded, every attempt (``attempts="first"``
    keeps first tries only).  Estimates are order statistics ``x_(ceil(q·n))``; intervals are the
    binomial order-statistic intervals of :mod:`.intervals` (NaN where n is too small for a
    bound).  Latency is send-to-last-byte; time waiting for the rate limiter is in
    :func:`queueing_summary`.
    """
    keys = check_keys(by)
    src = resolve(data)
    ranks = quantile_ranks(quantiles, confidence)
    sel = _selection(action, outcome, attempts)
    stats = src.order_statistics(sel, keys, column, ranks)
    columns = [*keys, "n"]
    for q in quantiles:
        label = quantile_label(q)
        columns += [label, f"{label}_lo", f"{label}_hi"]
    result = _shape(stats, keys, columns)
    result.attrs.update(
        analysis="latency_summary",
        column=column,
        unit="ms",
        by=list(keys),
        quantiles=[float(q) for q in quantiles],
        confidence=confidence,
        attempts=attempts,
    )
    return result


def queueing_summary(
    data: Any,
    by: str | Sequence[str] | None = ("region",),
    *,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    confidence: float = 0.95,
    attempts: Attempts = "all",
    action: str | None = GRS,
) -> pd.DataFrame:
    """Percentiles of ``queued_ms`` (time waiting for the client's rate limiter), every outcome."""
    result = latency_summary(
        data,
        by,
        quantiles=quantiles,
        confidence=confidence,
        attempts=attempts,
        action=action,
        outcome=None,
        column="queued_ms",
    )
    result.attrs["analysis"] = "queueing_summary"
    return result


def latency_ecdf(
    data: Any,
    by: str | Sequence[str] | None = ("region",),
    *,
    points: int = 200,
    attempts: Attempts = "all",
    action: str | None = GRS,
    outcome: str | None = "ok",
    column: str = "latency_ms",
) -> pd.DataFrame:
    """The empirical CDF per group at up to ``points`` order statistics (an aggregate, for plots).

    Columns: keys, ``n``, ``cum_prob`` (= rank / n) and ``value`` (``x_(rank)``), including the
    minimum and maximum.
    """
    if points < 2:
        raise InputError(f"points must be at least 2, got {points}")
    keys = check_keys(by)
    src = resolve(data)

    @functools.lru_cache(maxsize=4096)
    def ranks(n: int) -> Mapping[str, int]:
        grid = np.unique(np.ceil(np.linspace(0, 1, points) * n).astype(int).clip(1, n))
        return {f"r{r}": int(r) for r in grid}

    sel = _selection(action, outcome, attempts)
    stats = src.order_statistics(sel, keys, column, ranks)
    rows = []
    for rec in stats.to_dict("records"):
        n = int(rec["n"])
        for name, r in ranks(n).items():
            rows.append(
                {**{k: rec[k] for k in keys}, "n": n, "cum_prob": r / n, "value": rec[name]}
            )
    result = finish_keys(pd.DataFrame(rows, columns=[*keys, "n", "cum_prob", "value"]), keys)
    result["n"] = result["n"].astype("int64")
    result["cum_prob"] = result["cum_prob"].astype("float64")
    result["value"] = result["value"].astype("float64")
    result.attrs.update(analysis="latency_ecdf", column=column, unit="ms", by=list(keys))
    return result


def _shape(stats: pd.DataFrame, keys: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """Order statistics → a tidy result with fixed columns and dtypes."""
    frame = stats.reindex(columns=list(columns))
    frame = finish_keys(frame, keys)
    frame["n"] = frame["n"].fillna(0).astype("int64")
    for c in columns:
        if c not in keys and c != "n":
            frame[c] = frame[c].astype("float64")
    return frame
