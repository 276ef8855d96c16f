"""What rows a computation reads (:class:`Selection`) and how groups are keyed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from ..calllog.schema import COLUMN_NAMES

GRS = "GenerateReflectSequence"
DOWNLOAD = "DownloadSequence"
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


def check_keys(by: str | Sequence[str] | None) -> tuple[str, ...]:
    """Normalise ``by`` to a tuple of valid group keys."""
    if by is None:
        return ()
    keys = (by,) if isinstance(by, str) else tuple(by)
    for key in keys:
        if key not in COLUMN_NAMES and key not in TIME_KEYS:
            valid = ", ".join([*COLUMN_NAMES, *TIME_KEYS])
            raise ValueError(
                f"unknown group key {key!r}; use a call-log column or minute/hour/day: {valid}"
            )
    if len(set(keys)) != len(keys):
        raise ValueError(f"group keys repeat: {keys}")
    return keys


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
