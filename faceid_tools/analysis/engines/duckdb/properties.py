"""DuckDB: per-property counts, sums and order statistics of the numeric sequence columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pandas as pd

from ....calllog.schema import COLUMNS
from ..._selection import Selection, merge_null_safe
from ..base import RankFn, order_statistics_from_counts
from . import order as _duck_order


class PropertiesQueries(_duck_order.DuckQueries, Protocol):
    """What this module needs of the DuckDB engine (:class:`.source.DuckSource`; a protocol,
    so no import cycle)."""

    def check_categories(self, frame: pd.DataFrame, keys: Sequence[str]) -> bool: ...

    def order_statistics(
        self,
        sel: Selection,
        keys: Sequence[str],
        column: str,
        ranks: RankFn,
        *,
        groups: pd.DataFrame | None = None,
    ) -> pd.DataFrame: ...


#: Call-log columns holding integers (their order statistics come from value counts).
_INTEGER_COLUMNS = frozenset(c.name for c in COLUMNS if c.kind == "int")


def property_stats(
    src: PropertiesQueries,
    sel: Selection,
    keys: list[str],
    properties: Sequence[str],
    ranks: RankFn,
) -> pd.DataFrame:
    """Two scans: integer properties take few distinct values, so one GROUPING SETS query
    counts every value (the order statistics follow exactly from the cumulative counts) and,
    in the same scan, counts and sums the real-valued ones, whose order statistics then take
    one ``quantile_disc`` pass."""
    ints = [p for p in properties if p in _INTEGER_COLUMNS]
    reals = [p for p in properties if p not in _INTEGER_COLUMNS]
    sel_keys = "".join(f"{k}, " for k in keys)
    sets = ["(" + ", ".join([*keys, p]) + ")" for p in ints]
    if reals:
        sets.append("(" + ", ".join(keys) + ")")
    flags = "".join(f"GROUPING({p}) AS _g_{p}, " for p in ints)
    casts = "".join(f"CAST({p} AS DOUBLE) AS {p}, " for p in ints)
    real_aggs = "".join(
        f", count({p}) AS _n_{p}, sum(CAST({p} AS DOUBLE)) AS _s_{p}" for p in reals
    )
    while True:
        base = src.base_sql(sel, keys, [*ints, *reals])
        counted = src.query(
            f"SELECT {sel_keys}{casts}{flags}count(*) AS count{real_aggs} "
            f"FROM ({base}) GROUP BY GROUPING SETS ({', '.join(sets)})"
        )
        if not src.check_categories(counted, keys):
            break
    keys_only = counted
    for p in ints:
        keys_only = keys_only[keys_only[f"_g_{p}"] == 1]
    parts = []
    for p in ints:
        block = counted[(counted[f"_g_{p}"] == 0) & counted[p].notna()]
        hist = block[[*keys, p, "count"]].rename(columns={p: "value"})
        stats = order_statistics_from_counts(hist, keys, ranks)
        parts.append(stats.assign(property=p))
    for p in reals:
        groups = keys_only[[*keys, f"_n_{p}"]].rename(columns={f"_n_{p}": "n"})
        stats = src.order_statistics(sel, keys, p, ranks, groups=groups)
        sums = keys_only[[*keys, f"_s_{p}"]].rename(columns={f"_s_{p}": "sum_value"})
        stats = merge_null_safe(stats, sums, keys)
        parts.append(stats.assign(property=p))
    if not parts:
        return pd.DataFrame(columns=[*keys, "property", "n", "sum_value"])
    return pd.concat(parts, ignore_index=True)
