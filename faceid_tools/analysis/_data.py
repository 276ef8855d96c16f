"""Input handling: what ``data`` may be, and results shaped alike on both paths.

The pieces live in :mod:`._selection` (which rows; group keys), :mod:`._frame` (the pandas path)
and :mod:`._duck` (the DuckDB path); this module resolves ``data`` to one of them and re-exports
the names the analyses use.

``data`` is one of

* a pandas DataFrame shaped like :func:`faceid_tools.load_calls` returns it → the pandas path;
* a path to a SQLite call log (or a ``CallLog``) → loaded with ``load_calls``, then the pandas path;
* a path to a Parquet dataset folder (hive ``day=YYYY-MM-DD/`` partitions, as ``faceid-tools
  export`` writes it) or a :class:`ParquetDataset` → the DuckDB path: aggregates are computed in
  SQL over ``read_parquet`` of the dataset's committed files, and only they reach pandas;
* a ``pyspark.sql.DataFrame`` with the call-log columns (e.g. ``spark.read.parquet(folder)``) →
  the Spark path: aggregates computed in Spark, only they reach pandas (pyspark is imported only
  then; install ``faceid-tools[spark]``).

Whatever the engine, the results are the same (see :mod:`._engine`).

A DataFrame that ``load_calls`` returned for a Parquet folder takes the pandas path (it may have
been filtered since); the results are the same, only slower to get at scale — pass the folder, or
``source(folder)``, to push down.  Values of the coded columns outside the schema's categories
count as missing on both paths, as ``load_calls`` has it.

Group keys are call-log column names (``region``, ``security_level``, ``endpoint``, ``campaign_id``,
``error_code``, ...) or the derived ``minute``, ``hour`` and ``day`` (UTC, from ``started_at``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..calllog.conventions import missing_name
from ..calllog.schema import CATEGORIES
from ..errors import MissingInputError
from ._inputs import unsupported
from ._selection import (
    DOWNLOAD,
    GRS,
    TIME_KEYS,
    Attempts,
    Per,
    Selection,
    Window,
    check_keys,
    merge_null_safe,
)
from .engines.base import Engine
from .engines.duckdb.source import DuckSource, ParquetDataset
from .engines.pandas import PandasSource, as_float

log = logging.getLogger(__name__)

__all__ = [
    "DOWNLOAD",
    "GRS",
    "TIME_KEYS",
    "Attempts",
    "DuckSource",
    "Engine",
    "PandasSource",
    "ParquetDataset",
    "Per",
    "Selection",
    "Source",
    "Window",
    "as_float",
    "check_keys",
    "finish_keys",
    "is_missing",
    "merge_null_safe",
    "missing_name",
    "resolve",
    "restrict",
    "sort_values_of",
    "source",
    "value_name",
]

Source = Engine


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
    if isinstance(data, Engine):
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
        if _is_spark_frame(data):
            from .engines.spark import SparkSource

            return SparkSource(data)
        raise unsupported(data)
    if _is_parquet_dataset(path):
        return DuckSource(ParquetDataset(path))
    if path.is_file():
        from ..calllog.load import load_calls

        return PandasSource(load_calls(path))
    raise MissingInputError(f"no call log at {path} (expected a SQLite file or a Parquet folder)")


def restrict(data: Any, window: Window) -> Source:
    """``data`` reduced to the rows ``window`` keeps, as a source any analysis accepts.

    Each engine filters where its rows are (:meth:`Engine.restrict`): a DataFrame is filtered
    (calls placed by their first row exactly); a Parquet dataset stays on disk and every query
    reads through the window's filter (see :meth:`Window.sql`); Spark data is not windowed.
    """
    return resolve(data).restrict(window)


def _is_spark_frame(data: Any) -> bool:
    """A pyspark DataFrame (classic or Spark Connect), told without importing pyspark."""
    kind = type(data)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pyspark.sql")


def _is_parquet_dataset(path: Path) -> bool:
    from ..calllog.parquet import is_parquet_dataset

    return is_parquet_dataset(path)


# -- result shaping ----------------------------------------------------------------------------


def finish_keys(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Give key columns the same dtypes on every path and sort the rows by them.

    A missing value of a text or coded key becomes the key's :func:`missing_name` (``"no
    campaign"``), a group like any other, sorted last; numeric keys keep NaN.
    """
    frame = frame.copy()
    for key in keys:
        values = frame[key]
        if key in TIME_KEYS:
            if not isinstance(values.dtype, pd.DatetimeTZDtype):
                seconds = pd.to_numeric(values.astype(object), errors="coerce") * TIME_KEYS[key]
                values = pd.to_datetime(seconds, unit="s", utc=True)
            frame[key] = values.astype("datetime64[ns, UTC]")
        elif key in CATEGORIES:
            named = [value_name(key, v) for v in values.astype(object)]
            cats = sort_values_of(key, [*CATEGORIES[key], *named], missing=True)
            frame[key] = pd.Categorical(named, categories=cats)
        else:
            frame[key] = _plain_values(key, values)
    if keys:
        frame = frame.sort_values(list(keys), kind="stable", na_position="last", key=_named_last)
    return frame.reset_index(drop=True)


def _named_last(values: pd.Series) -> pd.Series:
    """Sort key of a finished key column: a named missing value after every other value."""
    if isinstance(values.dtype, pd.CategoricalDtype) or values.dtype.kind in "iufmM":
        return values
    name = missing_name(str(values.name))
    return pd.Series(
        [(v == name, v) for v in values.astype(object)], index=values.index, dtype=object
    )


def _plain_values(key: str, values: pd.Series) -> pd.Series:
    """Strings as pandas' default string dtype (missing ones named), numbers as int64/float64
    — on every path."""
    obj = values.astype(object).where(values.notna(), None)
    non_null = [v for v in obj if v is not None]
    if non_null and all(isinstance(v, int | np.integer) for v in non_null):
        return obj.astype("float64" if len(non_null) < len(obj) else "int64")
    if non_null and all(isinstance(v, int | float | np.number) for v in non_null):
        return obj.astype("float64")
    return pd.Series([value_name(key, v) for v in obj], index=values.index, dtype="str")


def is_missing(value: Any) -> bool:
    """Whether a key's value is missing: None, NaN, ``pd.NA``, ``NaT`` or an empty string."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return isinstance(value, str) and value == ""


def value_name(key: str, value: Any) -> str:
    """``value`` as text, or :func:`missing_name` of ``key`` when it is missing."""
    return missing_name(key) if is_missing(value) else str(value)


def sort_values_of(key: str, values: Iterable[Any], *, missing: bool = False) -> list[Any]:
    """Distinct non-missing values of a key in display order (schema order for coded columns);
    with ``missing``, the key's :func:`missing_name` last when a value is missing (or already
    bears that name, as in a result of :func:`finish_keys`)."""
    name = missing_name(key)
    distinct: set[Any] = set()
    absent = False
    for v in values:
        if is_missing(v) or (isinstance(v, str) and v == name):
            absent = True
        else:
            distinct.add(v)
    tail = [name] if missing and absent else []
    if key in CATEGORIES:
        fixed = [c for c in CATEGORIES[key] if c in distinct]
        return fixed + sorted(distinct - set(fixed), key=str) + tail
    return sorted(distinct, key=lambda v: (str(type(v)), v)) + tail
