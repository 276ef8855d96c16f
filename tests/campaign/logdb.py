"""A schema-shaped call log built straight from ``faceid_tools.calllog.schema`` (no client)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from faceid_tools.calllog import schema

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


def make_log(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(schema.create_table_sql())
    for sql in schema.INDEXES_SQL:
        conn.execute(sql)
    return conn


def add_row(conn: sqlite3.Connection, **values: Any) -> None:
    row = {name: None for name in schema.INSERT_COLUMNS}
    row.update(attempt=1, simulated=0)
    row.update(values)
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    conn.execute(f"INSERT INTO calls ({cols}) VALUES ({marks})", tuple(row.values()))


def add_call(
    conn: sqlite3.Connection,
    campaign_id: str,
    index: int,
    t: float,
    *,
    outcome: str = "ok",
    code: str | None = None,
    attempt: int = 1,
    download: str | None = "ok",
    sha: str | None = None,
    latency_ms: float = 100.0,
) -> None:
    """One GenerateReflectSequence attempt and (if ok and ``download``) its download row."""
    call_id = f"{campaign_id}-{index:06d}"
    add_row(
        conn,
        call_id=call_id,
        campaign_id=campaign_id,
        action="GenerateReflectSequence",
        region="ap-singapore",
        security_level="4",
        started_at=at(t),
        latency_ms=latency_ms,
        outcome=outcome,
        error_code=code,
        attempt=attempt,
    )
    if outcome == "ok" and download is not None:
        add_row(
            conn,
            call_id=call_id,
            campaign_id=campaign_id,
            action="DownloadSequence",
            region="ap-singapore",
            started_at=at(t + latency_ms / 1000),
            outcome=download,
            seq_sha256=sha or f"{index:064x}",
            seq_md5_ok=0 if download == "integrity_error" else 1,
        )
