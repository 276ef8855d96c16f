"""The call log's type table, once: each column kind (:data:`~faceid_tools.calllog.schema.COLUMNS`)
as SQLite stores it, as Arrow reads it out of SQLite, and as a Parquet dataset holds it.

Readers of every source (``load_calls``, ``export``'s two readers, ``load_parquet``) take their
types from here, so a column has one type wherever it is read.
"""

from __future__ import annotations

import pyarrow as pa

from .schema import COLUMNS

__all__ = ["DATASET_TYPES", "KINDS", "STORED_TYPES", "arrow_schema"]

#: Column name -> kind (str, int, float, bool, time, category).
KINDS: dict[str, str] = {c.name: c.kind for c in COLUMNS}

#: The Arrow type of a kind's values as stored in SQLite (what a reader gets when every value has
#: the expected storage class): flags are integers, times and categories text.
STORED_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "bool": pa.int64(),
    "float": pa.float64(),
    "str": pa.string(),
    "category": pa.string(),
    "time": pa.string(),
}

#: The Arrow type of a kind in an exported dataset (what ``load_calls`` gives, in Arrow terms).
DATASET_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "str": pa.string(),
    "bool": pa.bool_(),
    "time": pa.timestamp("us", tz="UTC"),
    "category": pa.dictionary(pa.int32(), pa.string()),
}


def arrow_schema() -> pa.Schema:
    """The Arrow schema of an exported call log (the columns of ``schema.COLUMNS``, in order)."""
    return pa.schema(
        [pa.field(c.name, DATASET_TYPES[c.kind], nullable=c.name != "id") for c in COLUMNS]
    )
