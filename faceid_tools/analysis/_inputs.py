"""What ``data`` may be, and the one error for anything else.

Frames (pandas or Spark) are checked against the call-log schema once, when an analysis resolves
them: the columns every selection reads must be there, and the call-log columns present must hold
values of their kind.  The error names every offending column at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..calllog.schema import COLUMNS
from ..errors import CallLogError, FaceIDError

#: Columns every analysis reads (the rest are checked when present, read when needed).
REQUIRED: tuple[str, ...] = ("action", "outcome")
_KINDS = {c.name: c.kind for c in COLUMNS}
_KIND_WORDS = {
    "str": "text",
    "category": "text",
    "int": "integers",
    "float": "numbers",
    "bool": "booleans (or 0/1)",
    "time": "timestamps",
}
ACCEPTED = (
    "a call-log pandas DataFrame (load_calls), a pyspark.sql.DataFrame with the call-log "
    "columns, a SQLite log path or CallLog, a Parquet dataset folder or ParquetDataset, or "
    "analysis.source(...) of one of these"
)


class CallLogColumnsError(CallLogError):
    """A frame given to an analysis lacks call-log columns or holds them with the wrong types."""

    code = "CallLogColumns"


class UnsupportedDataError(FaceIDError, TypeError):
    """``data`` is of a kind no analysis engine reads; the message lists what is accepted."""

    code = "UnsupportedData"


def unsupported(data: Any) -> UnsupportedDataError:
    return UnsupportedDataError(f"data must be one of: {ACCEPTED}; got {type(data).__name__}")


def columns_error(what: str, missing: Iterable[str], wrong: dict[str, str]) -> CallLogColumnsError:
    """One error naming every missing column and every column of the wrong type."""
    parts = []
    missing = sorted(missing)
    if missing:
        parts.append(f"missing column(s) {missing}")
    if wrong:
        shown = ", ".join(
            f"{name} ({found}; expected {_KIND_WORDS[_KINDS[name]]})"
            for name, found in sorted(wrong.items())
        )
        parts.append(f"wrongly typed column(s): {shown}")
    return CallLogColumnsError(f"not a call log ({what}): " + "; ".join(parts))


def check_pandas_frame(frame: pd.DataFrame) -> None:
    """Raise :class:`CallLogColumnsError` unless ``frame`` looks like a call log."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    wrong: dict[str, str] = {}
    for name in frame.columns:
        kind = _KINDS.get(str(name))
        if kind is None:
            continue
        dtype = frame[name].dtype
        if not _pandas_fits(frame[name], kind):
            wrong[str(name)] = str(dtype)
    if missing or wrong:
        raise columns_error("pandas DataFrame", missing, wrong)


def _pandas_fits(values: pd.Series, kind: str) -> bool:
    dtype = values.dtype
    api = pd.api.types
    if kind == "time":
        if api.is_datetime64_any_dtype(dtype):
            return True
        return _objects_fit(values, lambda v: isinstance(v, pd.Timestamp))
    if kind in ("int", "float", "bool"):
        if api.is_numeric_dtype(dtype) or api.is_bool_dtype(dtype):
            return True
        return _objects_fit(values, lambda v: isinstance(v, int | float) and not isinstance(v, str))
    # text: anything but timestamps and (non-empty) floats
    if api.is_datetime64_any_dtype(dtype):
        return False
    return not (api.is_float_dtype(dtype) and values.notna().any())


def _objects_fit(values: pd.Series, ok: Any, sample: int = 1000) -> bool:
    """For object columns: the first ``sample`` non-missing values pass ``ok`` (or there are none)."""
    if values.dtype != object:
        return False
    head = values.dropna().head(sample)
    return all(ok(v.item() if isinstance(v, np.generic) else v) for v in head)
