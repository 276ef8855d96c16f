"""Schema versions of the call log, kept in ``PRAGMA user_version``, and the path between them.

Version 0 is a file nobody has set up (new, or written by a tool that predates versioning, whose
``calls`` table may lack columns).  Each migration takes the file from version ``n - 1`` to ``n``
inside one ``BEGIN IMMEDIATE`` transaction, so processes opening the same file at once migrate it
exactly once.  A file newer than this code understands is refused rather than written into.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from ..errors import FaceIDError
from . import schema

__all__ = ["MIGRATIONS", "SchemaTooNewError", "migrate", "user_version"]

log = logging.getLogger(__name__)


class SchemaTooNewError(FaceIDError, RuntimeError):
    """The log file was written by a newer faceid-tools (its ``user_version`` is above ours)."""


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _existing_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _to_v1(conn: sqlite3.Connection) -> None:
    """Create the ``calls`` table; add any column an older table lacks."""
    conn.execute(schema.create_table_sql())
    have = set(_existing_columns(conn, "calls"))
    for column in schema.COLUMNS:
        if column.name not in have:
            conn.execute(f"ALTER TABLE calls ADD COLUMN {column.name} {column.sql}")
            log.info("call log: added missing column %s", column.name)


def _to_v2(conn: sqlite3.Connection) -> None:
    """Keep only the indexes queries use (version 1 kept three, paid on every logged row)."""
    for name in ("calls_call_id", "calls_started", "calls_campaign"):
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    for statement in schema.INDEXES_SQL:
        conn.execute(statement)


#: ``MIGRATIONS[n]`` takes a file from version ``n - 1`` to ``n``.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _to_v1, 2: _to_v2}


def migrate(conn: sqlite3.Connection, target: int = schema.SCHEMA_VERSION) -> int:
    """Bring the file to ``target``; return the version it had.  ``conn`` must be in autocommit."""
    found = user_version(conn)
    if found == target:
        return found
    if found > target:
        raise SchemaTooNewError(
            f"call log schema version {found} is newer than this faceid-tools understands "
            f"({target}); upgrade faceid-tools to write to it"
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = user_version(conn)  # another process may have migrated meanwhile
        for version in range(current + 1, target + 1):
            MIGRATIONS[version](conn)
            log.info("call log migrated to schema version %d", version)
        if current < target:
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found
