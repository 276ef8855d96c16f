"""SIGKILL ``faceid-tools probe`` at random moments, ``--resume`` it, and audit the log each time.

A *series* runs campaigns against one emulator (in this process, so it outlives the prober): each
run of ``faceid-tools probe`` (the first, or a ``--resume``) is SIGKILLed at a random moment until
the series has made its kills; a killed campaign is resumed, and the resume may be killed again;
the last resume of each campaign runs to the end.

Audited independently of the campaign code (the log is read with plain ``sqlite3``):

* **lost**: every row a reader could see just before the kill, and every row on disk just after
  it, is still there, unchanged, after the campaign completes (and after the kill itself);
* **duplicated**: no plan index has two complete executions (a successful
  ``GenerateReflectSequence`` with its download, or a final failure), and no call complete at a
  kill gets any new row afterwards;
* ``PRAGMA integrity_check`` is ``ok`` after every kill and at the end;
* the plan is completed: every index has exactly one complete execution and is marked finished.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceid_tools.campaign.records import CampaignStore
from faceid_tools.client.regions import REGIONS
from faceid_tools.client.retry import RETRYABLE_HTTP_STATUSES
from faceid_tools.emulator.profile import Profile
from faceid_tools.emulator.server import Emulator
from faceid_tools.errors import is_retryable_code
from tests.campaign.killing import probe_command

ROOT = Path(__file__).resolve().parents[2]
GRS = "GenerateReflectSequence"
DOWNLOAD = "DownloadSequence"
LEVELS = ("1", "2", "3", "4")
#: Share of kills aimed at a run's start-up (import, plan, upload) rather than its calls.
STARTUP_SHARE = 0.15
#: Seconds a run gets to finish when it is not killed.
RUN_TIMEOUT_S = 300.0

Row = tuple[Any, ...]


def crash_profile() -> Profile:
    """The default profile with faults frequent enough that kills land around retries too."""
    d = Profile.default().as_dict()
    d["name"] = "crash"
    for region in d["regions"].values():
        region["faults"] = {
            "InternalError": 0.06,
            "ServiceUnavailable": 0.03,
            "FailedOperation.DownLoadError": 0.02,
        }
    d["sequences"] = {"duplicate_rate": 0.01, "corrupt_rate": 0.03}
    return Profile.from_dict(d)


def read_rows(log: Path) -> dict[int, Row]:
    """Every row of ``calls`` (id -> the whole row), as a reader sees the file now."""
    if not log.exists():
        return {}
    conn = sqlite3.connect(f"file:{log}?mode=ro", uri=True, timeout=30)
    try:
        return {int(r[0]): tuple(r) for r in conn.execute("SELECT * FROM calls ORDER BY id")}
    except sqlite3.OperationalError as exc:  # no table yet
        if "no such table" in str(exc):
            return {}
        raise
    finally:
        conn.close()


def integrity(log: Path) -> str:
    conn = sqlite3.connect(str(log), timeout=30)
    try:
        return "; ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


def _has_row(log: Path, rid: int) -> bool:
    if not log.exists():
        return False
    conn = sqlite3.connect(f"file:{log}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT 1 FROM calls WHERE id >= ?", (rid,)).fetchone() is not None
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return False
        raise
    finally:
        conn.close()


def campaign_stored(log: Path, cid: str) -> bool:
    """The campaign is in the log (a run killed before storing it must be started again)."""
    if not log.exists():
        return False
    conn = sqlite3.connect(f"file:{log}?mode=ro", uri=True, timeout=30)
    try:
        return (
            conn.execute("SELECT 1 FROM campaigns WHERE campaign_id = ?", (cid,)).fetchone()
            is not None
        )
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return False
        raise
    finally:
        conn.close()


def columns(log: Path) -> list[str]:
    conn = sqlite3.connect(str(log), timeout=30)
    try:
        return [r[1] for r in conn.execute("PRAGMA table_info(calls)")]
    finally:
        conn.close()


def is_final_failure(
    outcome: str, code: str | None, status: int | None, attempt: int, retries: int
) -> bool:
    """A failed attempt the client's policy does not retry (so the call is over)."""
    if attempt >= retries + 1:
        return True
    if outcome in ("timeout", "network_error"):
        return False
    if outcome == "http_error":
        return status not in RETRYABLE_HTTP_STATUSES
    if outcome == "api_error":
        return not (code and is_retryable_code(code))
    return True


def plan_index(call_id: str | None, cid: str) -> int | None:
    """The plan index of a campaign call id (``<cid>-NNNNNN``), None for other rows (uploads)."""
    if not call_id or not call_id.startswith(cid + "-"):
        return None
    tail = call_id[len(cid) + 1 :]
    return int(tail) if tail.isdigit() else None


def executions(
    rows: dict[int, Row], names: list[str], cid: str, retries: int
) -> dict[int, list[int]]:
    """Plan index -> ids of the rows that completed an execution of it (one per execution).

    An execution completes with a successful ``GenerateReflectSequence`` followed by its download
    row (whatever the download's outcome), or with a final failed attempt.
    """
    col = {n: i for i, n in enumerate(names)}
    pending_ok: dict[int, bool] = defaultdict(bool)
    done: dict[int, list[int]] = defaultdict(list)
    for rid in sorted(rows):
        r = rows[rid]
        index = plan_index(r[col["call_id"]], cid)
        if r[col["campaign_id"]] != cid or index is None:
            continue
        action, outcome = r[col["action"]], r[col["outcome"]]
        if action == GRS:
            if outcome == "ok":
                pending_ok[index] = True
            else:
                pending_ok[index] = False
                if is_final_failure(
                    outcome,
                    r[col["error_code"]],
                    r[col["http_status"]],
                    int(r[col["attempt"]] or 1),
                    retries,
                ):
                    done[index].append(rid)
        elif action == DOWNLOAD and pending_ok[index]:
            pending_ok[index] = False
            done[index].append(rid)
    return dict(done)


def call_rows(rows: dict[int, Row], names: list[str], cid: str) -> dict[int, list[int]]:
    """Plan index -> ids of all its rows."""
    col = {n: i for i, n in enumerate(names)}
    out: dict[int, list[int]] = defaultdict(list)
    for rid, r in rows.items():
        index = plan_index(r[col["call_id"]], cid)
        if r[col["campaign_id"]] == cid and index is not None:
            out[index].append(rid)
    return out


@dataclass
class Kill:
    """One SIGKILL and what the log looked like around it."""

    campaign: str
    run: str  #: "start" or "resume N"
    after_s: float  #: seconds after the run was started
    seen: dict[int, Row]  #: rows a reader saw right before the kill
    at_kill: dict[int, Row]  #: rows on disk right after the process died
    integrity: str
    lost_at_kill: int
    rows_by_run: int  #: rows the killed run had committed
    complete_at_kill: set[int]
    lost_later: int = 0
    duplicated: int = 0


@dataclass
class CampaignAudit:
    campaign: str
    planned: int
    runs: int
    kills: list[Kill] = field(default_factory=list)
    completed: int = 0
    marked: int = 0
    double_executions: int = 0
    integrity: str = ""
    exit_code: int | None = None


@dataclass
class Series:
    """A kill series: its settings, its run (:meth:`run`) and the audits it produced."""

    workdir: Path
    kills: int
    per_cell: int
    rng: random.Random
    rate: float = 20.0
    retries: int = 1
    time_scale: float = 0.1
    audits: list[CampaignAudit] = field(default_factory=list)
    startup_s: float = 2.0  #: running estimate of a run's start-up time (import, plan)

    @property
    def planned(self) -> int:
        return len(REGIONS) * len(LEVELS) * self.per_cell

    def run(self) -> list[CampaignAudit]:
        with Emulator(
            crash_profile(),
            seed=self.rng.randrange(1 << 30),
            quota=False,
            time_scale=self.time_scale,
        ) as emu:
            env = {k: v for k, v in os.environ.items() if not k.startswith("TENCENTCLOUD_")}
            env.update(
                TENCENTCLOUD_SECRET_ID=emu.credential.secret_id,
                TENCENTCLOUD_SECRET_KEY=emu.credential.secret_key,
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            )
            made = 0
            while made < self.kills:
                audit = self._campaign(emu.endpoint, env, len(self.audits), self.kills - made)
                self.audits.append(audit)
                made += len(audit.kills)
        return self.audits

    def _command(self, endpoint: str, log: Path, *extra: str) -> list[str]:
        return probe_command(
            log,
            endpoint,
            "--rate",
            str(self.rate),
            "--quota",
            str(10 * self.rate),
            "--timeout",
            "5",
            *extra,
        )

    def _campaign(
        self, endpoint: str, env: dict[str, str], number: int, budget: int
    ) -> CampaignAudit:
        cid = f"crash{number:02d}-{self.rng.randrange(1 << 24):06x}"
        log = self.workdir / f"{cid}.sqlite"
        audit = CampaignAudit(cid, self.planned, 0)
        names: list[str] = []
        step = 0
        seed = self.rng.randrange(1 << 30)
        while True:
            if not campaign_stored(log, cid):
                cmd = self._command(
                    endpoint,
                    log,
                    "--per-cell",
                    str(self.per_cell),
                    "--retries",
                    str(self.retries),
                    "--seed",
                    str(seed),
                    "--campaign-id",
                    cid,
                )
                label = "start" if step == 0 else f"start again {step}"
            else:
                cmd = self._command(endpoint, log, "--resume", cid)
                label = f"resume {step}"
            before = read_rows(log)
            out = self.workdir / f"{cid}-{step}.out"
            with open(out, "wb") as sink:
                t0 = time.monotonic()
                proc = subprocess.Popen(
                    cmd, cwd=self.workdir, env=env, stdout=sink, stderr=subprocess.STDOUT
                )
                audit.runs += 1
                remaining = self.planned - len(executions(before, names, cid, self.retries))
                try:
                    if len(audit.kills) < budget:
                        during_startup = self.rng.random() < STARTUP_SHARE
                        kill = self._kill_at(
                            proc,
                            log,
                            t0,
                            first_id=max(before, default=0) + 1,
                            startup=during_startup,
                            window=remaining / self.rate,
                        )
                        if kill is not None:
                            if not names:
                                names = columns(log) if log.exists() else []
                            kill.campaign, kill.run = cid, label
                            kill.rows_by_run = len(kill.at_kill.keys() - before.keys())
                            kill.complete_at_kill = (
                                set(executions(kill.at_kill, names, cid, self.retries))
                                if names
                                else set()
                            )
                            audit.kills.append(kill)
                            step += 1
                            continue
                    code = proc.wait(RUN_TIMEOUT_S)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait(30)
            audit.exit_code = code
            if code != 0:
                raise AssertionError(f"{cid} {label} exited {code}:\n{out.read_text()[-3000:]}")
            break
        self._final_audit(audit, log)
        return audit

    def _kill_at(
        self,
        proc: subprocess.Popen[bytes],
        log: Path,
        t0: float,
        *,
        first_id: int,
        startup: bool,
        window: float,
    ) -> Kill | None:
        """SIGKILL ``proc`` at a random moment (None if it finished first).

        ``startup``: anywhere in its start-up (before it writes a row); otherwise at a uniform
        moment of ``window`` seconds counted from its first new row (id ``first_id``).
        """
        if startup:
            deadline = t0 + self.rng.uniform(0.0, self.startup_s)
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    return None
                time.sleep(0.005)
        else:
            while not _has_row(log, first_id):
                if proc.poll() is not None:
                    return None
                time.sleep(0.005)
            self.startup_s = 0.5 * self.startup_s + 0.5 * (time.monotonic() - t0)
            deadline = time.monotonic() + self.rng.uniform(0.0, window)
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    return None
                time.sleep(0.005)
        seen = read_rows(log)
        os.kill(proc.pid, signal.SIGKILL)
        after = time.monotonic() - t0
        proc.wait(30)
        if proc.returncode != -signal.SIGKILL:  # it ended on its own just before the signal
            return None
        at_kill = read_rows(log)
        lost = sum(1 for rid, row in seen.items() if at_kill.get(rid) != row)
        return Kill(
            campaign="",
            run="",
            after_s=after,
            seen=seen,
            at_kill=at_kill,
            integrity=integrity(log) if log.exists() else "ok (no log yet)",
            lost_at_kill=lost,
            rows_by_run=0,
            complete_at_kill=set(),
        )

    def _final_audit(self, audit: CampaignAudit, log: Path) -> None:
        names = columns(log)
        final = read_rows(log)
        cid = audit.campaign
        done = executions(final, names, cid, self.retries)
        per_call = call_rows(final, names, cid)
        for kill in audit.kills:
            kill.lost_later = sum(1 for rid, row in kill.at_kill.items() if final.get(rid) != row)
            top = max(kill.at_kill, default=0)
            kill.duplicated = sum(
                1 for i in kill.complete_at_kill if any(rid > top for rid in per_call.get(i, ()))
            )
        audit.completed = sum(1 for i in range(audit.planned) if len(done.get(i, ())) == 1)
        audit.double_executions = sum(1 for ids in done.values() if len(ids) > 1)
        audit.integrity = integrity(log)
        with CampaignStore(log) as store:
            marked = store.finished_calls(cid)
        audit.marked = sum(1 for i in range(audit.planned) if i in marked)
