"""What a Parquet dataset's footers tell the DuckDB engine before it reads a row."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

_DAY_FOLDER = re.compile(r"day=(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class _Footers:
    """What the Parquet footers tell: the columns, ``started_at``'s time unit (None: not a
    timestamp), and whether each file is in a ``day=YYYY-MM-DD`` folder holding only rows whose
    ``started_at`` (by the row groups' min/max statistics) falls in that UTC day."""

    columns: frozenset[str]
    started_at_unit: str | None
    day_partitioned: bool
    #: Rows of each file, in the order the files were given.
    rows: tuple[int, ...] = ()

    @classmethod
    def read(cls, files: Sequence[Path]) -> _Footers:
        columns: set[str] = set()
        unit: str | None = None
        partitioned = True
        one_day = pd.Timedelta(days=1)
        rows: list[int] = []
        for f in files:
            meta = pq.read_metadata(f)
            rows.append(meta.num_rows)
            schema = meta.schema.to_arrow_schema()
            columns |= set(schema.names)
            if "started_at" not in schema.names:
                partitioned = False
                continue
            kind = schema.field("started_at").type
            unit = kind.unit if pa.types.is_timestamp(kind) else unit
            m = _DAY_FOLDER.fullmatch(f.parent.name)
            if m is None or not pa.types.is_timestamp(kind) or kind.tz is None:
                partitioned = False
            if not partitioned or m is None:
                continue
            start = pd.Timestamp(m.group(1), tz="UTC")
            column = meta.schema.names.index("started_at")
            for i in range(meta.num_row_groups):
                stats = meta.row_group(i).column(column).statistics
                if stats is None or not stats.has_min_max or stats.null_count:
                    partitioned = False
                    break
                lo, hi = pd.Timestamp(stats.min), pd.Timestamp(stats.max)
                if lo.tzinfo is None or not (start <= lo and hi < start + one_day):
                    partitioned = False
                    break
        return cls(frozenset(columns), unit, partitioned and bool(files), tuple(rows))


def _day_partitioned(files: Sequence[Path]) -> bool:
    """True if every file's ``day=`` folder holds only that UTC day's rows (see :class:`_Footers`)."""
    return _Footers.read(files).day_partitioned
