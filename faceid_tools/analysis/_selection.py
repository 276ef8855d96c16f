"""What rows a computation reads (:class:`Selection`) and how groups are keyed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..calllog.schema import COLUMN_NAMES
from ..client.vocabulary import DOWNLOAD as DOWNLOAD
from ..client.vocabulary import GENERATE as GRS
from ..errors import InputError

#: Derived group keys: name -> bucket width in seconds (UTC, from ``started_at``).
TIME_KEYS: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
Attempts = Literal["all", "first"]
Per = Literal["attempt", "call"]

EPOCH = pd.Timestamp(0, tz="UTC")
#: String columns whose empty value means "none" (SQLite and Parquet may hold '' or NULL).
EMPTY_IS_NULL = ("region", "security_level", "action", "outcome", "error_code")


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


def columns_read(sel: Selection, keys: Sequence[str], columns: Iterable[str]) -> set[str]:
    """The call-log columns a selection of ``keys`` and ``columns`` reads (time keys read
    ``started_at``; an unpivot reads its properties)."""
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
    return needed


def check_keys(by: str | Sequence[str] | None) -> tuple[str, ...]:
    """Normalise ``by`` to a tuple of valid group keys."""
    if by is None:
        return ()
    keys = (by,) if isinstance(by, str) else tuple(by)
    for key in keys:
        if key not in COLUMN_NAMES and key not in TIME_KEYS:
            valid = ", ".join([*COLUMN_NAMES, *TIME_KEYS])
            raise InputError(
                f"unknown group key {key!r}; use a call-log column or minute/hour/day: {valid}"
            )
    if len(set(keys)) != len(keys):
        raise InputError(f"group keys repeat: {keys}")
    return keys


#: How far apart (at most) the rows of one call lie: a window follows a call this far past its edges.
CALL_SPAN = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class Window:
    """Which rows of a log belong to a period and/or to some campaigns (see ``analysis.window``).

    A call belongs to the period where its first row started (``start`` inclusive, ``end``
    exclusive, UTC; None = open), so its retries and sequence download stay with it even across
    an edge (rows of one call are taken to lie within :data:`CALL_SPAN`); rows without a
    ``call_id`` go by their own ``started_at``.  ``campaigns``: keep only these ``campaign_id``s.
    """

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    campaigns: tuple[str, ...] | None = None

    def frame_mask(self, frame: pd.DataFrame) -> np.ndarray:
        """The rows of a call-log DataFrame this window keeps."""
        keep = np.ones(len(frame), dtype=bool)
        if self.campaigns is not None:
            keep &= frame["campaign_id"].isin(self.campaigns).to_numpy(dtype=bool)
        if self.start is None and self.end is None:
            return keep
        started = pd.to_datetime(frame["started_at"], utc=True)
        ids = frame["call_id"].astype(object)
        first = started.groupby(ids, sort=False).transform("min")
        at = first.where(ids.notna(), started)
        if self.start is not None:
            keep &= (at >= self.start).to_numpy(dtype=bool, na_value=False)
        if self.end is not None:
            keep &= (at < self.end).to_numpy(dtype=bool, na_value=False)
        return keep

    def sql(self, table: str) -> str:
        """A SELECT of ``table``'s rows this window keeps (DuckDB/Spark SQL), for a FROM clause."""
        conds = []
        if self.campaigns is not None:
            names = ", ".join("'" + c.replace("'", "''") + "'" for c in self.campaigns)
            conds.append(f"campaign_id IN ({names})")
        if self.start is not None or self.end is not None:
            conds.append(self._time_sql(table))
        where = " AND ".join(conds) or "true"
        return f"(SELECT * FROM {table} WHERE {where})"

    def _time_sql(self, table: str) -> str:
        """Rows started in the window, minus calls begun before it, plus the tails of calls begun
        in it; only the ``CALL_SPAN`` slices around the edges are looked up by ``call_id``."""
        s, e = self.start, self.end
        inside = " AND ".join(
            [*([f"started_at >= {_ts(s)}"] if s is not None else []),
             *([f"started_at < {_ts(e)}"] if e is not None else [])]
        )  # fmt: skip
        keep = f"({inside})"
        if s is not None:
            early = (
                f"SELECT call_id FROM {table} WHERE call_id IS NOT NULL "
                f"AND started_at >= {_ts(s - CALL_SPAN)} AND started_at < {_ts(s)}"
            )
            keep = f"({keep} AND (call_id IS NULL OR call_id NOT IN ({early})))"
        if e is not None:
            lo = e - CALL_SPAN if s is None else max(s, e - CALL_SPAN)
            tails = (
                f"SELECT call_id FROM {table} WHERE call_id IS NOT NULL "
                f"AND started_at >= {_ts(lo)} AND started_at < {_ts(e)}"
            )
            if s is not None:
                tails += (
                    " AND call_id NOT IN (SELECT call_id FROM "
                    f"{table} WHERE call_id IS NOT NULL AND started_at >= {_ts(s - CALL_SPAN)} "
                    f"AND started_at < {_ts(s)})"
                )
            keep = (
                f"({keep} OR (started_at >= {_ts(e)} AND started_at < {_ts(e + CALL_SPAN)} "
                f"AND call_id IN ({tails})))"
            )
        return keep


def _ts(t: pd.Timestamp) -> str:
    return f"TIMESTAMPTZ '{t.tz_convert('UTC').isoformat()}'"


def merge_null_safe(
    left: pd.DataFrame, right: pd.DataFrame, keys: Sequence[str], how: str = "left"
) -> pd.DataFrame:
    """Merge on ``keys`` with missing matching missing (as SQL's IS NOT DISTINCT FROM)."""
    keys = list(keys)
    if not keys:
        if how == "left" and right.empty:  # a cross join would drop every left row
            both = set(left.columns) & set(right.columns)
            out = left.rename(columns={c: f"{c}_x" for c in both})
            for c in right.columns:
                out[f"{c}_y" if c in both else c] = np.nan
            return out
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
