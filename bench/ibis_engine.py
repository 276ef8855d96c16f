"""A prototype Ibis engine, enough of :class:`faceid_tools.analysis.engines.base.Engine` to run
``daily_summary`` (and ``summary_table``/``latency_summary`` without call-level selections).

Measured against the shipped DuckDB engine in ``bench_analysis`` when ``ibis-framework`` is
installed (it is not a dependency: the protocol won, see docs/scaling.md).  Same counting, same
order statistics: ``row_number()`` per group joined with the ranks each group needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

from faceid_tools.analysis._selection import TIME_KEYS, Selection, merge_null_safe
from faceid_tools.analysis.engines.base import Engine, RankFn
from faceid_tools.calllog.schema import CATEGORIES


class IbisSource(Engine):
    name = "ibis"

    def __init__(self, table: Any):
        self.table = table

    def select(self, sel: Selection, keys: Sequence[str], columns: Sequence[str] = ()) -> Any:
        if sel.final_attempt or sel.call_level or sel.unpivot:
            raise NotImplementedError("prototype: attempt-level selections only")
        t = self.table
        cols = {
            c: _read(t, c)
            for c in {*columns, "action", "outcome", *sel.not_null}
            if c not in TIME_KEYS
        }
        for k in keys:
            if k in TIME_KEYS:
                cols[k] = t.started_at.epoch_seconds() // TIME_KEYS[k]
            else:
                cols[k] = _read(t, k)
        t = t.select(**cols)
        if sel.action is not None:
            t = t.filter(t.action == sel.action)
        if sel.first_attempt:
            raise NotImplementedError
        if sel.outcome is not None:
            t = t.filter(t.outcome == sel.outcome)
        for name in sel.not_null:
            t = t.filter(t[name].notnull())
        return t.select(*keys, *[c for c in columns if c not in keys])

    def counts(
        self, sel: Selection, keys: Sequence[str], *, value: str | None = None
    ) -> pd.DataFrame:
        t = self.select(sel, keys, [value] if value else [])
        aggs = {"count": t.count()}
        if value:
            aggs["n_value"] = t[value].count()
        return t.group_by(list(keys)).aggregate(**aggs).to_pandas()

    def sums(self, sel: Selection, keys: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
        raise NotImplementedError

    def _order_statistics(
        self,
        sel: Selection,
        keys: list[str],
        column: str,
        ranks: RankFn,
        groups: pd.DataFrame | None,
    ) -> pd.DataFrame:
        t = self.select(sel, keys, [column])
        if groups is None:
            groups = t.group_by(keys).aggregate(n=t.count()).to_pandas()
        groups = groups.loc[groups["n"] > 0, [*keys, "n"]].reset_index(drop=True)
        sizes = groups["n"].to_numpy(dtype="int64")
        prime = getattr(ranks, "prime", None)
        if prime is not None:
            prime(sizes)
        wanted = [
            (i, r)
            for i in range(len(groups))
            for r in sorted({r for r in ranks(int(sizes[i])).values() if 1 <= r <= sizes[i]})
        ]
        table = groups[keys].iloc[[i for i, _ in wanted]].reset_index(drop=True)
        table["_rn"] = [r for _, r in wanted]
        table = table.rename(columns={k: f"_t_{k}" for k in keys})
        w = ibis.window(group_by=[t[k] for k in keys], order_by=t[column])
        ranked = t.mutate(_rn=ibis.row_number().over(w) + 1)
        small = ibis.memtable(table)
        pred = [ranked[k].identical_to(small[f"_t_{k}"]) for k in keys] + [ranked._rn == small._rn]
        picked = ranked.join(small, pred).select(*keys, ranked._rn, ranked[column]).to_pandas()
        found = merge_null_safe(
            groups.assign(_row=np.arange(len(groups))), picked, keys, how="inner"
        )
        by_row: dict[int, dict[int, float]] = {}
        for row_i, rn, x in zip(found["_row"], found["_rn"], found[column], strict=True):
            by_row.setdefault(int(row_i), {})[int(rn)] = float(x)
        rows = []
        for i in range(len(groups)):
            n = int(sizes[i])
            row: dict[str, object] = {k: groups[k].iat[i] for k in keys}
            row["n"] = n
            for name, rank in ranks(n).items():
                row[name] = by_row.get(i, {}).get(rank, np.nan) if 1 <= rank <= n else np.nan
            rows.append(row)
        return pd.DataFrame(rows)

    def rank_sums(self, *a: Any, **k: Any) -> pd.DataFrame:
        raise NotImplementedError

    def duplicate_groups(self, *a: Any, **k: Any) -> pd.DataFrame:
        raise NotImplementedError

    def first_seen(self, *a: Any, **k: Any) -> pd.DataFrame:
        raise NotImplementedError

    def binned_counts(self, *a: Any, **k: Any) -> pd.DataFrame:
        raise NotImplementedError


def _read(t: Any, name: str) -> Any:
    c = t[name]
    if name in CATEGORIES:
        return c.isin(list(CATEGORIES[name])).ifelse(c, ibis.null(c.type()))
    return c


def open_dataset(folder: str) -> IbisSource:
    """The dataset's committed files, read by Ibis on DuckDB."""
    from faceid_tools.calllog.parquet import dataset_files

    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    files = [str(f) for f in dataset_files(folder)]
    return IbisSource(con.read_parquet(files, hive_partitioning=True, union_by_name=True))
