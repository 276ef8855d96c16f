"""Reading the call log into pandas: :func:`load_calls` reads an SQLite log (through Arrow, in
bounded chunks, refusing a value that does not fit its column) or an exported Parquet dataset, and
gives the types of :func:`faceid_tools.calllog.frame.apply_types` either way.
"""

from __future__ import annotations

import gc
import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import CallLogError, MissingInputError
from .frame import apply_types, empty_frame
from .parquet import load_parquet
from .schema import CATEGORIES
from .store import CallLog
from .types import KINDS, STORED_TYPES

__all__ = ["apply_types", "empty_frame", "load_calls"]


_CHUNK_ROWS = 100_000
_TO_PANDAS = {
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.string(): pd.StringDtype(),
}.get


_KIND_WORDS = {
    "int": "an integer",
    "bool": "an integer flag",
    "float": "a number",
    "time": "an ISO-8601 time",
    "str": "text",
    "category": "text",
}


def _fits(value: object, kind: str) -> bool:
    """Whether a stored value is of the column's kind (SQLite's affinity already converted what
    it could: what is left over is damage)."""
    if value is None:
        return True
    if kind in ("int", "bool"):
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, int | float)
    return isinstance(value, str)


class _Reader:
    """Rows of one source to a typed DataFrame, column by column through Arrow, in bounded chunks.

    A value that does not fit its column (text in a number column, a fraction in an integer
    column, a blob, an unparseable time) raises :class:`CallLogError` naming the file, the row
    id and the column: nothing is read silently as something else.
    """

    def __init__(self, source: str, names: list[str]) -> None:
        self.source = source
        self.names = names
        self.kinds = ["int" if n in CATEGORIES else KINDS.get(n, "str") for n in names]
        self.id_index = names.index("id") if "id" in names else None

    def _refuse(self, column: str, kind: str, value: object, row_id: object) -> CallLogError:
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        where = f"row id {row_id}" if row_id is not None else "a row"
        return CallLogError(
            f"{self.source}: {where}, column {column}: {shown} is not {_KIND_WORDS[kind]}"
        )

    def _column(self, i: int, values: tuple[object, ...], rows: list[Any]) -> pa.Array:
        kind = self.kinds[i]
        try:
            if kind in ("int", "bool"):  # infer, then check: Arrow would truncate 2.5 to 2
                arr = pa.array(values)
                if pa.types.is_integer(arr.type) or pa.types.is_null(arr.type):
                    return arr.cast(pa.int64())
            else:
                return pa.array(values, type=STORED_TYPES[kind])
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
        for j, value in enumerate(values):
            if not _fits(value, kind):
                row_id = rows[j][self.id_index] if self.id_index is not None else None
                raise self._refuse(self.names[i], kind, value, row_id) from None
        raise CallLogError(f"{self.source}: column {self.names[i]} does not fit {kind} (overflow)")

    def frame(self, cursor: sqlite3.Cursor) -> pd.DataFrame:
        names, kinds = self.names, self.kinds
        chunks: list[list[pa.Array]] = [[] for _ in names]
        gc_was_on = gc.isenabled()
        gc.disable()  # millions of short-lived tuples: the cycle collector only slows this down
        try:
            while rows := cursor.fetchmany(_CHUNK_ROWS):
                for i, values in enumerate(zip(*rows, strict=True)):
                    chunks[i].append(self._column(i, values, rows))
                del rows
        finally:
            if gc_was_on:
                gc.enable()
        if not chunks or not chunks[0]:
            return empty_frame(names)
        arrays: dict[str, pa.ChunkedArray] = {}
        categoricals: dict[str, Any] = {}
        ids = pa.chunked_array(chunks[self.id_index]) if self.id_index is not None else None
        for name, kind, parts in zip(names, kinds, chunks, strict=True):
            column = pa.chunked_array(parts, type=STORED_TYPES[kind])
            if name in CATEGORIES:
                codes: np.ndarray = column.to_numpy().astype(np.int8)
                categoricals[name] = pd.Categorical.from_codes(
                    codes, dtype=pd.CategoricalDtype(list(CATEGORIES[name]))
                )
                continue
            if kind == "time":
                column = self._time(name, column, ids)
            elif kind == "bool":
                column = pc.not_equal(column, 0)
            arrays[name] = column
        df = pa.table(arrays).to_pandas(types_mapper=_TO_PANDAS)
        for name, categorical in categoricals.items():
            df[name] = categorical
        return df[names]

    def _time(
        self, name: str, column: pa.ChunkedArray, ids: pa.ChunkedArray | None
    ) -> pa.ChunkedArray:
        try:
            return pc.cast(column, pa.timestamp("us", "UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        text = column.to_pandas()
        parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        bad = np.flatnonzero((text.notna() & parsed.isna()).to_numpy())
        if len(bad):
            pos = int(bad[0])
            row_id = ids[pos].as_py() if ids is not None else None
            raise self._refuse(name, "time", text.iloc[pos], row_id)
        return pa.chunked_array([pa.array(parsed, type=pa.timestamp("us", "UTC"))])


def _select_expr(name: str) -> str:
    """What to SELECT for a column: categoricals come back as small-integer codes (no strings to
    allocate per row: CPython caches small ints), the rest as stored."""
    categories = CATEGORIES.get(name)
    if categories is None:
        return name
    cases = " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(categories))
    return f"CASE CAST({name} AS TEXT) {cases} ELSE -1 END AS {name}"


def _read_sqlite(conn: sqlite3.Connection, campaign_id: str | None, source: str) -> pd.DataFrame:
    tables = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='calls'"
    ).fetchone()
    if tables is None:
        return empty_frame()
    names = [row[1] for row in conn.execute("PRAGMA table_info(calls)")]
    sql = f"SELECT {', '.join(_select_expr(n) for n in names)} FROM calls"
    params: tuple[str, ...] = ()
    if campaign_id is not None:
        sql += " WHERE campaign_id = ?"
        params = (campaign_id,)
    sql += " ORDER BY id"
    return _Reader(source, names).frame(conn.execute(sql, params))


def load_calls(
    source: str | os.PathLike[str] | CallLog, *, campaign_id: str | None = None
) -> pd.DataFrame:
    """The call log as a DataFrame, one row per HTTP exchange, in insert order.

    ``source``: an SQLite file, a :class:`CallLog`, or a Parquet dataset folder (read by
    :mod:`faceid_tools.calllog.parquet`).  ``campaign_id`` keeps one campaign's rows.
    """
    if isinstance(source, CallLog):
        with source.reading() as conn:
            df = _read_guarded(conn, campaign_id, str(source.path))
        df.attrs["source_path"] = str(source.path)
        return df
    path = Path(source)
    if path.is_dir():
        df = load_parquet(path)
        if campaign_id is not None:
            df = df[df["campaign_id"] == campaign_id].reset_index(drop=True)
        return df
    if not path.is_file():
        raise MissingInputError(f"no call log at {path}")
    try:
        conn = sqlite3.connect(str(path), timeout=60.0)
    except sqlite3.Error as exc:
        raise CallLogError(f"{path}: cannot open the call log: {exc}") from exc
    try:
        df = _read_guarded(conn, campaign_id, str(path))
    finally:
        conn.close()
    df.attrs["source_path"] = str(path)  # the file also holds the campaign tables
    return df


def _read_guarded(conn: sqlite3.Connection, campaign_id: str | None, source: str) -> pd.DataFrame:
    """Read, turning a damaged file's errors into :class:`CallLogError` naming the file."""
    try:
        return _read_sqlite(conn, campaign_id, source)
    except CallLogError:
        raise
    except (sqlite3.Error, pa.ArrowException, ValueError, OverflowError) as exc:
        raise CallLogError(
            f"{source}: not a readable call log: {type(exc).__name__}: {exc}"
        ) from exc
