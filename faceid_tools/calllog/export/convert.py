"""Converting a chunk of log rows to the dataset's Arrow schema (from either reader) and writing it
to the temporary file of its UTC day; a value that does not fit its column names its row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ...errors import InputError
from ..parquet import NULL_PARTITION, PARTITION
from ..schema import COLUMNS
from ..types import KINDS, STORED_TYPES, arrow_schema
from .parts import ExportError, _Part, _Task
from .state import _TMP_SUFFIX

#: Low-cardinality text columns worth Parquet dictionary encoding (the rest are mostly unique).
_DICTIONARY_COLUMNS = [
    c.name
    for c in COLUMNS
    if c.kind == "category"
    or c.name
    in {
        "campaign_id",
        "endpoint",
        "error_code",
        "error_message",
        "client_version",
        "device_data_url",
        "device_data_md5",
        "seq_format",
    }
]


#: Columns with min/max statistics per row group (what readers filter on); long unique strings
#: (URLs, hashes, messages) would only cost time to compute statistics for.
_STATISTICS_COLUMNS = [
    "id",
    "call_id",
    "attempt",
    "campaign_id",
    "action",
    "region",
    "endpoint",
    "security_level",
    "started_at",
    "latency_ms",
    "http_status",
    "outcome",
    "error_code",
    "simulated",
    "seq_md5_ok",
    "seq_level",
]


_SCHEMA = arrow_schema()


def _to_table(rows: list[tuple[Any, ...]], task: _Task) -> pa.Table:
    """One chunk of log rows as an Arrow table of the export schema; bad values raise."""
    values = dict(zip(task.columns, zip(*rows, strict=True), strict=True))
    ids = values["id"]
    arrays = []
    for fld in _SCHEMA:
        column = values.get(fld.name)
        if column is None:
            arrays.append(pa.nulls(len(rows), fld.type))
            continue
        try:
            arrays.append(_convert(column, KINDS[fld.name]))
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
            at = _first_bad(column, KINDS[fld.name])
            where = f"row id={ids[at]}" if at is not None else f"rows id {ids[0]}..{ids[-1]}"
            shown = repr(column[at])[:80] if at is not None else "?"
            raise ExportError(
                f"{task.db}: {where}: column {fld.name} ({KINDS[fld.name]}) cannot hold "
                f"{shown} ({type(exc).__name__})"
            ) from None
    if arrays[0].null_count:
        raise ExportError(f"{task.db}: rows id {ids[0]}..{ids[-1]}: a row has no id")
    return pa.Table.from_arrays(arrays, schema=_SCHEMA)


def _convert(column: tuple[Any, ...], kind: str) -> pa.Array:
    if kind == "int":
        return _integers(column)
    if kind == "float":
        return pa.array(column, pa.float64())
    if kind == "str":
        return _strings(column)
    if kind == "bool":
        return pc.not_equal(_integers(column), 0)
    if kind == "category":
        return _strings(column).dictionary_encode()
    if kind == "time":
        return _timestamps(column)
    raise InputError(f"unknown column kind {kind!r}")


def _integers(column: tuple[Any, ...]) -> pa.Array:
    # inferred, not forced: pyarrow would truncate a REAL like 1.5 to 1 when told "int64"
    array = pa.array(column)
    if array.type == pa.int64():
        return array
    if array.type == pa.null():
        return pa.nulls(len(array), pa.int64())
    raise TypeError(f"not an integer column ({array.type})")


def _strings(column: tuple[Any, ...]) -> pa.Array:
    return pa.array(column, pa.string())


def _timestamps(column: tuple[Any, ...]) -> pa.Array:
    text = _strings(column)
    try:
        return pc.cast(text, _SCHEMA.field("started_at").type)
    except pa.ArrowInvalid:
        # other ISO-8601 spellings (naive = UTC, a date alone, ...) as load_calls reads them
        import pandas as pd  # only here: workers stay ~40 MiB lighter without it

        parsed = pd.to_datetime(pd.Series(column, dtype=object), utc=True, format="ISO8601")
        return pa.array(parsed.dt.as_unit("us"), _SCHEMA.field("started_at").type)


def _from_arrow(read: pa.Table | None, task: _Task) -> pa.Table | None:
    """A chunk read by ADBC as a table of the export schema, or None to use the exact path.

    Only a column of exactly the expected type (or all NULL) is taken; strings must be valid
    UTF-8.  Anything else (text in an INTEGER column, a REAL where an integer belongs, a BLOB,
    a timestamp ``pc.cast`` cannot parse) goes to the exact path, which converts or names the row.
    """
    if read is None:
        return None
    arrays = []
    try:
        for fld in _SCHEMA:
            kind = KINDS[fld.name]
            if fld.name not in task.columns:
                arrays.append(pa.nulls(read.num_rows, fld.type))
                continue
            column = read.column(fld.name).combine_chunks()
            if column.null_count == len(column):
                arrays.append(pa.nulls(len(column), fld.type))
                continue
            if column.type != STORED_TYPES[kind]:
                return None
            if column.type == pa.string():
                column.validate(full=True)  # the driver copies bytes; invalid UTF-8 is refused
            if kind == "bool":
                column = pc.not_equal(column, 0)
            elif kind == "category":
                column = column.dictionary_encode()
            elif kind == "time":
                column = pc.cast(column, fld.type)
            arrays.append(column)
        if arrays[0].null_count:
            return None
        return pa.Table.from_arrays(arrays, schema=_SCHEMA)
    except (pa.ArrowException, ValueError):
        return None


def _first_bad(column: tuple[Any, ...], kind: str) -> int | None:
    """Index of the first value that does not convert on its own (to name it in the error)."""
    for i, value in enumerate(column):
        if value is None:
            continue
        try:
            _convert((value,), kind)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            return i
    return None


def _write_chunk(table: pa.Table, task: _Task, parts: dict[str, _Part]) -> None:
    """Append ``table``'s rows to the temporary file of their UTC day."""
    days = pc.cast(pc.cast(table.column("started_at"), pa.date32()), pa.int32())
    numbers = days.fill_null(-1).to_numpy()
    distinct = np.unique(numbers)
    for number in distinct:
        sub = table if len(distinct) == 1 else table.filter(numbers == number)
        day = NULL_PARTITION if number < 0 else str(np.datetime64(int(number), "D"))
        part = parts.get(day)
        if part is None:
            folder = Path(task.out_dir) / f"{PARTITION}={day}"
            folder.mkdir(exist_ok=True)
            rel = f"{PARTITION}={day}/.{task.tag}-{task.lo}-{len(parts)}{_TMP_SUFFIX}"
            part = parts[day] = _Part(day, rel)
            part.writer = pq.ParquetWriter(
                Path(task.out_dir) / rel,
                _SCHEMA,
                compression="zstd",
                use_dictionary=_DICTIONARY_COLUMNS,
                write_statistics=_STATISTICS_COLUMNS,
                write_page_checksum=True,  # a damaged page is detected, not read as data
            )
        ids = sub.column("id")
        first, last = int(ids[0].as_py()), int(ids[-1].as_py())
        part.min_id = first if part.rows == 0 else min(part.min_id, first)
        part.max_id = max(part.max_id, last)
        part.rows += sub.num_rows
        part.pending.append(sub)
        part.pending_rows += sub.num_rows
        if part.pending_rows >= ROW_GROUP_ROWS:
            part.flush()


#: Rows per Parquet row group (chunks are buffered as compact Arrow tables until then).
ROW_GROUP_ROWS = 50_000
