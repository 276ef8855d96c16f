"""1. The fault matrix: each fault of the wire, one by one, against the client and a campaign.

For every fault of :data:`~tests.reliability.faults.FAULTS`:

* one call through the fault raises exactly the documented typed error, the log holds exactly one
  row per attempt (``attempt`` 1..n, one ``call_id``, the fault's ``outcome`` and status), and the
  attempts and the (injected, never slept) backoff follow the retry policy -- no sleep after the
  last attempt;
* a retryable fault that happens once is retried and the call succeeds on its second attempt;
* a campaign through a server that faults every third ``GenerateReflectSequence`` (or through an
  endpoint where nothing answers) keeps going and completes its plan, with one row per exchange.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from faceid_tools.calllog.store import CallLog
from faceid_tools.campaign import run_campaign
from faceid_tools.campaign.records import CampaignStore
from faceid_tools.client import FaceIDClient
from faceid_tools.client.regions import REGIONS
from faceid_tools.client.retry import is_retryable
from tests.fixtures.servers import FIXTURE_CREDENTIAL, FaultServer
from tests.reliability.conftest import Recorder
from tests.reliability.faults import (
    FAULTS,
    GRS,
    TIMEOUT_S,
    Fault,
    PeriodicFaultServer,
    dead_endpoint,
    is_grs,
)
from tests.reliability.settings import count

DEVICE_URL = "https://faceid-x-1250000000.cos.{region}.myqcloud.com/device/data.bin"
DEVICE_MD5 = "0123456789abcdef0123456789abcdef"
#: Extra attempts the client gets in the matrix (so a retryable fault is tried three times).
RETRIES = 2
#: Campaign calls per region × level cell (12 cells).
PER_CELL = count(1, 4)
#: Every k-th GenerateReflectSequence of the campaign gets the fault.
EVERY = 3

IDS = [f.name for f in FAULTS]


def backoff(n: int) -> float:
    """The injected backoff: distinct per retry so the recorded sleeps show which retry it was."""
    return 0.125 * n


@contextmanager
def endpoint_for(fault: Fault) -> Iterator[tuple[str, FaultServer | None]]:
    if fault.endpoint is not None:
        with dead_endpoint(fault.endpoint) as url:
            yield url, None
    else:
        with FaultServer() as server:
            yield server.endpoint, server


def rows_of(path: Path, call_id: str | None = None) -> list[sqlite3.Row]:
    conn = sqlite3.connect(str(path))
    conn.row_factory = sqlite3.Row
    try:
        sql = "SELECT * FROM calls" + (" WHERE call_id = ?" if call_id else "") + " ORDER BY id"
        return conn.execute(sql, (call_id,) if call_id else ()).fetchall()
    finally:
        conn.close()


def client_for(endpoint: str, log: CallLog, fault: Fault, sleeps: list[float]) -> FaceIDClient:
    return FaceIDClient(
        "ap-singapore",
        endpoint=endpoint,
        credential=FIXTURE_CREDENTIAL,
        log=log,
        rate_limit=None,
        timeout=TIMEOUT_S if fault.slow else 5.0,
        retries=RETRIES,
        backoff=backoff,
        sleep=sleeps.append,
    )


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_one_call_through_the_fault(fault: Fault, tmp_path: Path, figures: Recorder) -> None:
    expected = RETRIES + 1 if fault.retryable else 1
    sleeps: list[float] = []
    path = tmp_path / "calls.sqlite"
    with endpoint_for(fault) as (endpoint, server), CallLog(path) as log:
        if server is not None:
            assert fault.reply is not None
            server.script(*(fault.reply() for _ in range(RETRIES + 1)), when=is_grs)
        with client_for(endpoint, log, fault, sleeps) as client, pytest.raises(Exception) as info:
            client.generate_reflect_sequence(
                DEVICE_URL.format(region="ap-singapore"), DEVICE_MD5, 4, call_id="call-1"
            )
        received = server.count if server is not None else len(sleeps) + 1
    rows = rows_of(path)
    exc = info.value
    figures.add(
        fault.name,
        len(rows),
        rank=FAULTS.index(fault),
        lost=max(0, received - len(rows)),
        detail={
            "typed error": type(exc).__name__,
            "row outcome": ",".join(sorted({r["outcome"] for r in rows})),
            "attempts (rows)": len(rows),
            "retried": "yes" if fault.retryable else "no",
        },
    )
    assert type(exc) is fault.error, f"{fault.name}: {type(exc).__name__}: {exc}"
    assert is_retryable(exc) is fault.retryable
    assert exc.call_id == "call-1" and exc.attempts == expected
    assert received == expected, "requests that reached the server"
    assert len(rows) == expected, "exactly one row per attempt"
    assert [r["attempt"] for r in rows] == list(range(1, expected + 1))
    assert {r["call_id"] for r in rows} == {"call-1"}
    assert {r["action"] for r in rows} == {GRS}
    assert {r["outcome"] for r in rows} == {fault.outcome}
    assert {r["http_status"] for r in rows} == {fault.http_status}
    assert {r["error_code"] for r in rows} == {exc.code}
    assert all(r["latency_ms"] is not None and r["latency_ms"] >= 0 for r in rows)
    assert sleeps == [backoff(n) for n in range(1, expected)], "backoff, never after the last"


@pytest.mark.parametrize(
    "fault", [f for f in FAULTS if f.retryable and f.server_side], ids=lambda f: f.name
)
def test_a_retryable_fault_once_then_success(
    fault: Fault, tmp_path: Path, figures: Recorder
) -> None:
    sleeps: list[float] = []
    path = tmp_path / "calls.sqlite"
    assert fault.reply is not None
    with FaultServer() as server, CallLog(path) as log:
        server.script(fault.reply(), when=is_grs)
        with client_for(server.endpoint, log, fault, sleeps) as client:
            seq = client.generate_reflect_sequence(
                DEVICE_URL.format(region="ap-singapore"), DEVICE_MD5, 2, call_id="call-1"
            )
            client.download_sequence(seq)
        received = server.count
    rows = rows_of(path)
    figures.add(
        fault.name,
        len(rows),
        rank=FAULTS.index(fault),
        lost=max(0, received - len(rows)),
        detail={"fault once, then": "ok on attempt 2"},
    )
    assert [(r["action"], r["attempt"], r["outcome"]) for r in rows] == [
        (GRS, 1, fault.outcome),
        (GRS, 2, "ok"),
        ("DownloadSequence", 1, "ok"),
    ]
    assert received == 3
    assert sleeps == [backoff(1)]


def _plan_size() -> int:
    return len(REGIONS) * 4 * PER_CELL


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_a_campaign_through_the_fault(fault: Fault, tmp_path: Path, figures: Recorder) -> None:
    path = tmp_path / "calls.sqlite"
    planned = _plan_size()
    common = {
        "credential": FIXTURE_CREDENTIAL,
        "log": path,
        "per_cell": PER_CELL,
        "rate": 100.0,
        "quota": 1000.0,
        "retries": 1,
        "timeout": TIMEOUT_S if fault.slow else 5.0,
        "progress": False,
        "seed": 7,
        "campaign_id": "through",
    }
    server: PeriodicFaultServer | None = None
    if fault.endpoint is not None:
        devices = {r: (DEVICE_URL.format(region=r), DEVICE_MD5) for r in REGIONS}
        with dead_endpoint(fault.endpoint) as url:
            result = run_campaign(url, device_data=devices, **common)  # type: ignore[arg-type]
    else:
        assert fault.reply is not None
        with PeriodicFaultServer(fault.reply, EVERY) as server:
            result = run_campaign(server.endpoint, **common)  # type: ignore[arg-type]
    rows = rows_of(path)
    with CampaignStore(path) as store:
        finished = store.finished_calls("through")
    grs = [r for r in rows if r["action"] == GRS]
    faulted_rows = [r for r in grs if r["outcome"] != "ok"]
    exchanges = server.count if server is not None else len(rows)
    summary = result.summary
    figures.add(
        fault.name,
        len(rows),
        rank=FAULTS.index(fault),
        lost=(planned - summary.completed) + max(0, exchanges - len(rows)),
        detail={
            "campaign calls": planned,
            "completed": summary.completed,
            "faulted exchanges": len(faulted_rows),
        },
    )
    assert summary.planned == planned and summary.completed == planned
    assert summary.remaining == 0 and not summary.interrupted
    assert len(finished) == planned, "every plan call marked finished"
    assert {r["outcome"] for r in faulted_rows} <= {fault.outcome}
    by_call: dict[str, list[sqlite3.Row]] = defaultdict(list)
    for r in grs:
        by_call[r["call_id"]].append(r)
    assert len(by_call) == planned
    for call_id, attempts in by_call.items():
        numbers = [r["attempt"] for r in attempts]
        assert numbers == list(range(1, len(numbers) + 1)), call_id
        for r, nxt in zip(attempts, [*attempts[1:], None], strict=True):
            retried = nxt is not None
            should = r["outcome"] != "ok" and fault.retryable and r["attempt"] < 2
            assert retried == should, f"{call_id} attempt {r['attempt']}: retry policy"
    downloads = {r["call_id"] for r in rows if r["action"] == "DownloadSequence"}
    assert downloads == {c for c, a in by_call.items() if a[-1]["outcome"] == "ok"}
    if server is not None:
        assert len(rows) == server.count, "one row per exchange the server saw"
        assert len(faulted_rows) == server.faulted > 0
        assert all(rec.signature_ok for rec in server.requests if rec.method == "POST")
    else:
        assert len(grs) == 2 * planned and len(faulted_rows) == len(grs)
