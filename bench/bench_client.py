"""Client overhead: CPU time per call and calls/s on one thread against a fast loopback server.

Side by side in one run, interleaved in blocks of 100 calls so that they share the machine's noise:

(a) a raw ``requests.Session().post`` of the same body with fixed headers (no signing, no parsing);
(b) ``FaceIDClient`` with ``log=False``;
(c) ``FaceIDClient`` logging every call to SQLite (WAL, ``synchronous=NORMAL``);
(d) the official SDK (``tencentcloud-sdk-python-intl-en``), unlogged;
(e) ``FaceIDClient`` logging to a log created before 0.1's schema change (``id ... AUTOINCREMENT``:
    two pages written per commit instead of one), to show that change side by side.

The server runs in its own process (an asyncio HTTP/1.1 keep-alive responder answering a valid
``GenerateReflectSequence`` envelope), so the client process's CPU time (``time.process_time``) is
the client's alone.  Targets: (b) ≤ 1.10 × (a), (c) ≤ 1.20 × (a), and (c) − (b) ≤ 60 µs.
Run: ``python -m bench client`` (``--quick`` for a short run).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench._harness import Row

URL = "https://faceid-fixture-1250000000.cos.ap-singapore.myqcloud.com/device/data.bin"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SECRET_ID = "AKIDbenchSECRETID0000000000000000000"
SECRET_KEY = "benchSECRETKEY000000000000000000"
_ENVELOPE = json.dumps(
    {
        "Response": {
            "ReflectSequenceUrl": "https://faceid-fixture-1250000000.cos.ap-singapore.myqcloud.com/seq/1.bin",
            "ReflectSequenceMd5": "0cc175b9c0f1b6a831c399e269772661",
            "RequestId": "5b4bbd7e-4f0c-4c9e-9a57-8d1b6d1c3f0a",
        }
    }
).encode()
_REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(_ENVELOPE)).encode()
    + b"\r\n\r\n"
    + _ENVELOPE
)
BLOCK = 100  #: calls per interleaved block
_LENGTH = re.compile(rb"(?i)\r\ncontent-length:[ \t]*(\d+)")


class _Responder(asyncio.Protocol):
    """Answers every complete HTTP/1.1 request on the connection with the fixed envelope."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            match = _LENGTH.search(self.buffer, 0, end + 2)
            total = end + 4 + (int(match.group(1)) if match else 0)
            if len(self.buffer) < total:
                return
            self.buffer = self.buffer[total:]
            self.transport.write(_REPLY)


def _serve(port_queue: mp.Queue) -> None:  # type: ignore[type-arg]
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Responder, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def _measure(call: Callable[[], object], n: int) -> tuple[float, float]:
    """(CPU µs per call, calls per second) over ``n`` calls."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        call()
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    return cpu / n * 1e6, n / wall


def _variants(endpoint: str, log_path: Path) -> dict[str, Callable[[], object]]:
    import requests
    from tencentcloud.common import credential as sdk_credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.faceid.v20180301 import faceid_client, models

    from faceid_tools.calllog.store import CallLog
    from faceid_tools.client import FaceIDClient
    from faceid_tools.client.credentials import Credential

    cred = Credential(SECRET_ID, SECRET_KEY)
    body = json.dumps(
        {"DeviceDataUrl": URL, "DeviceDataMd5": MD5, "SecurityLevel": "4"}, separators=(",", ":")
    ).encode()
    session = requests.Session()
    headers = {
        "Content-Type": "application/json",
        "X-TC-Action": "GenerateReflectSequence",
        "X-TC-Version": "2018-03-01",
        "X-TC-Region": "ap-singapore",
        "X-TC-Timestamp": str(int(time.time())),
        "Authorization": "TC3-HMAC-SHA256 Credential=x/2026-01-01/faceid/tc3_request, "
        "SignedHeaders=content-type;host, Signature=00",
    }
    url = endpoint + "/"

    def raw() -> object:
        return session.post(url, data=body, headers=headers).content

    unlogged = FaceIDClient(
        "ap-singapore", endpoint=endpoint, credential=cred, log=False, rate_limit=None, retries=0
    )
    logged = FaceIDClient(
        "ap-singapore",
        endpoint=endpoint,
        credential=cred,
        log=CallLog(log_path),
        rate_limit=None,
        retries=0,
    )
    older = FaceIDClient(
        "ap-singapore",
        endpoint=endpoint,
        credential=cred,
        log=CallLog(_autoincrement_log(log_path.with_name("older.sqlite"))),
        rate_limit=None,
        retries=0,
    )
    profile = ClientProfile(
        httpProfile=HttpProfile(
            protocol="http", endpoint=endpoint.split("://", 1)[1], keepAlive=True
        )
    )
    sdk = faceid_client.FaceidClient(
        sdk_credential.Credential(SECRET_ID, SECRET_KEY), "ap-singapore", profile
    )

    def sdk_call() -> object:
        req = models.GenerateReflectSequenceRequest()
        req.DeviceDataUrl, req.DeviceDataMd5, req.SecurityLevel = URL, MD5, "4"
        return sdk.GenerateReflectSequence(req)

    return {
        "a raw requests.Session POST": raw,
        "b FaceIDClient, log=False": lambda: unlogged.generate_reflect_sequence(URL, MD5, 4),
        "c FaceIDClient, SQLite log": lambda: logged.generate_reflect_sequence(URL, MD5, 4),
        "d official SDK (unlogged)": sdk_call,
        "e FaceIDClient, SQLite log with AUTOINCREMENT": lambda: older.generate_reflect_sequence(
            URL, MD5, 4
        ),
    }


def _autoincrement_log(path: Path) -> Path:
    """An empty log as versions before the one-page commit created it (``AUTOINCREMENT`` ids)."""
    import sqlite3

    from faceid_tools.calllog import schema

    conn = sqlite3.connect(path)
    conn.execute(
        schema.create_table_sql().replace(
            "INTEGER PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT"
        )
    )
    for statement in schema.INDEXES_SQL:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")
    conn.commit()
    conn.close()
    return path


def run(quick: bool = False) -> list[Row]:
    reps, n = (3, 300) if quick else (9, 2000)
    ctx = mp.get_context("spawn")
    ports: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    server = ctx.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{ports.get(timeout=30)}"
        with tempfile.TemporaryDirectory() as tmp:
            variants = _variants(endpoint, Path(tmp) / "bench.sqlite")
            for call in variants.values():  # warm up connections, caches, the SQLite file
                for _ in range(50):
                    call()
            cpu: dict[str, list[float]] = {k: [] for k in variants}
            rate: dict[str, list[float]] = {k: [] for k in variants}
            for _ in range(reps):
                # fine-grained interleaving: blocks of BLOCK calls, round robin with a rotating
                # start, so every variant's sample spans the same stretch of machine noise
                spent = {k: [0.0, 0.0] for k in variants}
                order = list(variants.items())
                for block in range(n // BLOCK):
                    turn = order[block % len(order) :] + order[: block % len(order)]
                    for name, call in turn:
                        c, r = _measure(call, BLOCK)
                        spent[name][0] += c * BLOCK / 1e6
                        spent[name][1] += BLOCK / r
                for name, (cpu_s, wall_s) in spent.items():
                    calls = BLOCK * (n // BLOCK)
                    cpu[name].append(cpu_s / calls * 1e6)
                    rate[name].append(calls / wall_s)
    finally:
        server.terminate()
        server.join(5)
    base = "a raw requests.Session POST"
    rows = [
        Row("client CPU/call", name, "µs", samples, None if name == base else base)
        for name, samples in cpu.items()
    ]
    rows += [
        Row(
            "client calls/s",
            name,
            "calls/s",
            samples,
            None if name == base else base,
            lower_is_better=False,
        )
        for name, samples in rate.items()
    ]
    overhead = [
        c - b
        for c, b in zip(
            cpu["c FaceIDClient, SQLite log"], cpu["b FaceIDClient, log=False"], strict=True
        )
    ]
    rows.append(
        Row("client CPU/call", "c − b: logging per call", "µs", overhead, note="target ≤ 60 µs")
    )
    older = [
        e - b
        for e, b in zip(
            cpu["e FaceIDClient, SQLite log with AUTOINCREMENT"],
            cpu["b FaceIDClient, log=False"],
            strict=True,
        )
    ]
    rows.append(
        Row(
            "client CPU/call",
            "e − b: logging per call, AUTOINCREMENT log",
            "µs",
            older,
            "c − b: logging per call",
        )
    )
    rows.append(_record_hot_loop(reps, n))
    return rows


def _record_hot_loop(reps: int, n: int) -> Row:
    """CPU per ``CallLog.record`` of a typical row, back to back (no network in between)."""
    import uuid

    from faceid_tools.calllog.store import CallLog

    row = {
        "attempt": 1,
        "action": "GenerateReflectSequence",
        "region": "ap-singapore",
        "endpoint": "127.0.0.1:9000",
        "security_level": "4",
        "started_at": "2026-01-01T00:00:00.000000+00:00",
        "queued_ms": 0.0,
        "latency_ms": 1.0,
        "http_status": 200,
        "outcome": "ok",
        "request_id": "5b4bbd7e-4f0c-4c9e-9a57-8d1b6d1c3f0a",
        "request_bytes": 170,
        "response_bytes": 200,
        "device_data_url": URL,
        "device_data_md5": MD5,
        "sequence_url": URL,
        "sequence_md5": MD5,
    }
    samples = []
    with tempfile.TemporaryDirectory() as tmp, CallLog(Path(tmp) / "hot.sqlite") as log:
        for _ in range(reps):
            ids = [str(uuid.uuid4()) for _ in range(n)]
            cpu = time.process_time()
            for call_id in ids:
                row["call_id"] = call_id
                log.record(row)
            samples.append((time.process_time() - cpu) / n * 1e6)
    return Row("call log", "CallLog.record, hot loop", "µs", samples, note="SQLite commit per row")


if __name__ == "__main__":
    from bench._harness import table

    result = run(quick="--quick" in sys.argv)
    print(table(result))
    print(
        "median CPU ratios: "
        + ", ".join(
            f"{r.name[:1]}={statistics.median(r.samples) / result[0].median:.2f}"
            for r in result[:4]
        )
    )
