"""Reading the call log into pandas with one set of types, whatever the source.

:func:`apply_types` is the single place where column types are decided (the Parquet loader reuses
it): ``started_at`` tz-aware UTC; ``region``, ``security_level``, ``action``, ``outcome``
categoricals with exactly the categories of :data:`~faceid_tools.calllog.schema.CATEGORIES` (values
outside them become missing); integer columns nullable ``Int64``; ``simulated`` and ``seq_md5_ok``
nullable ``boolean``; text columns nullable ``string``; real columns ``float64``.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from pathlib import Path

import pandas as pd

from .schema import CATEGORIES, COLUMN_NAMES, COLUMNS
from .store import CallLog

__all__ = ["apply_types", "empty_frame", "load_calls"]

_KINDS = {c.name: c.kind for c in COLUMNS}


def _as_category(series: pd.Series, categories: tuple[str, ...]) -> pd.Series:
    if isinstance(series.dtype, pd.CategoricalDtype) and tuple(series.cat.categories) == categories:
        return series
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("Int64").astype("string")  # 4.0 -> "4"
    values = series.astype("object")
    values = values.where(values.isin(categories))  # anything outside the categories is missing
    return pd.Series(
        pd.Categorical(values, categories=list(categories)), index=series.index, name=series.name
    )


def _as_utc(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(series.dtype):
        return series.dt.tz_localize("UTC")
    return pd.to_datetime(series, utc=True, format="ISO8601")


def apply_types(df: pd.DataFrame) -> pd.DataFrame:
    """Give the call-log columns of ``df`` their types (in place where possible); return ``df``."""
    for name in df.columns:
        kind = _KINDS.get(name)
        if kind is None:
            continue
        col = df[name]
        if kind == "category":
            df[name] = _as_category(col, CATEGORIES[name])
        elif kind == "time":
            df[name] = _as_utc(col)
        elif kind == "int":
            df[name] = pd.to_numeric(col, errors="coerce").astype("Int64")
        elif kind == "float":
            df[name] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif kind == "bool":
            df[name] = pd.to_numeric(col, errors="coerce").astype("Int64").astype("boolean")
        else:  # str
            df[name] = col.astype("string")
    return df


def empty_frame() -> pd.DataFrame:
    """A typed call-log DataFrame with no rows."""
    return apply_types(pd.DataFrame({name: pd.Series([], dtype="object") for name in COLUMN_NAMES}))


def _read_sqlite(conn: sqlite3.Connection, campaign_id: str | None) -> pd.DataFrame:
    tables = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='calls'"
    ).fetchone()
    if tables is None:
        return empty_frame()
    sql = "SELECT * FROM calls"
    params: tuple[str, ...] = ()
    if campaign_id is not None:
        sql += " WHERE campaign_id = ?"
        params = (campaign_id,)
    sql += " ORDER BY id"
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    df = pd.DataFrame.from_records(cursor.fetchall(), columns=names, coerce_float=False)
    if df.empty:
        df = pd.DataFrame({name: pd.Series([], dtype="object") for name in names})
    return apply_types(df)


def load_calls(
    source: str | os.PathLike[str] | CallLog, *, campaign_id: str | None = None
) -> pd.DataFrame:
    """The call log as a DataFrame, one row per HTTP exchange, in insert order.

    ``source``: an SQLite file, a :class:`CallLog`, or a Parquet dataset folder (read by
    :mod:`faceid_tools.calllog.parquet`).  ``campaign_id`` keeps one campaign's rows.
    """
    if isinstance(source, CallLog):
        with source.reading() as conn:
            return _read_sqlite(conn, campaign_id)
    path = Path(source)
    if path.is_dir():
        parquet = importlib.import_module("faceid_tools.calllog.parquet")
        df = parquet.load_parquet(path)
        if campaign_id is not None:
            df = df[df["campaign_id"] == campaign_id].reset_index(drop=True)
        return df
    if not path.is_file():
        raise FileNotFoundError(f"no call log at {path}")
    conn = sqlite3.connect(str(path), timeout=60.0)
    try:
        return _read_sqlite(conn, campaign_id)
    finally:
        conn.close()
