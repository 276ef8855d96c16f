"""SIGKILL a ``faceid-tools probe`` subprocess at a random moment, resume it, and audit the log.

Used by the fast test (``test_kill_resume.py``); ``tests/reliability/crash.py`` (20 kills in
``make reliability``) builds its probe command with :func:`probe_command` too.
The emulator runs in this process, so it outlives the killed prober and its counters tell how many
requests reached it.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from faceid_tools.campaign.plan import Plan
from faceid_tools.campaign.records import CampaignStore
from faceid_tools.campaign.resume import completed_indices
from faceid_tools.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
GRS = "GenerateReflectSequence"
#: Columns every row must have, and those a successful row of an action must have.
REQUIRED = (
    "call_id",
    "attempt",
    "campaign_id",
    "action",
    "region",
    "endpoint",
    "started_at",
    "queued_ms",
    "latency_ms",
    "outcome",
    "client_version",
)
REQUIRED_OK = {
    GRS: ("request_id", "security_level", "device_data_url", "sequence_url", "sequence_md5"),
    "DownloadSequence": ("http_status", "seq_size", "seq_md5_ok", "seq_sha256", "seq_entropy"),
}


@dataclass
class KillResult:
    """What one kill-then-resume run found."""

    killed_after_s: float  #: seconds after the first GenerateReflectSequence row
    rows_at_kill: int
    integrity_at_kill: str
    integrity: str  #: PRAGMA integrity_check after the resume
    rows_lost: int  #: rows seen before the kill (or on disk after it) missing or changed later
    incomplete_rows: int  #: rows lacking a column they must have
    duplicated_calls: int  #: calls complete at the kill that were made again
    missing_calls: int  #: plan calls still incomplete after the resume
    unlogged_at_kill: int  #: requests the emulator answered with no row (in flight at the kill)
    redone: int  #: calls started but incomplete at the kill (made again on resume)
    resumed_exactly_pending: bool  #: the resume touched exactly the calls pending at the kill


def probe_command(log: Path, endpoint: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "faceid_tools",
        "probe",
        "--endpoint",
        endpoint,
        "--log",
        str(log),
        "--quiet",
        *extra,
    ]


def probe_env(emu: Emulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENCENTCLOUD_")}
    env["TENCENTCLOUD_SECRET_ID"] = emu.credential.secret_id
    env["TENCENTCLOUD_SECRET_KEY"] = emu.credential.secret_key
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _grs_rows(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    conn = sqlite3.connect(f"file:{log}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(
            "SELECT call_id, started_at FROM calls WHERE action = ? ORDER BY id", (GRS,)
        ).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def _all_rows(log: Path) -> dict[int, tuple]:
    """Every row of ``calls`` as a reader sees the file now (id -> row)."""
    if not log.exists():
        return {}
    conn = sqlite3.connect(f"file:{log}?mode=ro", uri=True, timeout=30)
    try:
        return {int(r[0]): tuple(r) for r in conn.execute("SELECT * FROM calls")}
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()


def _grs_served(emu: Emulator) -> int:
    deadline = time.monotonic() + 30
    while emu.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.02)
    return sum(emu.stats()["outcomes"].get(GRS, {}).values())


def _rows_per_call(conn: sqlite3.Connection, cid: str) -> dict[str, int]:
    return dict(
        conn.execute(
            "SELECT call_id, COUNT(*) FROM calls WHERE campaign_id = ? AND action = ?"
            " GROUP BY call_id",
            (cid, GRS),
        ).fetchall()
    )


def _incomplete_rows(conn: sqlite3.Connection) -> int:
    bad = 0
    cur = conn.execute("SELECT * FROM calls")
    names = [d[0] for d in cur.description]
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        if (
            any(row[c] is None for c in REQUIRED)
            or (
                row["outcome"] == "ok"
                and any(row[c] is None for c in REQUIRED_OK.get(row["action"], ()))
            )
            or (row["outcome"] != "ok" and row["error_code"] is None)
        ):
            bad += 1
    return bad


def kill_and_resume(
    log: Path,
    *,
    per_cell: int = 4,
    rng: random.Random,
    rate: float = 5.0,
    quota: float = 5.0,
    profile: str = "default",
    time_scale: float = 1.0,
) -> KillResult:
    """Run, SIGKILL at a random moment, audit, resume to the end, audit again."""
    cid = f"kill-{rng.randrange(1 << 32):08x}"
    with Emulator(profile, time_scale=time_scale, quota=quota <= 5.0) as emu:
        env = probe_env(emu)
        args = ["--rate", str(rate), "--quota", str(quota)]
        cmd = probe_command(
            log,
            emu.endpoint,
            "--per-cell",
            str(per_cell),
            "--seed",
            "11",
            "--campaign-id",
            cid,
            *args,
        )
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while not _grs_rows(log) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            first = time.monotonic()
            expected = 12 * per_cell / min(rate, quota)
            time.sleep(rng.uniform(0.0, 0.9 * expected))
            seen_before = _all_rows(log)
            os.kill(proc.pid, signal.SIGKILL)
            killed_after = time.monotonic() - first
        finally:
            proc.wait(30)
        served = _grs_served(emu)

        on_disk = _all_rows(log)
        conn = sqlite3.connect(str(log), timeout=30)
        integrity_at_kill = conn.execute("PRAGMA integrity_check").fetchone()[0]
        rows_at_kill = conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
        logged = conn.execute("SELECT COUNT(*) FROM calls WHERE action = ?", (GRS,)).fetchone()[0]
        with CampaignStore(log) as store:
            record = store.load(cid)
            done_at_kill = completed_indices(
                store.connection, cid, retries=record.retries, marked=set(store.finished_calls(cid))
            )
        plan: Plan = record.plan
        before = _rows_per_call(conn, cid)
        conn.close()

        resume = subprocess.run(
            probe_command(log, emu.endpoint, "--resume", cid, *args),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if resume.returncode != 0:
            raise RuntimeError(f"resume failed ({resume.returncode}): {resume.stderr[-2000:]}")

    conn = sqlite3.connect(str(log), timeout=30)
    try:
        after = _rows_per_call(conn, cid)
        touched = {plan_index(cid, c) for c, n in after.items() if n > before.get(c, 0)}
        pending_at_kill = {e.index for e in plan.entries} - done_at_kill
        with CampaignStore(log) as store:
            done = completed_indices(
                store.connection, cid, retries=record.retries, marked=set(store.finished_calls(cid))
            )
        started_at_kill = {plan_index(cid, c) for c in before}
        final = _all_rows(log)
        lost = {i for i, row in seen_before.items() if on_disk.get(i) != row}
        lost |= {i for i, row in on_disk.items() if final.get(i) != row}
        return KillResult(
            killed_after_s=round(killed_after, 3),
            rows_at_kill=rows_at_kill,
            integrity_at_kill=integrity_at_kill,
            integrity=conn.execute("PRAGMA integrity_check").fetchone()[0],
            rows_lost=len(lost),
            incomplete_rows=_incomplete_rows(conn),
            duplicated_calls=len(touched & done_at_kill),
            missing_calls=len(pending_at_kill - done) + len(set(range(len(plan))) - done),
            unlogged_at_kill=served - logged,
            redone=len(started_at_kill & pending_at_kill),
            resumed_exactly_pending=touched == pending_at_kill,
        )
    finally:
        conn.close()


def plan_index(cid: str, call_id: str) -> int:
    return int(call_id[len(cid) + 1 :])
