"""A simulated log is the twin of a real one: the same calls made through the emulator (a campaign)
and drawn by ``simulate`` from the same profile give logs with the same columns, vocabularies and
formats -- values aside (latencies, hosts, ids).  Both follow
:mod:`faceid_tools.calllog.conventions`."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from faceid_tools.calllog import conventions
from faceid_tools.campaign import run_campaign
from faceid_tools.emulator.exceptions import DRAWN_MESSAGES
from faceid_tools.emulator.profile import Profile
from faceid_tools.emulator.server import Emulator
from faceid_tools.simulate import simulate

FAST = {"rate": 100.0, "quota": 100.0, "progress": False}
CALLS = 96  # 12 cells x 8
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
MD5 = re.compile(r"[0-9a-f]{32}")
HOST = re.compile(r"[A-Za-z0-9.-]+(:\d+)?")
INTEGRITY = re.compile(r"light sequence from \S+ hashes to [0-9a-f]{32}, expected [0-9a-f]{32}")


def faulty_profile() -> Profile:
    d = Profile.default().as_dict()
    for region in d["regions"].values():
        region["faults"] = {"InternalError": 0.2, "FailedOperation.DownLoadError": 0.1}
    d["sequences"] = {"duplicate_rate": 0.1, "corrupt_rate": 0.25}
    d["download"]["timeout_ms"] = 600_000  # no rare timeout code in one log and not the other
    return Profile.from_dict(d, name="faulty")


def table(path: Path) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    conn = sqlite3.connect(str(path))
    conn.row_factory = sqlite3.Row
    try:
        columns = [(r[1], r[2]) for r in conn.execute("PRAGMA table_info(calls)")]
        rows = [
            dict(r)
            for r in conn.execute(
                "SELECT * FROM calls WHERE action IN (?, ?) ORDER BY id",
                (conventions.GENERATE, conventions.DOWNLOAD),
            )
        ]
    finally:
        conn.close()
    return columns, rows


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list, list]]:
    tmp = tmp_path_factory.mktemp("twins")
    profile = faulty_profile()
    real, sim = tmp / "real.sqlite", tmp / "sim.sqlite"
    with Emulator(profile, seed=3, quota=False, time_scale=0.0) as emu:
        run_campaign(emu, per_cell=CALLS // 12, log=real, retries=1, seed=3, **FAST)
    simulate(CALLS, sim, profile=profile, seed=3, retries=1)
    return {"real": table(real), "simulated": table(sim)}


def test_same_columns_and_types(logs: dict[str, tuple[list, list]]) -> None:
    assert logs["real"][0] == logs["simulated"][0]


@pytest.mark.parametrize("kind", ["real", "simulated"])
def test_rows_follow_the_conventions(
    logs: dict[str, tuple[list, list]], kind: str, request: pytest.FixtureRequest
) -> None:
    _, rows = logs[kind]
    grs = [r for r in rows if r["action"] == conventions.GENERATE]
    downloads = [r for r in rows if r["action"] == conventions.DOWNLOAD]
    assert len({r["call_id"] for r in grs}) == CALLS
    campaign = rows[0]["campaign_id"]
    for r in rows:
        assert conventions.plan_index(campaign, r["call_id"]) is not None, r["call_id"]
        assert TIME.fullmatch(r["started_at"]), r["started_at"]
        assert r["outcome"] in conventions.OUTCOMES
        assert HOST.fullmatch(r["endpoint"]), r["endpoint"]
        assert r["http_status"] == 200
        assert r["simulated"] == (kind == "simulated")
        assert r["queued_ms"] is not None and r["latency_ms"] > 0
        for url in ("device_data_url", "sequence_url"):
            assert r[url] is None or ("?" not in r[url] and r[url].startswith("http")), r[url]
    for r in grs:
        assert r["security_level"] in conventions.LEVELS
        assert UUID4.fullmatch(r["request_id"]), r["request_id"]
        assert MD5.fullmatch(r["device_data_md5"])
        assert r["seq_sha256"] is None
        assert (r["outcome"] == "ok") == (r["error_code"] is None)
        if r["error_code"] is not None:  # the service's words, as the emulator serves them
            assert r["outcome"] == conventions.API_ERROR
            assert r["error_message"] == DRAWN_MESSAGES[r["error_code"]]
    for r in downloads:
        assert r["security_level"] is None
        assert MD5.fullmatch(r["sequence_md5"]) and len(r["seq_sha256"]) == 64
        assert r["seq_size"] > 0 and r["seq_format"] in ("FRSQ1", None)  # None: a damaged header
        if r["outcome"] == conventions.INTEGRITY_ERROR:
            assert r["error_code"] == "IntegrityError" and r["seq_md5_ok"] == 0
            assert INTEGRITY.fullmatch(r["error_message"]), r["error_message"]
        else:
            assert r["outcome"] == conventions.OK and r["seq_md5_ok"] == 1


def test_same_vocabularies(logs: dict[str, tuple[list, list]]) -> None:
    def vocab(rows: list[dict[str, Any]]) -> dict[str, set[Any]]:
        return {
            column: {(r["action"], r[column]) for r in rows}
            for column in ("outcome", "error_code", "attempt", "security_level", "seq_md5_ok")
        }

    real, sim = vocab(logs["real"][1]), vocab(logs["simulated"][1])
    assert real == sim


def test_simulated_retries_wait_as_the_client_does(logs: dict[str, tuple[list, list]]) -> None:
    """The client's back-off: retry 1 waits at most BACKOFF_BASE_S after the failed attempt."""
    from datetime import datetime

    rows = [r for r in logs["simulated"][1] if r["action"] == conventions.GENERATE]
    first = {r["call_id"]: r for r in rows if r["attempt"] == 1}
    retried = [r for r in rows if r["attempt"] == 2]
    assert retried
    ceiling = conventions.backoff_ceiling(1)
    for r in retried:
        before = first[r["call_id"]]
        ended = (
            datetime.fromisoformat(before["started_at"]).timestamp() + before["latency_ms"] / 1e3
        )
        gap = datetime.fromisoformat(r["started_at"]).timestamp() - ended
        assert -0.002 <= gap <= ceiling + 0.002


def test_iso_utc_is_the_text_datetime_gives() -> None:
    """``started_at`` is formatted per second and per call; it must stay byte-identical to
    ``datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")``, rounding included."""
    import math
    import random
    from datetime import UTC, datetime

    rng = random.Random(14)
    stamps = [0.0, 1.0, -1.0, 0.5e-6, 1.5e-6, 2.5e-6, -0.5e-6, 0.9999995, 0.9999994999, -1e-7]
    stamps += [1_780_000_000 + k * 0.5e-6 for k in range(-3, 4)]  # halfway cases, both ways
    for _ in range(20_000):
        ts = rng.choice(
            [
                rng.uniform(-2e9, 4.1e9),
                1.78e9 + rng.uniform(0, 86_400),
                rng.randrange(2**31) + 0.5e-6 * rng.randrange(2_000_001),
            ]
        )
        stamps += [ts, math.nextafter(ts, math.inf), math.nextafter(ts, -math.inf)]
    for ts in stamps:
        want = datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")
        assert conventions.iso_utc(ts) == want, ts
    assert TIME.fullmatch(conventions.iso_utc(1_780_000_000.25))
