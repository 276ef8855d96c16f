"""The pandas engine: the operations of :class:`._engine.Engine` over a call-log DataFrame."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...calllog.schema import CATEGORIES
from .._inputs import check_pandas_frame
from .._selection import EMPTY_IS_NULL, EPOCH, GRS, TIME_KEYS, Selection, Window, columns_read
from .base import FIRST_SEEN_ORDER, Engine, RankFn


class PandasSource(Engine):
    """Rows held in a pandas DataFrame."""

    name = "pandas"

    def __init__(self, frame: pd.DataFrame):
        check_pandas_frame(frame)
        self.frame = frame
        self._level_of: pd.Series | None = None

    def restrict(self, window: Window) -> PandasSource:
        """The rows ``window`` keeps (calls placed by their first row exactly)."""
        return PandasSource(self.frame[window.frame_mask(self.frame)])

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

    # -- the engine's operations -----------------------------------------------------------------

    def counts(
        self, sel: Selection, keys: Sequence[str], *, value: str | None = None
    ) -> pd.DataFrame:
        keys = list(keys)
        df = self.select(sel, keys, [value] if value else [])
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

    def sums(self, sel: Selection, keys: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
        keys = list(keys)
        df = self.select(sel, keys, columns)
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

    def _order_statistics(
        self,
        sel: Selection,
        keys: list[str],
        column: str,
        ranks: RankFn,
        groups: pd.DataFrame | None,
    ) -> pd.DataFrame:
        df = self.select(sel, keys, [column])
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

    def rank_sums(
        self, sel: Selection, keys: Sequence[str], column: str, members: pd.DataFrame
    ) -> pd.DataFrame:
        keys = list(keys)
        df = self.select(sel, keys, [column])
        x = as_float(df[column])
        samples: dict[tuple[Any, ...], np.ndarray] = {}
        for key, block in x.groupby([df[k] for k in keys], dropna=False, observed=True):
            samples[key if isinstance(key, tuple) else (key,)] = block.to_numpy()
        empty = np.array([], dtype=float)
        sides: dict[int, dict[bool, np.ndarray]] = {}
        for rec in members.to_dict("records"):
            key = tuple(rec[k] for k in keys)
            sides.setdefault(int(rec["_pair"]), {})[bool(rec["_is_a"])] = samples.get(key, empty)
        rows = []
        for pair, side in sides.items():
            xa, xb = side.get(True, empty), side.get(False, empty)
            u1, tie_term = u_statistic(xa, xb)
            rows.append(
                {
                    "_pair": pair,
                    "u_statistic": u1,
                    "n_a": len(xa),
                    "n_b": len(xb),
                    "tie_term": tie_term,
                }
            )
        return pd.DataFrame(rows).set_index("_pair")

    def duplicate_groups(self, sel: Selection) -> pd.DataFrame:
        df = self.select(sel, ["seq_sha256"], ["call_id"])
        ids = df["call_id"].astype(object)
        g = ids.groupby(df["seq_sha256"], sort=False)
        calls = g.nunique(dropna=True) + ids.isna().groupby(df["seq_sha256"], sort=False).sum()
        dup = calls[calls > 1].index
        block = df[df["seq_sha256"].isin(dup)]
        rows = [
            {
                "seq_sha256": sha,
                "copies": len(b),
                "calls": int(calls[sha]),
                "call_ids": tuple(sorted({str(v) for v in b["call_id"].dropna()})),
            }
            for sha, b in block.groupby("seq_sha256", sort=False)
        ]
        return pd.DataFrame(rows, columns=["seq_sha256", "copies", "calls", "call_ids"])

    def first_seen(self, sel: Selection, keys: Sequence[str]) -> pd.DataFrame:
        keys = list(keys)
        order = [c for c in FIRST_SEEN_ORDER if c not in keys]
        df = self.select(sel, keys, ["seq_sha256", *order])
        df = df.sort_values(list(FIRST_SEEN_ORDER), kind="stable", na_position="last")
        own_again = df["call_id"].notna() & df.duplicated(["seq_sha256", "call_id"])
        df = df[~own_again.to_numpy(dtype=bool)]  # a call's own second download counts once
        df = df.assign(_repeat=df["seq_sha256"].duplicated())
        if not keys:
            return pd.DataFrame({"n": [len(df)], "repeats": [int(df["_repeat"].sum())]})
        g = df.groupby(keys, dropna=False, sort=False, observed=True)["_repeat"]
        return pd.DataFrame({"n": g.size(), "repeats": g.sum().astype("int64")}).reset_index()

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
        df = self.select(sel, keys, [column])
        x = as_float(df[column]).to_numpy()
        idx = np.minimum(np.floor((x - start) / width), nbins - 1).astype("int64")
        df = df.assign(_bin=idx)
        return (
            df.groupby([*keys, "_bin"], dropna=False, sort=False, observed=True)
            .size()
            .rename("count")
            .reset_index()
        )


def u_statistic(xa: np.ndarray, xb: np.ndarray) -> tuple[float, float]:
    """Mann–Whitney U of ``xa`` (ties count ½) and the tie term Σ(t³ − t) of the pooled sample.

    ``U = Σ_{x in a} (#{y in b: y < x} + ½ #{y in b: y = x})``, the rank-sum form
    ``R_a − n_a(n_a + 1)/2`` with mid-ranks, by binary search in the sorted ``xb``.
    """
    b = np.sort(xb)
    below = np.searchsorted(b, xa, side="left")
    upto = np.searchsorted(b, xa, side="right")
    u1 = float(below.sum() + (upto - below).sum() / 2)
    pooled = np.sort(np.concatenate([xa, xb]))
    if pooled.size == 0:
        return u1, 0.0
    starts = np.flatnonzero(np.concatenate([[True], pooled[1:] != pooled[:-1]]))
    t = np.diff(np.append(starts, pooled.size)).astype(float)
    return u1, float((t * t * t - t).sum())


def _needed_columns(
    sel: Selection, keys: Sequence[str], columns: Iterable[str], present: Iterable[str]
) -> list[str]:
    """The frame's columns a selection reads (so filters copy no more than that)."""
    needed = columns_read(sel, keys, columns)
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
