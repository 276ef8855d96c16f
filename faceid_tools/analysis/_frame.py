"""The pandas path: selections over a call-log DataFrame."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..calllog.schema import CATEGORIES
from ._selection import EMPTY_IS_NULL, EPOCH, GRS, TIME_KEYS, Selection


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
                out[key] = (df["started_at"] - EPOCH) // pd.Timedelta(seconds=TIME_KEYS[key])
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
    if name in EMPTY_IS_NULL:
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
