"""The DuckDB engine: the operations of :class:`._engine.Engine` as SQL over a Parquet dataset."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ....calllog.schema import CATEGORIES
from ....errors import InputError, MissingInputError
from ... import _cache
from ..._selection import EMPTY_IS_NULL, GRS, TIME_KEYS, Selection, Window
from ..base import (
    FIRST_SEEN_ORDER,
    Engine,
    RankFn,
    u_from_rank_sums,
)
from . import daily as _duck_summary
from . import order as _duck_order
from . import properties as _duck_properties
from .footers import _day_partitioned as _day_partitioned
from .footers import _Footers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParquetDataset:
    """A hive-partitioned Parquet dataset folder (``day=YYYY-MM-DD/*.parquet``)."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def files(self) -> list[Path]:
        """The committed Parquet files (never a part an interrupted export left behind)."""
        from ....calllog.parquet import dataset_files

        return dataset_files(self.path)


#: DuckDB's memory limit for an analysis connection (it spills to a temporary folder beyond it).
MEMORY_LIMIT = "512MB"


@_cache.cached_operations
class DuckSource(Engine):
    """Rows in a Parquet dataset, queried with DuckDB; only aggregates come back."""

    name = "duckdb"

    def __init__(self, dataset: ParquetDataset, windows: tuple[Window, ...] = ()):
        #: The windows every query reads through (DuckDB pushes their filters into the scan).
        self.windows = windows
        self._con: duckdb.DuckDBPyConnection | None = None
        self._tables: set[str] = set()  # temporary tables made on the connection
        self.dataset = dataset
        self.files = dataset.files()
        if not self.files:
            raise MissingInputError(f"no Parquet files in the dataset {dataset.path}")
        self._scan: list[Path] | None = None  # the files queries read, when not all
        self._identity: tuple[str, str] | None = None
        footers = _Footers.read(self.files)
        self.file_rows = footers.rows
        #: Every file sits in a ``day=YYYY-MM-DD`` folder that holds only that UTC day's rows
        #: (checked on the footers' statistics): the ``day`` key then comes from the folder name.
        self.day_partitioned = footers.day_partitioned
        self.columns = footers.columns | ({"day"} if self.day_partitioned else frozenset())
        self.started_at_unit = footers.started_at_unit
        #: Coded columns holding values outside their categories: read through a CASE that makes
        #: those missing (as load_calls does).  Found by :meth:`check_categories` on the grouped
        #: results; the usual clean dataset never pays for the CASE.
        self.strict: set[str] = set()

    def cache_identity(self) -> str | None:
        """What this source reads (files, sizes, mtimes, windows; see :mod:`._cache`), or None
        while a query reads a batch of the files."""
        if self._scan is not None:
            return None
        from ....calllog.parquet import STATE_FILE

        reads = self.table_sql
        if self._identity is None or self._identity[0] != reads:
            self._identity = (
                reads,
                _cache.dataset_identity(reads, [*self.files, self.dataset.path / STATE_FILE]),
            )
        return self._identity[1]

    def connect(self) -> duckdb.DuckDBPyConnection:
        """This source's in-memory DuckDB connection (UTC session time zone), made on first use."""
        if self._con is None:
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET parquet_metadata_cache = true")
            # No bar in logs, pipes or reports (in Jupyter without ipywidgets DuckDB refuses the
            # setting, and shows no bar there anyway).
            with contextlib.suppress(duckdb.Error):
                con.execute("SET enable_progress_bar = false")
            # Staged selections of 100M+ rows spill to disk instead of growing the process: at
            # 100M rows the peak drops from 1.9 GiB to under 1 GiB at the same speed (bench).
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            spill = Path(tempfile.gettempdir()) / "faceid-tools-duckdb"
            con.execute(f"SET temp_directory = {_lit(str(spill))}")
            self._con = con
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
            self._tables.clear()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown there is nothing to free
            self.close()

    @contextlib.contextmanager
    def scanning(self, files: list[Path]) -> Iterator[None]:
        """Within the block, :attr:`table_sql` reads only ``files``."""
        self._scan = files
        try:
            yield
        finally:
            self._scan = None

    @property
    def table_sql(self) -> str:
        files = ", ".join(_lit(str(f)) for f in self._scan or self.files)
        hive = "true" if self.day_partitioned else "false"
        sql = f"read_parquet([{files}], hive_partitioning = {hive}, union_by_name = true)"
        for window in self.windows:
            sql = window.sql(sql)
        return sql

    @property
    def splits_by_day(self) -> bool:
        """Whether a query may read the files a batch of days at a time: not through a window,
        whose edges look calls up across the whole dataset."""
        return not self.windows

    def restrict(self, window: Window) -> DuckSource:
        """The dataset read through its windows and ``window`` (the files stay on disk)."""
        return DuckSource(self.dataset, (*self.windows, window))

    def time_bucket_sql(self, key: str) -> str:
        """SQL for the UTC epoch bucket (``minute``/``hour``/``day`` number) of ``started_at``."""
        width = TIME_KEYS[key]
        if key == "day" and self.day_partitioned:
            return "(CAST(day AS DATE) - DATE '1970-01-01')"
        if self.started_at_unit == "ns":
            return f"epoch_ns(started_at) // {width * 1_000_000_000}"
        if self.started_at_unit is not None:
            return f"epoch_us(started_at) // {width * 1_000_000}"
        return f"epoch_us(CAST(started_at AS TIMESTAMPTZ)) // {width * 1_000_000}"

    def base_sql(self, sel: Selection, keys: Sequence[str], columns: Iterable[str] = ()) -> str:
        """A SELECT of the selected rows: the key columns (time keys as epoch buckets) + ``columns``."""
        columns = [c for c in columns if c not in keys]
        needed = set(keys) | set(columns) | {"action", "outcome"}
        if sel.final_attempt:
            needed |= {"call_id", "attempt"}
        if sel.call_level:
            needed |= {"call_id", "security_level"}
        if sel.first_attempt:
            needed.add("attempt")
        needed |= {name for name, _ in sel.where}
        needed |= set(sel.not_null)
        if sel.unpivot:
            needed = (needed - {"property", "value"}) | set(sel.unpivot)
        for key in needed & set(TIME_KEYS):
            needed.discard(key)
            needed.add("day" if key == "day" and self.day_partitioned else "started_at")
        missing = needed - self.columns
        if missing:
            raise InputError(f"{self.dataset.path}: missing column(s) {sorted(missing)}")
        cols = ", ".join(self._col_sql(c) for c in sorted(needed))
        sql = f"SELECT {cols} FROM {self.table_sql}"
        conds = []
        if sel.action is not None:
            conds.append(f"action = {_lit(sel.action)}")
        if sel.first_attempt:
            conds.append("attempt = 1")
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        if sel.call_level:
            sql = (
                f"WITH r AS ({sql}) "
                "SELECT r.* REPLACE (coalesce(r.security_level, lv.lvl) AS security_level) "
                f"FROM r LEFT JOIN {self._call_levels()} lv ON r.call_id = lv.call_id"
            )
        if sel.final_attempt:
            # Retries are rare: find the calls that have one, then drop their earlier attempts.
            sql = (
                f"WITH f AS ({sql}), m AS (SELECT call_id, max(attempt) AS last FROM f "
                "WHERE attempt > 1 AND call_id IS NOT NULL GROUP BY call_id) "
                "SELECT f.* FROM f LEFT JOIN m ON f.call_id = m.call_id "
                "WHERE m.last IS NULL OR f.attempt = m.last"
            )
        if sel.unpivot:
            rest = sorted(needed - set(sel.unpivot) - set(TIME_KEYS))
            casts = ", ".join(f"CAST({c} AS DOUBLE) AS {c}" for c in sel.unpivot)
            inner = f"SELECT {', '.join(rest)}, {casts} FROM ({sql})"
            sql = f"SELECT * FROM ({inner}) UNPIVOT (value FOR property IN ({', '.join(sel.unpivot)}))"
        conds = []
        if sel.outcome is not None:
            conds.append(f"outcome = {_lit(sel.outcome)}")
        conds += [f"{name} = {_lit(value)}" for name, value in sel.where]
        conds += [self._present_sql(name) for name in sel.not_null]
        key_exprs = [f"{self.time_bucket_sql(k)} AS {k}" if k in TIME_KEYS else k for k in keys]
        select = ", ".join([*key_exprs, *columns]) or "1 AS one"
        where = (" WHERE " + " AND ".join(conds)) if conds else ""
        return f"SELECT {select} FROM ({sql}){where}"

    def _call_levels(self) -> str:
        """A temporary table of each call's level (its GenerateReflectSequence rows' highest),
        built once per source and per reading of ``security_level``; returns its name."""
        name = "_call_levels_strict" if "security_level" in self.strict else "_call_levels"
        if name not in self._tables:
            self.connect().execute(
                f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT call_id, max(security_level) AS lvl "
                f"FROM (SELECT call_id, {self._col_sql('security_level')} FROM {self.table_sql} "
                f"WHERE action = {_lit(GRS)}) WHERE security_level IS NOT NULL "
                "AND call_id IS NOT NULL GROUP BY call_id"
            )
            self._tables.add(name)
        return name

    def _col_sql(self, name: str) -> str:
        if name in self.strict:  # as load_calls: values outside the categories are missing
            return f"CASE WHEN {name} IN ({_categories_sql(name)}) THEN {name} END AS {name}"
        if name in EMPTY_IS_NULL and name not in CATEGORIES:
            return f"nullif({name}, '') AS {name}"
        return name

    def _present_sql(self, name: str) -> str:
        if name in CATEGORIES:
            return f"{name} IN ({_categories_sql(name)})"
        return f"{name} IS NOT NULL"

    def check_categories(self, frame: pd.DataFrame, keys: Sequence[str]) -> bool:
        """True (and those columns made strict) if coded keys in ``frame`` hold foreign values."""
        found = False
        for key in keys:
            if key in CATEGORIES and key not in self.strict:
                values = frame[key].astype(object)
                if (
                    not values.isna().all()
                    and not values[values.notna()].isin(CATEGORIES[key]).all()
                ):
                    self.strict.add(key)
                    found = True
        return found

    def query(self, sql: str, **tables: pd.DataFrame) -> pd.DataFrame:
        """Run ``sql`` (``{src}`` already substituted) with small DataFrames registered by name."""
        con = self.connect()
        try:
            for name, frame in tables.items():
                con.register(name, frame)
            log.debug("duckdb: %s", sql)
            try:
                return con.execute(sql).df()
            except duckdb.OutOfMemoryException:
                # Exact quantiles hold their group's values and cannot spill: lift the limit.
                log.warning("duckdb: over the %s memory limit; retrying without it", MEMORY_LIMIT)
                con.execute("RESET memory_limit")
                return con.execute(sql).df()
        finally:
            for name in tables:
                con.unregister(name)

    # -- the engine's operations -----------------------------------------------------------------

    def counts(
        self, sel: Selection, keys: Sequence[str], *, value: str | None = None
    ) -> pd.DataFrame:
        keys = list(keys)
        group = f" GROUP BY {', '.join(keys)}" if keys else ""
        sel_keys = "".join(f"{k}, " for k in keys)
        extra = f", count({value}) AS n_value" if value else ""
        while True:
            base = self.base_sql(sel, keys, [value] if value else [])
            out = self.query(f"SELECT {sel_keys}count(*) AS count{extra} FROM ({base}){group}")
            if not self.check_categories(out, keys):
                return out

    def sums(self, sel: Selection, keys: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
        keys = list(keys)
        base = self.base_sql(sel, keys, columns)
        aggs = []
        for c in columns:
            x = f"CAST({c} AS DOUBLE)"
            aggs += [f"count({x}) AS n_{c}", f"sum({x}) AS sum_{c}"]
            aggs += [f"min({x}) AS min_{c}", f"max({x}) AS max_{c}"]
        group = f" GROUP BY {', '.join(keys)}" if keys else ""
        sel_keys = "".join(f"{k}, " for k in keys)
        return self.query(f"SELECT {sel_keys}{', '.join(aggs)} FROM ({base}){group}")

    def _order_statistics(
        self,
        sel: Selection,
        keys: list[str],
        column: str,
        ranks: RankFn,
        groups: pd.DataFrame | None,
    ) -> pd.DataFrame:
        return _duck_order.order_statistics(self, sel, keys, column, ranks, groups)

    def outcome_summary(
        self, sel: Selection, ok: Selection, keys: Sequence[str], column: str, ranks: RankFn
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One scan of the files (see :mod:`._duck_summary`)."""
        keys = list(keys)
        if ok != replace(sel, outcome="ok", not_null=ok.not_null) or sel.final_attempt:
            return super().outcome_summary(sel, ok, keys, column, ranks)
        if sel.outcome is None and not sel.where and not sel.call_level and not sel.unpivot:
            done = _duck_summary.outcome_summary(self, sel, keys, column, ranks)
            if done is not None:
                return done
        return _duck_summary.staged_outcome_summary(self, sel, keys, column, ranks)

    def rank_sums(
        self, sel: Selection, keys: Sequence[str], column: str, members: pd.DataFrame
    ) -> pd.DataFrame:
        keys = list(keys)
        on = " AND ".join(f"s.{k} IS NOT DISTINCT FROM m.{k}" for k in keys)
        base = self.base_sql(sel, keys, [column])
        sql = (
            f"WITH j AS (SELECT m._pair, m._is_a, CAST(s.{column} AS DOUBLE) AS x "
            f"FROM ({base}) s JOIN _members m ON {on}), "
            # One sort per pair: rank() is the first rank of a value's ties, the cumulative
            # count (default RANGE frame, peers included) the last; t = last - first + 1.
            "r AS (SELECT _pair, _is_a, rank() OVER w AS rk, count(*) OVER w - rank() OVER w + 1 "
            "AS t FROM j WINDOW w AS (PARTITION BY _pair ORDER BY x)) "
            "SELECT _pair, sum(CASE WHEN _is_a THEN rk + (t - 1) / 2.0 ELSE 0 END) AS rank_sum_a, "
            "count(*) FILTER (WHERE _is_a) AS n_a, count(*) FILTER (WHERE NOT _is_a) AS n_b, "
            "sum(CAST(t AS DOUBLE) * t - 1) AS tie_term FROM r GROUP BY _pair"
        )
        out = self.query(sql, _members=members).set_index("_pair")
        return u_from_rank_sums(out)

    def duplicate_groups(self, sel: Selection) -> pd.DataFrame:
        base = self.base_sql(sel, ["seq_sha256"], ["call_id"])
        calls = "count(DISTINCT call_id) + count(*) FILTER (WHERE call_id IS NULL)"
        # Group 64-bit hashes first (a cheap key), then check the few candidates exactly.
        out = self.query(
            f"WITH b AS ({base}), "
            "h AS (SELECT hash(seq_sha256) AS hk FROM b GROUP BY hk HAVING count(*) > 1) "
            f"SELECT seq_sha256, count(*) AS copies, {calls} AS calls, "
            "list_sort(list(DISTINCT call_id) FILTER (WHERE call_id IS NOT NULL)) AS call_ids "
            f"FROM b WHERE hash(seq_sha256) IN (SELECT hk FROM h) GROUP BY seq_sha256 "
            f"HAVING {calls} > 1"
        )
        out["call_ids"] = [
            tuple(str(v) for v in (i if i is not None else [])) for i in out["call_ids"]
        ]
        return out

    def first_seen(self, sel: Selection, keys: Sequence[str]) -> pd.DataFrame:
        keys = list(keys)
        order = [c for c in FIRST_SEEN_ORDER if c not in keys]
        base = self.base_sql(sel, keys, ["seq_sha256", *order])
        by = ", ".join(f"{c} NULLS LAST" for c in FIRST_SEEN_ORDER)
        sel_keys = "".join(f"{k}, " for k in keys)
        group = f" GROUP BY {', '.join(keys)}" if keys else ""
        once = (  # a call's own second download of the same bytes counts once
            f"SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY seq_sha256, call_id "
            f"ORDER BY {by}) AS _rc FROM ({base})) WHERE call_id IS NULL OR _rc = 1"
        )
        return self.query(
            f"WITH r AS (SELECT {sel_keys}row_number() OVER (PARTITION BY seq_sha256 "
            f"ORDER BY {by}) AS _rn FROM ({once})) "
            f"SELECT {sel_keys}count(*) AS n, count(*) FILTER (WHERE _rn > 1) AS repeats "
            f"FROM r{group}"
        )

    def binned_counts(
        self,
        sel: Selection,
        keys: Sequence[str],
        column: str,
        start: float,
        width: float,
        nbins: int,
    ) -> pd.DataFrame:
        keys = list(keys)
        base = self.base_sql(sel, keys, [column])
        bucket = (
            f"CAST(least(floor((CAST({column} AS DOUBLE) - {start!r}) / {width!r}), {nbins - 1}) "
            "AS BIGINT)"
        )
        sel_keys = "".join(f"{k}, " for k in keys)
        return self.query(
            f"SELECT {sel_keys}{bucket} AS _bin, count(*) AS count FROM ({base}) "
            f"GROUP BY {sel_keys}_bin"
        )

    def property_stats(
        self, sel: Selection, keys: Sequence[str], properties: Sequence[str], ranks: RankFn
    ) -> pd.DataFrame:
        """Two scans (see :func:`._duck_properties.property_stats`)."""
        return _duck_properties.property_stats(self, sel, list(keys), properties, ranks)


def _categories_sql(name: str) -> str:
    return ", ".join(_lit(c) for c in CATEGORIES[name])


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating):
        return repr(value.item() if isinstance(value, np.generic) else value)
    return "'" + str(value).replace("'", "''") + "'"
