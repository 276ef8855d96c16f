"""Input handling: what ``data`` may be, which rows a function looks at, and how groups are keyed.

``data`` is one of

* a pandas DataFrame shaped like :func:`faceid_tools.load_calls` returns it → the pandas path;
* a path to a SQLite call log (or a ``CallLog``) → loaded with ``load_calls``, then the pandas path;
* a path to a Parquet dataset folder (hive ``day=YYYY-MM-DD/`` partitions, as ``faceid-tools
  export`` writes it) or a :class:`ParquetDataset` → the DuckDB path: aggregates are computed in
  SQL over ``read_parquet`` of the dataset's committed files, and only they reach pandas.

A DataFrame that ``load_calls`` returned for a Parquet folder takes the pandas path (it may have
been filtered since); the results are the same, only slower to get at scale.  Values of the coded
columns outside the schema's categories count as missing on both paths, as ``load_calls`` has it.

Group keys are call-log column names (``region``, ``security_level``, ``endpoint``, ``campaign_id``,
``error_code``, ...) or the derived ``hour`` and ``day`` (UTC, from ``started_at``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..calllog.schema import CATEGORIES, COLUMN_NAMES

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

GRS = "GenerateReflectSequence"
DOWNLOAD = "DownloadSequence"
#: Derived group keys: name -> bucket width in seconds (UTC, from ``started_at``).
TIME_KEYS: dict[str, int] = {"hour": 3600, "day": 86400}
Attempts = Literal["all", "first"]
Per = Literal["attempt", "call"]

_EPOCH = pd.Timestamp(0, tz="UTC")
#: String columns whose empty value means "none" (SQLite and Parquet may hold '' or NULL).
_EMPTY_IS_NULL = ("region", "security_level", "action", "outcome", "error_code")


@dataclass(frozen=True)
class ParquetDataset:
    """A hive-partitioned Parquet dataset folder (``day=YYYY-MM-DD/*.parquet``)."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def files(self) -> list[Path]:
        """The committed Parquet files (never a part an interrupted export left behind)."""
        from ..calllog.parquet import dataset_files

        return dataset_files(self.path)


@dataclass(frozen=True)
class Selection:
    """Which rows a computation uses.

    ``action``/``outcome`` filter on equality (None = any); ``first_attempt`` keeps ``attempt == 1``;
    ``final_attempt`` reduces every logical call (``call_id``) to its last attempt before the
    outcome filter; ``call_level`` fills a row's empty ``security_level`` from the
    GenerateReflectSequence row of the same call (sequence downloads carry no level of their own);
    ``not_null`` drops rows where those columns are null; ``unpivot`` turns the named numeric
    columns into rows (``property``, ``value`` as DOUBLE; nulls dropped) after everything else.
    """

    action: str | None = GRS
    outcome: str | None = None
    first_attempt: bool = False
    final_attempt: bool = False
    call_level: bool = False
    not_null: tuple[str, ...] = ()
    where: tuple[tuple[str, Any], ...] = field(default=())
    unpivot: tuple[str, ...] = ()


def check_keys(by: str | Sequence[str] | None) -> tuple[str, ...]:
    """Normalise ``by`` to a tuple of valid group keys."""
    if by is None:
        return ()
    keys = (by,) if isinstance(by, str) else tuple(by)
    for key in keys:
        if key not in COLUMN_NAMES and key not in TIME_KEYS:
            valid = ", ".join([*COLUMN_NAMES, *TIME_KEYS])
            raise ValueError(
                f"unknown group key {key!r}; use a call-log column or hour/day: {valid}"
            )
    if len(set(keys)) != len(keys):
        raise ValueError(f"group keys repeat: {keys}")
    return keys


# -- sources -----------------------------------------------------------------------------------


class PandasSource:
    """Rows held in a pandas DataFrame."""

    def __init__(self, frame: pd.DataFrame):
        missing = {"action", "outcome"} - set(frame.columns)
        if missing:
            raise ValueError(f"not a call log: missing column(s) {sorted(missing)}")
        self.frame = frame
        self._level_of: pd.Series | None = None

    def _levels(self) -> pd.Series:
        """Each call's level, computed once per source (see :func:`_call_levels`)."""
        if self._level_of is None:
            self._level_of = _call_levels(self.frame[["action", "call_id", "security_level"]])
        return self._level_of

    def select(
        self, sel: Selection, keys: Sequence[str], columns: Iterable[str] = ()
    ) -> pd.DataFrame:
        """The selected rows with the key columns (time keys as epoch buckets) and ``columns``."""
        df = self.frame[_needed_columns(sel, keys, columns, self.frame.columns)]
        mask = np.ones(len(df), dtype=bool)
        if sel.action is not None:
            mask &= _eq(_col(df, "action"), sel.action)
        if sel.first_attempt:
            mask &= (df["attempt"] == 1).to_numpy(dtype=bool, na_value=False)
        if not mask.all():
            df = df[mask]
        if sel.call_level:
            df = _with_call_level(df, self._levels)
        if sel.final_attempt:
            df = _final_attempts(df)
        mask = np.ones(len(df), dtype=bool)
        if sel.outcome is not None:
            mask &= _eq(_col(df, "outcome"), sel.outcome)
        for name, value in sel.where:
            mask &= _eq(_col(df, name), value)
        if sel.unpivot:
            df = _unpivot(df[mask], sel.unpivot)
            mask = np.ones(len(df), dtype=bool)
        for name in sel.not_null:
            mask &= _col(df, name).notna().to_numpy(dtype=bool)
        if not mask.all():
            df = df[mask]
        out = pd.DataFrame(index=df.index)
        for key in keys:
            if key in TIME_KEYS:
                out[key] = (df["started_at"] - _EPOCH) // pd.Timedelta(seconds=TIME_KEYS[key])
            else:
                out[key] = _col(df, key)
        for name in columns:
            if name not in out.columns:
                out[name] = df[name]
        return out


def _needed_columns(
    sel: Selection, keys: Sequence[str], columns: Iterable[str], present: Iterable[str]
) -> list[str]:
    """The frame's columns a selection reads (so filters copy no more than that)."""
    needed = set(keys) | set(columns) | {"action", "outcome"}
    needed |= {name for name, _ in sel.where} | set(sel.not_null)
    if sel.first_attempt or sel.final_attempt:
        needed.add("attempt")
    if sel.final_attempt or sel.call_level:
        needed.add("call_id")
    if sel.call_level:
        needed.add("security_level")
    if sel.unpivot:
        needed = (needed - {"property", "value"}) | set(sel.unpivot)
    if needed & set(TIME_KEYS):
        needed = (needed - set(TIME_KEYS)) | {"started_at"}
    return [c for c in present if c in needed]


def as_float(values: pd.Series) -> pd.Series:
    """A column as float64, missing as NaN (nullable integers and booleans without a detour)."""
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        array = values.to_numpy(dtype="float64", na_value=np.nan)
        return pd.Series(array, index=values.index, name=values.name)
    return pd.to_numeric(values.astype(object), errors="coerce").astype("float64")


def _unpivot(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Stack ``columns`` into ``property``/``value`` rows (other columns repeated; nulls dropped)."""
    parts = []
    rest = [c for c in df.columns if c not in columns]
    for c in columns:
        value = as_float(df[c])
        part = df[rest].assign(property=c, value=value)
        parts.append(part[part["value"].notna()])
    if not parts:
        return df.iloc[0:0].assign(property=pd.Series(dtype=object), value=pd.Series(dtype=float))
    return pd.concat(parts)


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    """A column as the analysis reads it.

    Coded columns (region, security_level, action, outcome) become categoricals with the schema's
    categories, anything else (foreign values, '') missing — as ``load_calls`` has it; '' reads as
    missing in ``error_code``; other columns are returned as they are.
    """
    s = df[name]
    if name in CATEGORIES:
        allowed = CATEGORIES[name]
        if isinstance(s.dtype, pd.CategoricalDtype):
            keep = [c for c in s.cat.categories if c in allowed]
            return s if len(keep) == len(s.cat.categories) else s.cat.set_categories(keep)
        plain = s.astype(object)
        plain = plain.where(plain.isin(allowed).to_numpy(dtype=bool), None)
        return pd.Series(pd.Categorical(plain, categories=list(allowed)), index=s.index, name=name)
    if name in _EMPTY_IS_NULL:
        empty = (s == "").to_numpy(dtype=bool, na_value=False)
        if empty.any():
            s = s.mask(empty)
    return s


def _eq(s: pd.Series, value: Any) -> np.ndarray:
    """``s == value`` as a plain boolean mask (missing is False)."""
    return (s == value).to_numpy(dtype=bool, na_value=False)


def _final_attempts(df: pd.DataFrame) -> pd.DataFrame:
    """The rows at their call's highest ``attempt`` (one per call when attempts are unique).

    Rows without a ``call_id`` count as calls of their own.
    """
    if df.empty:
        return df
    last = df.groupby("call_id", sort=False, observed=True)["attempt"].transform("max")
    return df[df["call_id"].isna() | (df["attempt"] == last)]


def _objects(values: pd.Series) -> np.ndarray:
    """A column as a numpy object array, missing values as None."""
    array = values.to_numpy(dtype=object)
    missing = pd.isna(array)
    if missing.any():
        array = array.copy()
        array[missing] = None
    return array


def _call_levels(whole: pd.DataFrame) -> pd.Series:
    """Each call's level: the highest its GenerateReflectSequence rows carry (they agree)."""
    grs = _eq(_col(whole, "action"), GRS)
    levels = pd.DataFrame(
        {
            "call_id": _objects(whole["call_id"])[grs],
            "lvl": _col(whole, "security_level").astype(object).to_numpy()[grs],
        }
    ).dropna()
    return (
        levels.sort_values("lvl", kind="stable")
        .drop_duplicates("call_id", keep="last")
        .set_index("call_id")["lvl"]
    )


def _with_call_level(df: pd.DataFrame, level_of: Callable[[], pd.Series]) -> pd.DataFrame:
    """Fill an empty ``security_level`` from the level of the row's call (``level_of()``)."""
    own = _col(df, "security_level").astype(object).to_numpy(copy=True)
    missing = pd.isna(own)
    if missing.any():
        ids = pd.Series(_objects(df["call_id"])[missing])
        own[missing] = ids.map(level_of()).to_numpy(dtype=object)
    df = df.copy()
    df["security_level"] = pd.Series(own, index=df.index, dtype=object)
    return df


class DuckSource:
    """Rows in a Parquet dataset, queried with DuckDB; only aggregates come back."""

    def __init__(self, dataset: ParquetDataset):
        self._con: duckdb.DuckDBPyConnection | None = None
        self._tables: set[str] = set()  # temporary tables made on the connection
        self.dataset = dataset
        self.files = dataset.files()
        if not self.files:
            raise FileNotFoundError(f"no Parquet files in the dataset {dataset.path}")
        footers = _Footers.read(self.files)
        #: Every file sits in a ``day=YYYY-MM-DD`` folder that holds only that UTC day's rows
        #: (checked on the footers' statistics): the ``day`` key then comes from the folder name.
        self.day_partitioned = footers.day_partitioned
        self.columns = footers.columns | ({"day"} if self.day_partitioned else frozenset())
        self.started_at_unit = footers.started_at_unit
        #: Coded columns holding values outside their categories: read through a CASE that makes
        #: those missing (as load_calls does).  Found by :meth:`check_categories` on the grouped
        #: results; the usual clean dataset never pays for the CASE.
        self.strict: set[str] = set()

    def connect(self) -> duckdb.DuckDBPyConnection:
        """This source's in-memory DuckDB connection (UTC session time zone), made on first use."""
        if self._con is None:
            import duckdb

            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET parquet_metadata_cache = true")
            self._con = con
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
            self._tables.clear()

    def __del__(self) -> None:
        self.close()

    @property
    def table_sql(self) -> str:
        files = ", ".join(_lit(str(f)) for f in self.files)
        hive = "true" if self.day_partitioned else "false"
        return f"read_parquet([{files}], hive_partitioning = {hive}, union_by_name = true)"

    def time_bucket_sql(self, key: str) -> str:
        """SQL for the UTC epoch bucket (``hour``/``day`` number) of ``started_at``."""
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
            raise ValueError(f"{self.dataset.path}: missing column(s) {sorted(missing)}")
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
        if name in _EMPTY_IS_NULL and name not in CATEGORIES:
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
            return con.execute(sql).df()
        finally:
            for name in tables:
                con.unregister(name)


_DAY_FOLDER = re.compile(r"day=(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class _Footers:
    """What the Parquet footers tell: the columns, ``started_at``'s time unit (None: not a
    timestamp), and whether each file is in a ``day=YYYY-MM-DD`` folder holding only rows whose
    ``started_at`` (by the row groups' min/max statistics) falls in that UTC day."""

    columns: frozenset[str]
    started_at_unit: str | None
    day_partitioned: bool

    @classmethod
    def read(cls, files: Sequence[Path]) -> _Footers:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns: set[str] = set()
        unit: str | None = None
        partitioned = True
        one_day = pd.Timedelta(days=1)
        for f in files:
            meta = pq.ParquetFile(f).metadata
            schema = meta.schema.to_arrow_schema()
            columns |= set(schema.names)
            if "started_at" not in schema.names:
                partitioned = False
                continue
            kind = schema.field("started_at").type
            unit = kind.unit if pa.types.is_timestamp(kind) else unit
            m = _DAY_FOLDER.fullmatch(f.parent.name)
            if m is None or not pa.types.is_timestamp(kind) or kind.tz is None:
                partitioned = False
            if not partitioned or m is None:
                continue
            start = pd.Timestamp(m.group(1), tz="UTC")
            column = meta.schema.names.index("started_at")
            for i in range(meta.num_row_groups):
                stats = meta.row_group(i).column(column).statistics
                if stats is None or not stats.has_min_max or stats.null_count:
                    partitioned = False
                    break
                lo, hi = pd.Timestamp(stats.min), pd.Timestamp(stats.max)
                if lo.tzinfo is None or not (start <= lo and hi < start + one_day):
                    partitioned = False
                    break
        return cls(frozenset(columns), unit, partitioned and bool(files))


def _day_partitioned(files: Sequence[Path]) -> bool:
    """True if every file's ``day=`` folder holds only that UTC day's rows (see :class:`_Footers`)."""
    return _Footers.read(files).day_partitioned


def _categories_sql(name: str) -> str:
    return ", ".join(_lit(c) for c in CATEGORIES[name])


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating):
        return repr(value.item() if isinstance(value, np.generic) else value)
    return "'" + str(value).replace("'", "''") + "'"


Source = PandasSource | DuckSource


def source(data: Any) -> Source:
    """Resolve ``data`` once, for many analyses: pass the result as ``data`` to any function.

    A SQLite log is loaded into pandas once; a Parquet dataset is opened for DuckDB (its files
    listed and described once), so every later call pushes its aggregates down.  Notebooks that
    may be given a large dataset should use ``source(DATA)``, not ``load_calls(DATA)``: a loaded
    DataFrame takes the pandas path (same numbers, but 10M rows no longer fit comfortably).
    """
    return resolve(data)


def resolve(data: Any) -> Source:
    """Turn ``data`` into a source; see the module docstring for what is accepted."""
    if isinstance(data, PandasSource | DuckSource):
        return data
    if isinstance(data, ParquetDataset):
        return DuckSource(data)
    if isinstance(data, pd.DataFrame):
        return PandasSource(data)
    path: Path | None = None
    if isinstance(data, str | os.PathLike):
        path = Path(data)
    elif hasattr(data, "path") and isinstance(data.path, str | os.PathLike):
        path = Path(data.path)  # a CallLog
    if path is None:
        raise TypeError(
            "data must be a call-log DataFrame, a SQLite log path or a Parquet dataset folder, "
            f"got {type(data).__name__}"
        )
    if _is_parquet_dataset(path):
        return DuckSource(ParquetDataset(path))
    if path.is_file():
        from ..calllog.load import load_calls

        return PandasSource(load_calls(path))
    raise FileNotFoundError(f"no call log at {path} (expected a SQLite file or a Parquet folder)")


def _is_parquet_dataset(path: Path) -> bool:
    from ..calllog.parquet import is_parquet_dataset

    return is_parquet_dataset(path)


# -- result shaping ----------------------------------------------------------------------------


def finish_keys(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Give key columns the same dtypes on both paths and sort the rows by them."""
    frame = frame.copy()
    for key in keys:
        values = frame[key]
        if key in TIME_KEYS:
            if not isinstance(values.dtype, pd.DatetimeTZDtype):
                seconds = pd.to_numeric(values.astype(object), errors="coerce") * TIME_KEYS[key]
                values = pd.to_datetime(seconds, unit="s", utc=True)
            frame[key] = values.astype("datetime64[ns, UTC]")
        elif key in CATEGORIES:
            plain = values.astype(object).where(values.notna(), None)
            seen = {v for v in plain if v is not None}
            cats = [*CATEGORIES[key], *sorted(seen - set(CATEGORIES[key]))]
            frame[key] = pd.Categorical(plain, categories=cats)
        else:
            frame[key] = _plain_values(values)
    if keys:
        frame = frame.sort_values(list(keys), kind="stable", na_position="last")
    return frame.reset_index(drop=True)


def _plain_values(values: pd.Series) -> pd.Series:
    """Strings as pandas' default string dtype, numbers as int64/float64 — on both paths."""
    obj = values.astype(object).where(values.notna(), None)
    non_null = [v for v in obj if v is not None]
    if non_null and all(isinstance(v, int | np.integer) for v in non_null):
        return obj.astype("float64" if len(non_null) < len(obj) else "int64")
    if non_null and all(isinstance(v, int | float | np.number) for v in non_null):
        return obj.astype("float64")
    return pd.Series(list(obj), index=values.index, dtype="str")


def empty_result(columns: Sequence[str], keys: Sequence[str]) -> pd.DataFrame:
    """A result with no rows and the given columns."""
    return finish_keys(pd.DataFrame({c: pd.Series([], dtype=object) for c in columns}), keys)


def merge_null_safe(
    left: pd.DataFrame, right: pd.DataFrame, keys: Sequence[str], how: str = "left"
) -> pd.DataFrame:
    """Merge on ``keys`` with missing matching missing (as SQL's IS NOT DISTINCT FROM)."""
    keys = list(keys)
    if not keys:
        return left.merge(right, how="cross")
    sentinel = "\x00null"
    lk, rk = left.copy(), right.copy()
    for k in keys:
        lk[k] = lk[k].astype(object).where(lk[k].notna(), sentinel)
        rk[k] = rk[k].astype(object).where(rk[k].notna(), sentinel)
    merged = lk.merge(rk, on=keys, how=how)  # type: ignore[arg-type]
    for k in keys:
        merged[k] = merged[k].where(merged[k] != sentinel, None)
    return merged


def sort_values_of(key: str, values: Iterable[Any]) -> list[Any]:
    """Distinct non-missing values of a key in display order (schema order for coded columns)."""
    distinct = {v for v in values if v is not None and v == v}
    if key in CATEGORIES:
        fixed = [c for c in CATEGORIES[key] if c in distinct]
        return fixed + sorted(distinct - set(fixed), key=str)
    return sorted(distinct, key=lambda v: (str(type(v)), v))
