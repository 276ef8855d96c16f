"""The two primitives every analysis is built from, on both paths: group counts and order statistics.

Order statistics in DuckDB
--------------------------
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..calllog.schema import CATEGORIES
from ._data import (
    TIME_KEYS,
    DuckSource,
    PandasSource,
    Selection,
    Source,
    as_float,
    merge_null_safe,
)

log = logging.getLogger(__name__)

#: Ranks a group needs: name -> 1-based rank, 0 when that statistic does not exist for n.
RankFn = Callable[[int], Mapping[str, int]]

_SCALE = 10**18  # fractions are DECIMAL(19, 18)
_MAX_POINTS = 48  # fractions in one quantile_disc list
_MAX_CLUSTERS = 32  # FILTERed quantile_disc aggregates in one query


def _key_list(keys: Sequence[str]) -> str:
    return ", ".join(keys)


def counts(
    src: Source, sel: Selection, keys: Sequence[str], *, value: str | None = None
) -> pd.DataFrame:
    """Rows per group: key columns and ``count`` (groups with no rows are absent).

    With ``value``, also ``n_value``: the rows where that column is not null.
    """
    keys = list(keys)
    if isinstance(src, PandasSource):
        df = src.select(sel, keys, [value] if value else [])
        if value:
            df = df.assign(_v=df[value].notna())
        if not keys:
            out = pd.DataFrame({"count": [len(df)]})
            if value:
                out["n_value"] = int(df["_v"].sum())
            return out
        g = df.groupby(keys, dropna=False, sort=False, observed=True)
        res = g.size().rename("count").to_frame()
        if value:
            res["n_value"] = g["_v"].sum().astype("int64")
        return res.reset_index()
    group = f" GROUP BY {_key_list(keys)}" if keys else ""
    sel_keys = f"{_key_list(keys)}, " if keys else ""
    extra = f", count({value}) AS n_value" if value else ""
    while True:
        base = src.base_sql(sel, keys, [value] if value else [])
        out = src.query(f"SELECT {sel_keys}count(*) AS count{extra} FROM ({base}){group}")
        if not src.check_categories(out, keys):
            return out


def sums(src: Source, sel: Selection, keys: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """Per group: ``n_<col>`` (non-null count), ``sum_<col>``, ``min_<col>``, ``max_<col>``."""
    keys = list(keys)
    if isinstance(src, PandasSource):
        df = src.select(sel, keys, columns)
        for c in columns:
            df[c] = as_float(df[c])
        parts: dict[str, Any] = {}
        if keys:
            g = df.groupby(keys, dropna=False, sort=False, observed=True)
            for c in columns:
                parts[f"n_{c}"] = g[c].count()
                parts[f"sum_{c}"] = g[c].sum(min_count=1)
                parts[f"min_{c}"] = g[c].min()
                parts[f"max_{c}"] = g[c].max()
            return pd.DataFrame(parts).reset_index()
        for c in columns:
            parts[f"n_{c}"] = [df[c].count()]
            parts[f"sum_{c}"] = [df[c].sum(min_count=1)]
            parts[f"min_{c}"] = [df[c].min()]
            parts[f"max_{c}"] = [df[c].max()]
        return pd.DataFrame(parts)
    base = src.base_sql(sel, keys, columns)
    aggs = []
    for c in columns:
        x = f"CAST({c} AS DOUBLE)"
        aggs += [
            f"count({x}) AS n_{c}",
            f"sum({x}) AS sum_{c}",
            f"min({x}) AS min_{c}",
            f"max({x}) AS max_{c}",
        ]
    group = f" GROUP BY {_key_list(keys)}" if keys else ""
    sel_keys = f"{_key_list(keys)}, " if keys else ""
    return src.query(f"SELECT {sel_keys}{', '.join(aggs)} FROM ({base}){group}")


def order_statistics(
    src: Source,
    sel: Selection,
    keys: Sequence[str],
    column: str,
    ranks: RankFn,
    *,
    groups: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per group: key columns, ``n`` (non-null values of ``column``) and one column per rank name.

    ``ranks(n)`` names the 1-based ranks wanted for a group of n values; each named column holds
    the order statistic ``x_(rank)`` (NaN for rank 0).  Groups without values are absent.
    ``groups`` (keys and ``n``, as :func:`counts` returned them for the same selection) saves
    the DuckDB path its counting scan.
    """
    keys = list(keys)
    sel = Selection(**{**sel.__dict__, "not_null": (*sel.not_null, column)})
    if isinstance(src, PandasSource):
        return _order_stats_pandas(src, sel, keys, column, ranks)
    return _order_stats_duckdb(src, sel, keys, column, ranks, groups)


def _order_stats_pandas(
    src: PandasSource, sel: Selection, keys: list[str], column: str, ranks: RankFn
) -> pd.DataFrame:
    df = src.select(sel, keys, [column])
    x = as_float(df[column])
    df = df.assign(**{column: x}).dropna(subset=[column])
    if df.empty:
        return pd.DataFrame(columns=[*keys, "n"])
    if keys:
        df = df.sort_values([*keys, column], kind="stable")
        grouped = df.groupby(keys, dropna=False, sort=False, observed=True)
        pos = grouped.cumcount().to_numpy() + 1
        size = grouped[column].transform("size").to_numpy()
    else:
        df = df.sort_values(column, kind="stable")
        pos = np.arange(1, len(df) + 1)
        size = np.full(len(df), len(df))
    starts = np.flatnonzero(pos == 1)
    prime = getattr(ranks, "prime", None)
    if prime is not None:
        prime(size[starts])
    values = df[column].to_numpy()
    key_values = {k: df[k].to_numpy(dtype=object) for k in keys}
    rows = []
    for start in starts:
        n = int(size[start])
        row: dict[str, object] = {k: key_values[k][start] for k in keys}
        row["n"] = n
        for name, rank in ranks(n).items():
            row[name] = float(values[start + rank - 1]) if 1 <= rank <= n else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


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


def _order_stats_duckdb(
    src: DuckSource,
    sel: Selection,
    keys: list[str],
    column: str,
    ranks: RankFn,
    groups: pd.DataFrame | None,
) -> pd.DataFrame:
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


class Staged:
    """A selection of a Parquet dataset copied once into a compact temporary table.

    Coded columns (region, security_level, action, outcome) are stored as small integers (the
    index in the schema's categories; anything else is NULL, as ``load_calls`` reads it), so the
    queries that follow neither decode nor hash strings again.  :meth:`decode` turns the codes in
    a result back into values.  Use as a context manager; the table is dropped on exit.
    """

    _count = 0

    def __init__(
        self, src: DuckSource, sel: Selection, keys: Sequence[str], columns: Sequence[str]
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
            else f"CAST({c} AS INTEGER) AS {c}"  # minute, hour and day numbers fit 32 bits
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
    src: DuckSource,
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
    src: DuckSource,
    base: str,
    groups: pd.DataFrame,
    keys: list[str],
    column: str,
    ranks: RankFn,
) -> pd.DataFrame:
    sizes = groups["n"].to_numpy(dtype="int64")
    wanted = []
    for i in range(len(groups)):
        n = int(sizes[i])
        for r in sorted({r for r in ranks(n).values() if 1 <= r <= n}):
            wanted.append((i, r))
    table = groups[keys].iloc[[i for i, _ in wanted]].reset_index(drop=True)
    table["_rn"] = [r for _, r in wanted]
    part = f"PARTITION BY {_key_list(keys)} " if keys else ""
    on = " AND ".join([*(f"w.{k} IS NOT DISTINCT FROM t.{k}" for k in keys), "w._rn = t._rn"])
    sql = (
        f"WITH w AS (SELECT *, row_number() OVER ({part}ORDER BY CAST({column} AS DOUBLE)) "
        f"AS _rn FROM ({base})) "
        f"SELECT {''.join(f'w.{k}, ' for k in keys)}w._rn, CAST(w.{column} AS DOUBLE) AS _x "
        f"FROM w JOIN _ranks t ON {on}"
    )
    picked = src.query(sql, _ranks=table)
    lookup = merge_null_safe(groups.assign(_row=np.arange(len(groups))), picked, keys, how="inner")
    by_row: dict[int, dict[int, float]] = {}
    for row_i, rn, x in zip(lookup["_row"], lookup["_rn"], lookup["_x"], strict=True):
        by_row.setdefault(int(row_i), {})[int(rn)] = float(x)
    rows = []
    for i in range(len(groups)):
        n = int(sizes[i])
        row: dict[str, object] = {k: groups[k].iat[i] for k in keys}
        row["n"] = n
        found = by_row.get(i, {})
        for name, rank in ranks(n).items():
            row[name] = found.get(rank, np.nan) if 1 <= rank <= n else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def order_statistics_from_counts(
    counts: pd.DataFrame, keys: Sequence[str], ranks: RankFn
) -> pd.DataFrame:
    """Order statistics from value counts (``keys``, ``value``, ``count``): exact, like sorting.

    Returns keys, ``n``, ``sum_value`` (Σ value·count) and one column per rank name.
    """
    keys = list(keys)
    if counts.empty:
        return pd.DataFrame(columns=[*keys, "n", "sum_value"])
    frame = (
        counts.sort_values([*keys, "value"], kind="stable")
        if keys
        else counts.sort_values("value", kind="stable")
    )
    groups = frame.groupby(keys, dropna=False, sort=False, observed=True) if keys else [((), frame)]
    rows = []
    for key, block in groups:
        values = block["value"].to_numpy(dtype="float64")
        cum = np.cumsum(block["count"].to_numpy(dtype="int64"))
        n = int(cum[-1])
        key_t = key if isinstance(key, tuple) else (key,)
        row: dict[str, object] = dict(zip(keys, key_t, strict=True))
        row["n"] = n
        row["sum_value"] = float(np.dot(values, block["count"].to_numpy(dtype="float64")))
        for name, rank in ranks(n).items():
            row[name] = float(values[np.searchsorted(cum, rank)]) if 1 <= rank <= n else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
