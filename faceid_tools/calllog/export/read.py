"""Reading the log for export: its shape (columns, highest id, fingerprint), a completeness check,
and two readers of an id range -- the fast one straight into Arrow (ADBC), the exact one through
``sqlite3`` row by row."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..schema import COLUMNS
from .parts import ExportError

log = logging.getLogger("faceid_tools.calllog.export")


def _connect(db: str) -> sqlite3.Connection:
    """A read-only connection (never creates or modifies the log)."""
    uri = Path(db).resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=60.0)


_IDENTITY = "SELECT id, call_id, started_at FROM calls"


def _fingerprint(row: Any) -> str | None:
    """A row's identity (its id, call id and start instant) as a short digest; None for no row."""
    if row is None:
        return None
    return hashlib.sha256(json.dumps(list(row), default=str).encode()).hexdigest()[:32]


def _inspect(src: Path) -> tuple[tuple[str, ...], int, str | None, str | None]:
    """The schema columns the log has, its highest id, and the fingerprints of its first and
    last rows."""
    try:
        con = _connect(str(src))
    except sqlite3.Error as exc:
        raise ExportError(f"{src}: cannot open the call log ({exc})") from None
    try:
        have = {row[1] for row in con.execute("PRAGMA table_info(calls)")}
        if not have:
            raise ExportError(f"{src}: not a call log (no 'calls' table)")
        if "id" not in have or "started_at" not in have:
            raise ExportError(f"{src}: the calls table lacks 'id' or 'started_at'")
        con.execute("BEGIN")  # one snapshot for the maxima and the last row
        hi = con.execute("SELECT max(id) FROM calls").fetchone()[0] or 0
        # ``+id`` turns the index seek off: a damaged table whose seek misses its last pages
        # would otherwise look shorter than it is (and export "nothing new")
        scanned = con.execute("SELECT max(+id) FROM calls").fetchone()[0] or 0
        last = con.execute(f"{_IDENTITY} WHERE id = ?", (hi,)).fetchone()
        con.execute("COMMIT")
        if scanned != hi:
            raise ExportError(
                f"{src}: damaged call log: its highest id is {scanned} by a full scan but {hi} "
                f"by its index; nothing was exported (check it with PRAGMA integrity_check)"
            )
        first = con.execute(f"{_IDENTITY} ORDER BY id LIMIT 1").fetchone()
    except sqlite3.DatabaseError as exc:
        raise ExportError(f"{src}: not a readable SQLite call log ({exc})") from None
    finally:
        con.close()
    columns = tuple(c.name for c in COLUMNS if c.name in have)
    return columns, int(hi), _fingerprint(first), _fingerprint(last)


def _row_fingerprint(src: Path, row_id: int) -> str | None:
    """The fingerprint of the row with id ``row_id`` (None if there is none): one rowid lookup."""
    try:
        con = _connect(str(src))
        try:
            return _fingerprint(con.execute(f"{_IDENTITY} WHERE id = ?", (row_id,)).fetchone())
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise ExportError(f"{src}: not a readable SQLite call log ({exc})") from None


def _check_complete(src: Path, lo: int, hi: int, read: int) -> None:
    """Refuse a damaged log whose reads by id range skipped rows.

    A table page left out of order (overwritten bytes) makes SQLite's rowid seeks miss rows that a
    plain scan still walks over.  ``+id`` turns the seek off, so this count is a full scan.
    """
    try:
        con = _connect(str(src))
        try:
            (scanned,) = con.execute(
                "SELECT count(*) FROM calls WHERE +id > ? AND +id <= ?", (lo, hi)
            ).fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise ExportError(f"{src}: not a readable SQLite call log ({exc})") from None
    if scanned != read:
        raise ExportError(
            f"{src}: damaged call log: a full scan finds {scanned} rows with ids {lo + 1}..{hi} "
            f"but reading them by id finds {read}; nothing was exported "
            f"(check it with PRAGMA integrity_check)"
        )


class _RowReader:
    """The exact path: rows as Python tuples through ``sqlite3`` (opened on first use)."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.con: sqlite3.Connection | None = None

    def __enter__(self) -> _RowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.con is not None:
            self.con.close()

    def _connection(self) -> sqlite3.Connection:
        if self.con is None:
            self.con = _connect(self.db)
        return self.con

    def read(self, select: str, start: int, stop: int) -> list[tuple[Any, ...]]:
        try:
            return self._connection().execute(select, (start, stop)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise ExportError(
                f"{self.db}: cannot read rows with id {start + 1}..{stop} ({exc})"
            ) from None

    def last_id_before_next(self, after: int, hi: int) -> int:
        """Where to go on after an empty id range: just below the next id up to ``hi``, or ``hi``."""
        try:
            (next_id,) = (
                self._connection()
                .execute("SELECT min(id) FROM calls WHERE id > ? AND id <= ?", (after, hi))
                .fetchone()
            )
        except sqlite3.DatabaseError as exc:
            raise ExportError(f"{self.db}: cannot read ids above {after} ({exc})") from None
        return hi if next_id is None else max(after, int(next_id) - 1)


class _ArrowReader:
    """The fast path: a chunk straight into Arrow through the ADBC SQLite driver (in C).

    It types each column from the values in the chunk (one batch per chunk), so a column with a
    value of another storage class comes back as another type and :func:`_from_arrow` hands the
    chunk to the exact path.  ``read`` returns None when the driver is missing or fails.
    """

    def __init__(self, db: str, select: str, chunk_rows: int) -> None:
        self.select = select
        self.options = {"adbc.sqlite.query.batch_rows": str(max(chunk_rows, 1))}
        self.con: Any = None
        try:
            import adbc_driver_sqlite.dbapi as adbc
        except ImportError:  # pragma: no cover - a dependency; without it every chunk is exact
            log.info("export: adbc-driver-sqlite is not installed; reading rows through sqlite3")
            return
        try:
            self.con = adbc.connect(Path(db).resolve().as_uri() + "?mode=ro")
        except Exception as exc:  # the exact path reports why the log cannot be opened
            log.debug("export: ADBC cannot open %s (%s)", db, exc)

    def __enter__(self) -> _ArrowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.con is not None:
            with contextlib.suppress(Exception):
                self.con.close()

    def read(self, start: int, stop: int) -> pa.Table | None:
        if self.con is None:
            return None
        try:
            with self.con.cursor() as cur:
                cur.adbc_statement.set_options(**self.options)
                cur.execute(self.select, (start, stop))
                return cur.fetch_arrow_table()
        except Exception as exc:  # any failure: the exact path reads the chunk (and explains)
            log.debug("export: ADBC read of ids %d..%d failed (%s)", start + 1, stop, exc)
            return None
