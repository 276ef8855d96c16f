"""DuckDB: order statistics of a Parquet selection without sorting it.

The ranks a confidence interval needs depend on each group's n, while ``quantile_disc`` takes the
same fractions for every group.  So: (1) count the rows per group; (2) compute each group's ranks in
Python; (3) pick, per rank, an exact decimal fraction f with ``ceil(f·n) = rank`` (DuckDB evaluates
``quantile_disc`` at a DECIMAL fraction in integer arithmetic: it returns ``x_(max(1, ceil(f·n)))``);
groups whose fractions can be shared are put in one cluster, and each cluster gets one
``quantile_disc(x, [f…]) FILTER (WHERE cluster = c)``.  That is two scans and no sort of the data —
linear-time selection per group.  When the groups' sizes are too varied for a few clusters, a
``row_number()`` window over the groups (one sort) picks the same order statistics.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from ....calllog.schema import CATEGORIES
from ..._selection import TIME_KEYS, Selection, merge_null_safe
from ..base import RankFn, rank_table, rows_from_picked

if TYPE_CHECKING:
    import duckdb


class DuckQueries(Protocol):
    """What these helpers need of the DuckDB engine (:class:`.source.DuckSource`; a protocol,
    so no import cycle)."""

    def connect(self) -> duckdb.DuckDBPyConnection: ...

    def base_sql(self, sel: Selection, keys: Sequence[str], columns: Iterable[str] = ()) -> str: ...

    def query(self, sql: str, **tables: pd.DataFrame) -> pd.DataFrame: ...


log = logging.getLogger(__name__)

_SCALE = 10**18  # fractions are DECIMAL(19, 18)
_MAX_POINTS = 48  # fractions in one quantile_disc list
_MAX_CLUSTERS = 32  # FILTERed quantile_disc aggregates in one query


def _key_list(keys: Sequence[str]) -> str:
    return ", ".join(keys)


def order_statistics(
    src: DuckQueries,
    sel: Selection,
    keys: list[str],
    column: str,
    ranks: RankFn,
    groups: pd.DataFrame | None,
) -> pd.DataFrame:
    """See :meth:`._engine.Engine.order_statistics` (``sel`` already drops null ``column``)."""
    if groups is not None:  # sizes known: one pass over the Parquet files
        return pick_order_statistics(
            src, src.base_sql(sel, keys, [column]), keys, column, ranks, groups
        )
    with Staged(src, sel, keys, [column]) as staged:  # one scan, then two cheap queries
        sizes = staged.query(
            f"SELECT {''.join(f'{k}, ' for k in keys)}count(*) AS n FROM ({staged.sql()})"
            + (f" GROUP BY {_key_list(keys)}" if keys else "")
        )
        stats = pick_order_statistics(src, staged.sql(), keys, column, ranks, sizes)
        return staged.decode(stats)


@dataclass
class _Point:
    lo: int  # smallest valid scaled fraction (inclusive)
    hi: int  # largest valid scaled fraction (inclusive)


def _fraction_range(rank: int, n: int) -> tuple[int, int]:
    """Scaled fractions F with ``ceil(F·n / S) = rank``: ``((rank−1)·S/n, rank·S/n]``."""
    return ((rank - 1) * _SCALE) // n + 1, (rank * _SCALE) // n


def _plan_clusters(
    groups: pd.DataFrame, ranks: RankFn
) -> tuple[np.ndarray, list[list[_Point]], list[dict[str, int]]] | None:
    """Assign groups (sorted by n) to clusters of shared fractions, or None if too many clusters.

    Returns the cluster of each group, the fraction points of each cluster, and for each group the
    index of the point serving each rank name.
    """
    sizes = groups["n"].to_numpy(dtype="int64")
    prime = getattr(ranks, "prime", None)
    if prime is not None:
        prime(sizes)
    order = np.argsort(sizes, kind="stable")
    cluster_of = np.zeros(len(groups), dtype=np.int64)
    clusters: list[list[_Point]] = [[]]
    use: list[dict[str, int]] = [{} for _ in range(len(groups))]
    for i in order:
        n = int(sizes[i])
        wanted = {name: r for name, r in ranks(n).items() if 1 <= r <= n}
        points, chosen = _fit(clusters[-1], wanted, n)
        if len(points) > _MAX_POINTS and clusters[-1]:
            clusters.append([])
            if len(clusters) > _MAX_CLUSTERS:
                return None
            points, chosen = _fit([], wanted, n)
        clusters[-1] = points
        cluster_of[i] = len(clusters) - 1
        use[i] = chosen
    return cluster_of, clusters, use


def _fit(
    points: list[_Point], wanted: Mapping[str, int], n: int
) -> tuple[list[_Point], dict[str, int]]:
    """Points after serving ``wanted`` ranks of a group of n: shared where the ranges meet."""
    trial = [_Point(p.lo, p.hi) for p in points]
    chosen: dict[str, int] = {}
    for name, r in wanted.items():
        lo, hi = _fraction_range(r, n)
        for j, p in enumerate(trial):
            if p.lo <= hi and lo <= p.hi:
                p.lo, p.hi = max(p.lo, lo), min(p.hi, hi)
                chosen[name] = j
                break
        else:
            trial.append(_Point(lo, hi))
            chosen[name] = len(trial) - 1
    return trial, chosen


class Staged:
    """A selection of a Parquet dataset copied once into a compact temporary table.

    Coded columns (region, security_level, action, outcome) are stored as small integers (the
    index in the schema's categories; anything else is NULL, as ``load_calls`` reads it), so the
    queries that follow neither decode nor hash strings again.  :meth:`decode` turns the codes in
    a result back into values.  Use as a context manager; the table is dropped on exit.
    """

    _count = 0

    def __init__(
        self, src: DuckQueries, sel: Selection, keys: Sequence[str], columns: Sequence[str]
    ) -> None:
        Staged._count += 1
        self.src = src
        self.name = f"_staged_{Staged._count}"
        self.coded = [c for c in dict.fromkeys([*keys, *columns]) if c in CATEGORIES]
        # A coded column that must be present is checked on its code (NULL for anything outside
        # the categories) instead of by an IN list over the strings during the scan.
        self.required = [c for c in sel.not_null if c in self.coded]
        sel = replace(sel, not_null=tuple(c for c in sel.not_null if c not in self.required))
        base = src.base_sql(sel, keys, columns)
        cols = ", ".join(
            _code_sql(c)
            if c in CATEGORIES
            else f"CAST({c} AS INTEGER) AS {c}"  # hour and day numbers fit 32 bits
            if c in TIME_KEYS
            else c
            for c in dict.fromkeys([*keys, *columns])
        )
        src.connect().execute(
            f"CREATE OR REPLACE TEMP TABLE {self.name} AS SELECT {cols} FROM ({base})"
        )

    def code(self, column: str, value: str) -> int:
        return CATEGORIES[column].index(value)

    def sql(self, where: str = "") -> str:
        """A SELECT of the staged rows (``where`` narrows them further)."""
        conds = [f"{c} IS NOT NULL" for c in self.required] + ([where] if where else [])
        return f"SELECT * FROM {self.name}" + (f" WHERE {' AND '.join(conds)}" if conds else "")

    def query(self, sql: str, **tables: pd.DataFrame) -> pd.DataFrame:
        return self.src.query(sql, **tables)

    def decode(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for c in self.coded:
            if c in frame.columns:
                lookup = np.array([*CATEGORIES[c], None], dtype=object)
                codes = pd.to_numeric(frame[c].astype(object), errors="coerce")
                index = codes.fillna(len(CATEGORIES[c])).astype("int64").to_numpy()
                frame[c] = lookup[index]
        return frame

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        self.src.connect().execute(f"DROP TABLE IF EXISTS {self.name}")


def _code_sql(column: str) -> str:
    cases = " ".join(f"WHEN {_quote(v)} THEN {i}" for i, v in enumerate(CATEGORIES[column]))
    return f"CAST(CASE {column} {cases} END AS SMALLINT) AS {column}"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def pick_order_statistics(
    src: DuckQueries,
    relation: str,
    keys: list[str],
    column: str,
    ranks: RankFn,
    groups: pd.DataFrame,
) -> pd.DataFrame:
    """The order statistics ``ranks`` names, per group of ``relation`` (a SELECT with the key
    columns and ``column``, nulls already dropped) whose sizes ``groups`` gives (keys, ``n``)."""
    groups = groups.loc[groups["n"] > 0, [*keys, "n"]].reset_index(drop=True)
    if groups.empty:
        return pd.DataFrame(columns=[*keys, "n"])
    plan = _plan_clusters(groups, ranks)
    if plan is None:
        log.debug("order statistics: %d groups too varied for clusters; window", len(groups))
        return _order_stats_window(src, relation, groups, keys, column, ranks)
    cluster_of, clusters, use = plan
    aggs = []
    for c, points in enumerate(clusters):
        fracs = ", ".join(f"{p.hi // _SCALE}.{p.hi % _SCALE:018d}::DECIMAL(19,18)" for p in points)
        filt = f" FILTER (WHERE _cluster = {c})" if len(clusters) > 1 else ""
        aggs.append(f"quantile_disc(CAST({column} AS DOUBLE), [{fracs}]){filt} AS _c{c}")
    sel_keys = f"{_key_list(keys)}, " if keys else ""
    group = f" GROUP BY {_key_list(keys)}" if keys else ""
    tables: dict[str, pd.DataFrame] = {}
    if len(clusters) > 1:
        table = groups[keys].copy()
        table["_cluster"] = cluster_of
        tables["_clusters"] = table
        on = " AND ".join(f"b.{k} IS NOT DISTINCT FROM c.{k}" for k in keys)
        from_sql = f"(SELECT b.*, c._cluster FROM ({relation}) b JOIN _clusters c ON {on})"
    else:
        from_sql = f"({relation})"
    sql = f"SELECT {sel_keys}count(*) AS _n, {', '.join(aggs)} FROM {from_sql}{group}"
    picked = src.query(sql, **tables)
    merged = merge_null_safe(groups.assign(_row=np.arange(len(groups))), picked, keys, how="inner")
    rows = []
    for _, rec in merged.sort_values("_row").iterrows():
        i = int(rec["_row"])
        n = int(rec["n"])
        if int(rec["_n"]) != n:  # pragma: no cover - the two scans disagree: data changed
            raise RuntimeError("the Parquet dataset changed while it was being read")
        values = rec[f"_c{cluster_of[i]}"]
        row: dict[str, object] = {k: rec[k] for k in keys}
        row["n"] = n
        for name, rank in ranks(n).items():
            j = use[i].get(name)
            row[name] = float(values[j]) if j is not None and 1 <= rank <= n else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _order_stats_window(
    src: DuckQueries,
    base: str,
    groups: pd.DataFrame,
    keys: list[str],
    column: str,
    ranks: RankFn,
) -> pd.DataFrame:
    table = rank_table(groups, keys, ranks)
    part = f"PARTITION BY {_key_list(keys)} " if keys else ""
    on = " AND ".join([*(f"w.{k} IS NOT DISTINCT FROM t.{k}" for k in keys), "w._rn = t._rn"])
    sql = (
        f"WITH w AS (SELECT *, row_number() OVER ({part}ORDER BY CAST({column} AS DOUBLE)) "
        f"AS _rn FROM ({base})) "
        f"SELECT {''.join(f'w.{k}, ' for k in keys)}w._rn, CAST(w.{column} AS DOUBLE) AS _x "
        f"FROM w JOIN _ranks t ON {on}"
    )
    picked = src.query(sql, _ranks=table)
    return rows_from_picked(groups, keys, ranks, picked, "_x")
