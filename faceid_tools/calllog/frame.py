"""Call-log columns in pandas with one set of types, whatever the source.

:func:`apply_types` is the single place where pandas column types are decided (``load_calls`` and
``load_parquet`` both end here): ``started_at`` tz-aware UTC; ``region``, ``security_level``,
``action``, ``outcome`` categoricals with exactly the categories of
:data:`~faceid_tools.calllog.schema.CATEGORIES` (values outside them become missing); integer
columns nullable ``Int64``; ``simulated`` and ``seq_md5_ok`` nullable ``boolean``; text columns
nullable ``string``; real columns ``float64``.
"""

from __future__ import annotations

import pandas as pd

from .schema import CATEGORIES, COLUMN_NAMES
from .types import KINDS

__all__ = ["apply_types", "empty_frame"]


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


_UTC_US = pd.DatetimeTZDtype("us", "UTC")


def _as_utc(series: pd.Series) -> pd.Series:
    """Tz-aware UTC at microsecond resolution (what the log stores), whatever the input."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        out = series.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(series.dtype):
        out = series.dt.tz_localize("UTC")
    else:
        out = pd.to_datetime(series, utc=True, format="ISO8601")
    return out if out.dtype == _UTC_US else out.astype(_UTC_US)


def apply_types(df: pd.DataFrame) -> pd.DataFrame:
    """Give the call-log columns of ``df`` their types (in place where possible); return ``df``."""
    for name in df.columns:
        kind = KINDS.get(name)
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


def empty_frame(names: list[str] | None = None) -> pd.DataFrame:
    """A typed call-log DataFrame with no rows (all columns, or ``names``)."""
    names = list(COLUMN_NAMES) if names is None else names
    return apply_types(pd.DataFrame({name: pd.Series([], dtype="object") for name in names}))
