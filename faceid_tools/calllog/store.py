"""The call log's writer: one SQLite file, one row per HTTP exchange.

Durability: WAL journal, ``synchronous=NORMAL`` by default (a committed row survives a crash of the
process; ``synchronous="FULL"`` also survives power loss), and :meth:`CallLog.record` commits before
it returns.  Concurrency: one connection per ``CallLog``, guarded by a lock, so a ``CallLog`` can be
shared by threads; several processes may write the same file at once, each through its own
``CallLog`` (a ``CallLog`` carried into a forked child reconnects there).  Writers wait for each
other up to ``busy_timeout`` seconds instead of failing with "database is locked".
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from .._version import __version__
from ..errors import CallLogError, ValidationError
from .conventions import DEFAULT_LOG_PATH
from .migrations import migrate
from .schema import INSERT_COLUMNS

__all__ = ["DEFAULT_PATH", "CallLog"]

log = logging.getLogger(__name__)

DEFAULT_PATH = DEFAULT_LOG_PATH
_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")
_COLUMN_SET = frozenset(INSERT_COLUMNS)
_INSERT_SQL = f"INSERT INTO calls ({', '.join(INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"
_DEFAULTS: dict[str, Any] = {"simulated": 0, "client_version": __version__}
_SIMULATED = INSERT_COLUMNS.index("simulated")
_VERSION = INSERT_COLUMNS.index("client_version")


def row_values(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """``row`` as a tuple in ``INSERT_COLUMNS`` order (missing columns are NULL, defaults applied)."""
    get = row.get
    values = [get(name) for name in INSERT_COLUMNS]
    if values[_SIMULATED] is None:
        values[_SIMULATED] = 0
    if values[_VERSION] is None:
        values[_VERSION] = __version__
    return tuple(values)


def _check_columns(names: Iterable[str]) -> None:
    """Refuse column names the schema does not have (a mapping's keys, or a tuple of names)."""
    unknown = set(names) - _COLUMN_SET
    if unknown:
        raise ValidationError("row", f"unknown column(s) {sorted(unknown, key=str)}")


#: The ``INSERT`` of each shape of row met so far: the columns it fills, in its order.  A row
#: binds only the values it has and the columns it leaves out are NULL (the schema has no
#: defaults), the writer's defaults written as literals.  Binding is where the time goes: the
#: ``sqlite3`` module passes every ``None`` through its adapter lookup (a tuple, a dict probe and
#: two failed attribute lookups, one raising and clearing an ``AttributeError``), about as dear as
#: the rest of the row together, and a typical client row leaves 14 of its 34 columns NULL.
_SHAPES: dict[tuple[str, ...], str] = {}
_MAX_SHAPES = 256  #: the cache is emptied when it holds this many (only odd writers get there)


def _shape_sql(names: tuple[str, ...]) -> str:
    """The ``INSERT`` of a row with the columns ``names`` (checked: known, each once)."""
    _check_columns(names)
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise ValidationError("row", f"column(s) {twice} given more than once")
    columns, slots = list(names), ["?"] * len(names)
    for name, default in _DEFAULTS.items():
        if name not in names:
            columns.append(name)
            slots.append(_literal(default))
    sql = f"INSERT INTO calls ({', '.join(columns)}) VALUES ({', '.join(slots)})"
    if len(_SHAPES) >= _MAX_SHAPES:
        _SHAPES.clear()
    _SHAPES[names] = sql
    return sql


def _literal(value: int | str) -> str:
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


_OPEN_LOGS: weakref.WeakSet[CallLog] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for call_log in list(_OPEN_LOGS):
        call_log._forked = True


os.register_at_fork(after_in_child=_after_fork_in_child)


class CallLog:
    """An SQLite call log at ``path`` (created with its directory; schema migrated on open).

    ``synchronous``: ``"NORMAL"`` (default) or ``"FULL"``/``"EXTRA"`` for durability against power
    loss.  ``busy_timeout``: seconds a writer waits for another one.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        synchronous: str = "NORMAL",
        busy_timeout: float = 60.0,
    ) -> None:
        sync = str(synchronous).upper()
        if sync not in _SYNCHRONOUS:
            raise ValidationError(
                "synchronous", f"must be one of {', '.join(_SYNCHRONOUS)}", synchronous
            )
        self.path = Path(path)
        self.synchronous = sync
        self.busy_timeout = float(busy_timeout)
        self._memory = str(path) == ":memory:"
        if not self._memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._forked = False
        self._conn = self._connect()
        self._cursor = self._conn.cursor()  # one cursor for every insert (none made per row)
        _OPEN_LOGS.add(self)

    def _connect(self) -> sqlite3.Connection:
        try:
            return self._open()
        except sqlite3.DatabaseError as exc:  # not SQLite, unreadable, locked for good
            raise CallLogError(f"{self.path}: cannot open as a call log (SQLite: {exc})") from exc

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            ":memory:" if self._memory else str(self.path),
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            if not self._memory:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise sqlite3.OperationalError(
                        f"call log {self.path}: could not switch to WAL (journal_mode={mode})"
                    )
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.execute("PRAGMA cache_size = -16384")  # 16 MiB: index pages stay cached
            conn.execute("PRAGMA mmap_size = 268435456")  # reads without a syscall per page
            # checkpoint every 4000 pages (16 MiB of WAL) rather than 1000: hot pages coalesce, so
            # fewer writes per logged call; the file is cut back to 64 MiB after a checkpoint
            conn.execute("PRAGMA wal_autocheckpoint = 4000")
            conn.execute("PRAGMA journal_size_limit = 67108864")
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is None:
            raise CallLogError(f"{self.path}: the call log is closed")
        if self._forked:  # carried into a forked child: never share the parent's handle
            self._forked = False
            self._pid = os.getpid()
            conn = self._conn = self._connect()
            self._cursor = conn.cursor()
        return conn

    def __repr__(self) -> str:
        return f"CallLog({str(self.path)!r}, synchronous={self.synchronous!r})"

    def __enter__(self) -> CallLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    @property
    def closed(self) -> bool:
        return self._conn is None

    def record(self, row: Mapping[str, Any]) -> int:
        """Insert one row (a mapping of column names) and commit; return its ``id``.

        Missing and ``None`` columns are NULL, but ``simulated`` (0) and ``client_version``.
        """
        values = tuple(row.values())
        if None in values:  # bind only the values there are (see _SHAPES)
            _check_columns(row)
            row = {name: value for name, value in row.items() if value is not None}
            values = tuple(row.values())
        return self.record_columns(tuple(row), values)

    def record_columns(self, names: tuple[str, ...], values: tuple[Any, ...]) -> int:
        """Insert one row given as its column names and their values, commit, return its ``id``.

        The writers' fast form of :meth:`record`: ``names`` are checked the first time their
        shape is met.  A column left out is NULL, but ``simulated`` (0) and ``client_version``,
        which get their defaults only when left out; a ``None`` given is NULL, slower to bind.
        """
        sql = _SHAPES.get(names) or _shape_sql(names)
        with self._lock:
            if self._conn is None or self._forked:
                self._connection()
            cursor = self._cursor
            cursor.execute(sql, values)
            return cursor.lastrowid or 0

    def record_many(self, rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> int:
        """Insert many rows in one transaction; return how many.

        Each row is a mapping of column names or a tuple of values in ``INSERT_COLUMNS`` order (the
        fastest form).  Values must be plain Python scalars.  Only the first mapping's keys are
        checked against the schema.
        """
        checked = False
        width = len(INSERT_COLUMNS)

        def values() -> Iterator[Sequence[Any]]:
            nonlocal checked
            for row in rows:
                if isinstance(row, tuple | list):
                    if len(row) != width:
                        raise ValidationError(
                            "row", f"{len(row)} values, expected {width} (INSERT_COLUMNS order)"
                        )
                    yield row
                elif isinstance(row, Mapping):
                    if not checked:
                        _check_columns(row)
                        checked = True
                    yield row_values(row)
                else:
                    raise ValidationError("row", "must be a mapping or a tuple", type(row).__name__)

        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = conn.executemany(_INSERT_SQL, values())
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return max(cursor.rowcount, 0)

    def count(self) -> int:
        """Rows in the log."""
        with self.reading() as conn:
            return int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection to read the log with (a fresh one for files; the writer's for ``:memory:``)."""
        if self._memory:
            with self._lock:
                yield self._connection()
            return
        conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            yield conn
        finally:
            conn.close()
