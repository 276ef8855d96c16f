"""3. Concurrency: 4 processes × 8 threads log through clients into one SQLite file at once.

Every exchange a thread made is a row (counted per process and thread), every exchange the
emulator served is a row, nothing raised (no ``database is locked``), the file is intact.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from faceid_tools.emulator.server import Emulator
from tests.fixtures.emulator import EmulatorFactory
from tests.reliability.conftest import Recorder
from tests.reliability.settings import count

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
THREADS = 8
CALLS = count(4, 40)  #: GenerateReflectSequence calls per thread (each with its download)


def _start(emu: Emulator, log: Path, process: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENCENTCLOUD_")}
    env.update(
        TENCENTCLOUD_SECRET_ID=emu.credential.secret_id,
        TENCENTCLOUD_SECRET_KEY=emu.credential.secret_key,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    cmd = [
        sys.executable,
        "-m",
        "tests.reliability.worker",
        "--endpoint",
        emu.endpoint,
        "--log",
        str(log),
        "--process",
        str(process),
        "--threads",
        str(THREADS),
        "--calls",
        str(CALLS),
    ]
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_processes_and_threads_log_every_exchange(
    emulator_factory: EmulatorFactory, tmp_path: Path, figures: Recorder
) -> None:
    emu = emulator_factory("reliable", quota=False, time_scale=0.0)
    log = tmp_path / "shared.sqlite"
    procs = [_start(emu, log, p) for p in range(PROCESSES)]
    try:
        for proc in procs:  # all set up before any starts
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=600) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    made = {cid: n for r in reports for cid, n in r["made"].items()}
    errors = [e for r in reports for e in r["errors"]]
    stderr = "".join(err for _, err in outputs)

    conn = sqlite3.connect(str(log))
    try:
        logged = dict(
            conn.execute("SELECT campaign_id, COUNT(*) FROM calls GROUP BY campaign_id").fetchall()
        )
        by_action = dict(conn.execute("SELECT action, COUNT(*) FROM calls GROUP BY action"))
        not_ok = conn.execute("SELECT COUNT(*) FROM calls WHERE outcome != 'ok'").fetchone()[0]
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    stats = emu.stats()
    served = {
        "GenerateReflectSequence": sum(
            stats["outcomes"].get("GenerateReflectSequence", {}).values()
        ),
        "CreateUploadUrl": sum(stats["outcomes"].get("CreateUploadUrl", {}).values()),
        "UploadDeviceData": sum(stats["cos"].get("PUT", {}).values()),
        "DownloadSequence": sum(stats["cos"].get("GET", {}).values()),
    }
    expected_total = PROCESSES * THREADS * (2 + 2 * CALLS)
    lost = sum(max(0, n - logged.get(cid, 0)) for cid, n in made.items())
    lost += max(0, sum(served.values()) - sum(logged.values()))
    figures.add(
        f"{PROCESSES} processes × {THREADS} threads × {CALLS} calls (+ upload, downloads)",
        sum(logged.values()),
        lost=lost,
        detail={
            "rows expected": expected_total,
            "exchanges served": sum(served.values()),
            "lock errors": sum("locked" in e for e in errors) + stderr.count("locked"),
            "other errors": len(errors),
            "integrity_check": check,
        },
    )
    assert not errors, errors[:3]
    assert "locked" not in stderr and "Traceback" not in stderr, stderr[-2000:]
    assert all(proc.returncode == 0 for proc in procs)
    assert len(made) == PROCESSES * THREADS
    assert all(n == 2 + 2 * CALLS for n in made.values()), made
    assert logged == made, "rows per process and thread = exchanges it made"
    assert by_action == served, "one row per exchange the emulator served"
    assert not_ok == 0 and check == "ok"
