"""What the export's rooms pass each other: its error, a task (an id range of the log) and a part
(one temporary Parquet file of one UTC day)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ...errors import FaceIDError

__all__ = ["ExportError"]


class ExportError(FaceIDError, RuntimeError):
    """The export cannot proceed; the message names the file (and the row, for bad data)."""


@dataclass(frozen=True)
class _Task:
    db: str
    out_dir: str
    lo: int  # exclusive
    hi: int  # inclusive
    chunk_rows: int
    tag: str
    columns: tuple[str, ...]  # the schema columns present in the log's table


@dataclass
class _Part:
    day: str
    tmp: str  # path relative to the dataset
    rows: int = 0
    min_id: int = 0
    max_id: int = 0
    digest: dict[str, Any] = field(default_factory=dict)  #: size and footer SHA-256 once closed
    writer: Any = field(default=None, repr=False)
    pending: list[pa.Table] = field(default_factory=list, repr=False)
    pending_rows: int = 0

    def flush(self) -> None:
        """Write the buffered rows as one row group, each coded column with one dictionary.

        The buffered chunks were dictionary-encoded one by one; written as they are, Parquet
        meets a new dictionary every chunk and falls back to PLAIN pages (about 100× larger for
        ``action``, and DuckDB scans the file about 2× slower).  Unified and combined, a row
        group holds one dictionary page per coded column and RLE-coded indices."""
        if self.pending:
            table = pa.concat_tables(self.pending).unify_dictionaries().combine_chunks()
            self.writer.write_table(table, row_group_size=self.pending_rows)
            self.pending, self.pending_rows = [], 0
