"""How much load the emulator takes: requests/s with 1 and 16 client threads, and memory.

The emulator runs as ``faceid-tools emulator`` in its own process (so the clients do not share its
GIL), quota lifted, ``time_scale=0``, signature verification on.  Each request is a fully signed
``GenerateReflectSequence`` POST with valid device data: authentication, validation, a behaviour
draw, a fresh light sequence stored in the object store and a presigned URL — the whole path.
Clients speak raw HTTP/1.1 over loopback sockets (werkzeug closes every connection).

Through the proxy, as an unmodified SDK reaches it: each request opens ``CONNECT
faceid.intl.tencentcloudapi.com:443``, a TLS handshake against the emulator's CA (a fresh one per
request, as the SDKs make with a closed connection), then the same signed POST inside; measured
interleaved with the direct rows, ratio against them.  The client's TLS work shares the bench
process's GIL, so the 16-thread proxy row is a floor.

Memory: the server's peak RSS (``VmHWM``) after N such requests with the 2-hour retention on
(every sequence kept), beside its RSS right after start-up.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

from bench._harness import Row
from faceid_tools.client import signing
from faceid_tools.client.credentials import Credential

ROOT = Path(__file__).resolve().parent.parent
GROUP = "emulator"
API_HOST = "faceid.intl.tencentcloudapi.com"


class Server:
    """``faceid-tools emulator`` in a subprocess; parses endpoint and credentials from its banner."""

    def __init__(self) -> None:
        self._state = tempfile.TemporaryDirectory(prefix="bench-emulator-state-")  # its CA
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "faceid_tools",
                "emulator",
                "--port",
                "0",
                "--no-quota",
                "--time-scale",
                "0",
                "--profile",
                "reliable",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": self._state.name},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        out = self.proc.stdout
        threading.Thread(target=lambda: [lines.put(x) for x in out], daemon=True).start()
        banner = ""
        while "Ctrl-C to stop." not in banner:
            banner += lines.get(timeout=120)
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", banner)
        sid = re.search(r"TENCENTCLOUD_SECRET_ID=(\S+)", banner)
        key = re.search(r"TENCENTCLOUD_SECRET_KEY=(\S+)", banner)
        ca = re.search(r"NODE_EXTRA_CA_CERTS=(\S+)", banner)
        assert m and sid and key and ca, banner
        self.ca_path = ca.group(1)
        self.port = int(m.group(1))
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.credential = Credential(sid.group(1), key.group(1))

    def rss_mib(self, field: str = "VmRSS") -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        m = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
        assert m
        return int(m.group(1)) / 1024

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self._state.cleanup()


class Caller:
    """Builds signed GenerateReflectSequence requests (re-signed every second) and sends them."""

    def __init__(self, server: Server, *, proxy: bool = False, body: bytes | None = None):
        self.server = server
        self.proxy = proxy
        self.host = API_HOST if proxy else f"127.0.0.1:{server.port}"
        self.tls = ssl.create_default_context(cafile=server.ca_path) if proxy else None
        self.body = body if body is not None else self._device_params()
        self._raw = b""
        self._ts = 0
        self._lock = threading.Lock()

    def _device_params(self) -> bytes:
        data = uuid.uuid4().bytes * 16
        body = json.dumps({"TargetAction": "GenerateReflectSequence"}).encode()
        ans = requests.post(
            f"{self.server.endpoint}/",
            data=body,
            headers=self._headers("CreateUploadUrl", body, int(time.time())),
            timeout=30,
        ).json()["Response"]
        assert requests.put(ans["UploadUrl"], data=data, timeout=30).status_code == 200
        params = {
            "DeviceDataUrl": ans["ResourceUrl"],
            "DeviceDataMd5": hashlib.md5(data).hexdigest(),
            "SecurityLevel": "4",
        }
        return json.dumps(params).encode()

    def _headers(self, action: str, body: bytes, ts: int) -> dict[str, str]:
        cred = self.server.credential
        auth = signing.sign(
            secret_id=cred.secret_id,
            secret_key=cred.secret_key,
            service="faceid",
            host=self.host,
            method="POST",
            timestamp=ts,
            payload=body,
        ).authorization
        return {
            "Host": self.host,
            "Content-Type": "application/json",
            "X-TC-Action": action,
            "X-TC-Version": "2018-03-01",
            "X-TC-Region": "ap-singapore",
            "X-TC-Timestamp": str(ts),
            "Authorization": auth,
        }

    def raw(self) -> bytes:
        now = int(time.time())
        with self._lock:
            if now != self._ts:
                headers = self._headers("GenerateReflectSequence", self.body, now)
                head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                self._raw = (
                    f"POST / HTTP/1.1\r\n{head}Content-Length: {len(self.body)}\r\n\r\n".encode()
                    + self.body
                )
                self._ts = now
            return self._raw

    def one(self) -> None:
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as s:
            conn: socket.socket = s
            if self.tls is not None:
                s.sendall(
                    f"CONNECT {API_HOST}:443 HTTP/1.1\r\nHost: {API_HOST}:443\r\n\r\n".encode()
                )
                head = b""
                while b"\r\n\r\n" not in head:
                    head += s.recv(4096) or b"\r\n\r\n"
                if not head.startswith(b"HTTP/1.1 200 "):
                    raise RuntimeError(f"CONNECT refused: {head[:100]!r}")
                conn = self.tls.wrap_socket(s, server_hostname=API_HOST)
            conn.sendall(self.raw())
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        answer = b"".join(chunks)
        if b"ReflectSequenceMd5" not in answer:
            raise RuntimeError(f"unexpected answer: {answer[:300]!r}")


def throughput(caller: Caller, threads: int, seconds: float) -> float:
    """Requests/s sustained by ``threads`` closed-loop clients for ``seconds``."""
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def client(i: int) -> None:
        while time.monotonic() < stop:
            caller.one()
            counts[i] += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    t0 = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.monotonic() - t0)


def run_requests(caller: Caller, n: int, threads: int = 8) -> None:
    todo = iter(range(n))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if next(todo, None) is None:
                    return
            caller.one()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def run(quick: bool) -> list[Row]:
    reps, seconds, n_memory = (3, 2.0, 10_000) if quick else (5, 5.0, 50_000)
    rows: list[Row] = []
    server = Server()
    try:
        caller = Caller(server)
        proxied = Caller(server, proxy=True, body=caller.body)
        throughput(caller, 4, 1.0)  # warm up
        throughput(proxied, 4, 1.0)
        one: list[float] = []
        sixteen: list[float] = []
        one_tls: list[float] = []
        sixteen_tls: list[float] = []
        for _ in range(reps):  # interleaved, so drift hits all alike
            one.append(throughput(caller, 1, seconds))
            one_tls.append(throughput(proxied, 1, seconds))
            sixteen.append(throughput(caller, 16, seconds))
            sixteen_tls.append(throughput(proxied, 16, seconds))
        note = "signed GenerateReflectSequence, quota off, time_scale=0, server in its own process"
        tls_note = "CONNECT + TLS handshake per request, then the same POST"
        rows.append(Row(GROUP, "1 client thread", "req/s", one, None, note, lower_is_better=False))
        rows.append(
            Row(GROUP, "16 client threads", "req/s", sixteen, "1 client thread", note, False)
        )
        rows.append(
            Row(GROUP, "1 thread, proxy+TLS", "req/s", one_tls, "1 client thread", tls_note, False)
        )
        rows.append(
            Row(
                GROUP,
                "16 threads, proxy+TLS",
                "req/s",
                sixteen_tls,
                "16 client threads",
                tls_note,
                False,
            )
        )
    finally:
        server.stop()

    server = Server()  # a fresh process for the memory figure
    try:
        start_rss = server.rss_mib()
        caller = Caller(server)
        run_requests(caller, n_memory)
        stats = requests.get(f"{server.endpoint}/_emulator/stats", timeout=30).json()
        peak = server.rss_mib("VmHWM")
        note = f"{stats['store']['objects']:,} objects retained ({stats['store']['bytes']:,} B)"
        rows.append(Row(GROUP, "RSS after start-up", "MiB", [start_rss], None, "idle server"))
        rows.append(
            Row(
                GROUP,
                f"peak RSS after {n_memory:,} requests",
                "MiB",
                [peak],
                "RSS after start-up",
                note,
            )
        )
    finally:
        server.stop()
    return rows
