"""Campaign bookkeeping in the call log's own SQLite file, beside the ``calls`` table.

Three tables, created here with ``CREATE TABLE IF NOT EXISTS`` (the call log's schema is not
touched):

* ``campaigns``: one row per campaign, the parameters that rebuild its plan;
* ``campaign_runs``: one row per run (the first, then each resume), with how it ended;
* ``campaign_calls``: one row per finished plan call (its final status), written after the
  call's last exchange is in ``calls``.

Every write is one short transaction, so a killed process leaves the file intact.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._version import __version__
from ..calllog.conventions import RUN_MODE_FIXED, RUN_MODES
from ..errors import FaceIDError, InputError
from .plan import Plan

SCHEMA_SQL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS campaigns (
  campaign_id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  regions TEXT NOT NULL,
  levels TEXT NOT NULL,
  per_cell INTEGER NOT NULL,
  seed INTEGER NOT NULL,
  plan_size INTEGER NOT NULL,
  plan_sha256 TEXT NOT NULL,
  retries INTEGER NOT NULL,
  device_data TEXT NOT NULL,
  endpoint TEXT,
  client_version TEXT,
  run_mode TEXT NOT NULL DEFAULT 'fixed'
)""",
    """CREATE TABLE IF NOT EXISTS campaign_runs (
  campaign_id TEXT NOT NULL,
  run INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  status TEXT NOT NULL,
  rate REAL,
  interval_s REAL,
  to_do INTEGER,
  dispatched INTEGER,
  finished INTEGER,
  abandoned INTEGER,
  PRIMARY KEY (campaign_id, run)
)""",
    """CREATE TABLE IF NOT EXISTS campaign_calls (
  campaign_id TEXT NOT NULL,
  plan_index INTEGER NOT NULL,
  call_id TEXT NOT NULL,
  run INTEGER NOT NULL,
  region TEXT NOT NULL,
  security_level TEXT NOT NULL,
  status TEXT NOT NULL,
  error_code TEXT,
  finished_at TEXT NOT NULL,
  PRIMARY KEY (campaign_id, plan_index)
)""",
)

#: Final statuses of a plan call (``campaign_calls.status``).
CALL_STATUSES: tuple[str, ...] = (
    "ok",  # sequence generated, downloaded, MD5 verified
    "integrity_error",  # downloaded bytes failed their MD5
    "download_failed",  # the sequence could not be downloaded
    "api_error",  # GenerateReflectSequence failed (final attempt)
    "failed",  # anything else (transport, bad response, unexpected exception)
)


def utc_now() -> str:
    """Now, UTC, ISO-8601 with microseconds (the call log's format)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class CampaignExistsError(FaceIDError, ValueError):
    """A new campaign was asked for with an id the log already holds."""


class UnknownCampaignError(FaceIDError, LookupError):
    """A resume named a campaign the log does not hold."""


@dataclass(frozen=True)
class CampaignRecord:
    """A stored campaign: its plan and how it was set up."""

    campaign_id: str
    created_at: str
    plan: Plan
    retries: int
    device_data: str  # "upload" or "given"
    endpoint: str | None
    run_mode: str = RUN_MODE_FIXED  # "fixed" plan, or "until-decided" (adaptive)


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection to the log file in WAL mode, waiting on locks held by other writers."""
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


class CampaignStore:
    """Reads and writes the campaign tables of one log file (thread-safe)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(self.path)
        self._lock = threading.Lock()
        with self._tx() as c:
            for sql in SCHEMA_SQL:
                c.execute(sql)
            columns = {row[1] for row in c.execute("PRAGMA table_info(campaigns)")}
            if "run_mode" not in columns:  # migration: files written before run_mode existed
                c.execute("ALTER TABLE campaigns ADD COLUMN run_mode TEXT NOT NULL DEFAULT 'fixed'")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> CampaignStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- campaigns ---------------------------------------------------------------------------

    def create(
        self,
        campaign_id: str,
        plan: Plan,
        *,
        retries: int,
        device_data: str,
        endpoint: str | None,
        run_mode: str = RUN_MODE_FIXED,
    ) -> CampaignRecord:
        """Store a new campaign; raise :class:`CampaignExistsError` if the id is taken."""
        if run_mode not in RUN_MODES:
            raise ValueError(f"run_mode must be one of {', '.join(RUN_MODES)}, got {run_mode!r}")
        created = utc_now()
        with self._tx() as c:
            if c.execute(
                "SELECT 1 FROM campaigns WHERE campaign_id = ?", (campaign_id,)
            ).fetchone():
                raise CampaignExistsError(
                    f"campaign {campaign_id!r} is already in {self.path}; resume it instead"
                )
            p = plan.params()
            c.execute(
                "INSERT INTO campaigns (campaign_id, created_at, regions, levels, per_cell, seed,"
                " plan_size, plan_sha256, retries, device_data, endpoint, client_version,"
                " run_mode) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    campaign_id,
                    created,
                    json.dumps(p["regions"]),
                    json.dumps(p["levels"]),
                    p["per_cell"],
                    p["seed"],
                    len(plan),
                    plan.fingerprint(),
                    retries,
                    device_data,
                    endpoint,
                    __version__,
                    run_mode,
                ),
            )
        return CampaignRecord(campaign_id, created, plan, retries, device_data, endpoint, run_mode)

    def load(self, campaign_id: str) -> CampaignRecord:
        """The stored campaign; raise :class:`UnknownCampaignError` if there is none."""
        with self._lock:
            row = self._conn.execute(
                "SELECT created_at, regions, levels, per_cell, seed, plan_sha256, retries,"
                " device_data, endpoint, run_mode FROM campaigns WHERE campaign_id = ?",
                (campaign_id,),
            ).fetchone()
        if row is None:
            raise UnknownCampaignError(f"no campaign {campaign_id!r} in {self.path}")
        created, regions, levels, per_cell, seed, sha, retries, device_data, endpoint, mode = row
        plan = Plan(tuple(json.loads(regions)), tuple(json.loads(levels)), per_cell, seed)
        if plan.fingerprint() != sha:
            raise InputError(
                f"campaign {campaign_id!r}: the rebuilt plan differs from the stored one"
            )
        return CampaignRecord(campaign_id, created, plan, retries, device_data, endpoint, mode)

    def campaign_ids(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT campaign_id FROM campaigns ORDER BY created_at"
            ).fetchall()
        return [r[0] for r in rows]

    # --- runs --------------------------------------------------------------------------------

    def start_run(self, campaign_id: str, *, rate: float, interval_s: float, to_do: int) -> int:
        """Record the start of a run; return its number (1 for the first)."""
        with self._tx() as c:
            (last,) = c.execute(
                "SELECT COALESCE(MAX(run), 0) FROM campaign_runs WHERE campaign_id = ?",
                (campaign_id,),
            ).fetchone()
            run = int(last) + 1
            c.execute(
                "INSERT INTO campaign_runs (campaign_id, run, started_at, status, rate,"
                " interval_s, to_do) VALUES (?,?,?,?,?,?,?)",
                (campaign_id, run, utc_now(), "running", rate, interval_s, to_do),
            )
        return run

    def end_run(
        self,
        campaign_id: str,
        run: int,
        *,
        status: str,
        dispatched: int,
        finished: int,
        abandoned: int,
    ) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE campaign_runs SET ended_at = ?, status = ?, dispatched = ?, finished = ?,"
                " abandoned = ? WHERE campaign_id = ? AND run = ?",
                (utc_now(), status, dispatched, finished, abandoned, campaign_id, run),
            )

    def runs(self, campaign_id: str) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._conn.execute(
                "SELECT * FROM campaign_runs WHERE campaign_id = ? ORDER BY run", (campaign_id,)
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # --- finished calls ----------------------------------------------------------------------

    def finish_call(
        self,
        campaign_id: str,
        plan_index: int,
        call_id: str,
        *,
        run: int,
        region: str,
        level: str,
        status: str,
        error_code: str | None,
    ) -> None:
        """Mark a plan call finished (after its last exchange is logged)."""
        if status not in CALL_STATUSES:
            raise InputError(f"unknown call status {status!r}")
        with self._tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO campaign_calls VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    campaign_id,
                    plan_index,
                    call_id,
                    run,
                    region,
                    level,
                    status,
                    error_code,
                    utc_now(),
                ),
            )

    def finished_calls(self, campaign_id: str) -> dict[int, str]:
        """Plan index -> final status, for every call marked finished."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT plan_index, status FROM campaign_calls WHERE campaign_id = ?",
                (campaign_id,),
            ).fetchall()
        return {int(i): s for i, s in rows}
