"""4. Load: a 16-thread flood of the emulator (a subprocess, so its RSS is its own).

Quota lifted: every answer is a valid success (no 5xx, no API error, no broken connection), the
emulator is alive and answering at the end and exits cleanly, and its memory stays bounded.  Quota
on: the excess gets ``RequestLimitExceeded`` and nothing else, and no more than the quota is
admitted.  Bounded loops on loopback; each phase stops by itself at its deadline.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from faceid_tools import errors as e
from faceid_tools.client import FaceIDClient
from faceid_tools.client.regions import REGIONS
from faceid_tools.client.results import DeviceData
from faceid_tools.emulator.server import DEMO_CREDENTIAL
from tests.reliability.conftest import Recorder
from tests.reliability.procs import EmulatorProcess
from tests.reliability.settings import seconds

THREADS = 16
FLOOD_S = seconds(3.0, 60.0)
QUOTA_S = seconds(2.0, 10.0)
QUOTA = 5  #: GenerateReflectSequence requests/s per SecretId
#: RSS growth allowed over the flood (the sequences stored for their 2-hour retention included).
RSS_BUDGET_MB = 256
MB = 1024 * 1024


@dataclass
class Tally:
    """What came back from a flood, by kind."""

    ok: int = 0
    api_errors: Counter[str] = field(default_factory=Counter)
    http_statuses: Counter[int] = field(default_factory=Counter)
    transport: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def total(self) -> int:
        return (
            self.ok
            + sum(self.api_errors.values())
            + sum(self.http_statuses.values())
            + sum(self.transport.values())
            + sum(self.other.values())
        )

    def add(self, exc: BaseException | None) -> None:
        with self.lock:
            if exc is None:
                self.ok += 1
            elif isinstance(exc, e.HTTPStatusError):
                self.http_statuses[exc.status] += 1
            elif isinstance(exc, e.APIError):
                self.api_errors[exc.code] += 1
            elif isinstance(exc, e.TransportError):
                self.transport[type(exc).__name__] += 1
            else:
                self.other[f"{type(exc).__name__}: {exc}"[:120]] += 1


def _client(endpoint: str, region: str) -> FaceIDClient:
    return FaceIDClient(
        region,
        endpoint=endpoint,
        credential=DEMO_CREDENTIAL,
        log=False,
        rate_limit=None,
        retries=0,
        timeout=30.0,
    )


def flood(
    endpoint: str,
    devices: dict[str, DeviceData],
    duration: float,
    *,
    only_generate: bool = False,
) -> Tally:
    """``THREADS`` threads, each calling as fast as it can until ``duration`` has passed."""
    tally = Tally()
    clients = [_client(endpoint, REGIONS[t % len(REGIONS)]) for t in range(THREADS)]
    start = threading.Barrier(THREADS + 1)
    deadline = [0.0]

    def one(client: FaceIDClient, i: int) -> None:
        data = devices[client.region]
        if not only_generate and i % 5 == 4:
            client.create_upload_url()
            return
        seq = client.generate_reflect_sequence(data.url, data.md5, str(1 + i % 4))
        tally.add(None)
        if not only_generate and i % 2 == 0:
            client.download_sequence(seq)
            tally.add(None)

    def work(client: FaceIDClient) -> None:
        start.wait()
        i = 0
        while time.monotonic() < deadline[0]:
            try:
                one(client, i)
                if not only_generate and i % 5 == 4:
                    tally.add(None)
            except e.FaceIDError as exc:
                tally.add(exc)
            i += 1

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in clients]
    for th in threads:
        th.start()
    deadline[0] = time.monotonic() + duration
    start.wait()
    for th in threads:
        th.join(duration + 120)
    for c in clients:
        c.close()
    assert not any(th.is_alive() for th in threads), "flood threads did not stop"
    return tally


def test_flood_then_quota(tmp_path: Path, figures: Recorder) -> None:
    with EmulatorProcess(
        tmp_path, "--profile", "reliable", "--no-quota", "--time-scale", "0"
    ) as emu:
        devices = {}
        for region in REGIONS:
            with _client(emu.endpoint, region) as client:
                devices[region] = client.upload_device_data(f"device {region}".encode())
        rss_start = emu.sample()
        t0 = time.monotonic()
        free = flood(emu.endpoint, devices, FLOOD_S)
        flood_s = time.monotonic() - t0
        rss_peak = max(rss for _, rss in emu.samples)
        alive_after_flood = emu.alive()
        stats_after_flood = emu.stats()

        emu.configure(quota=True)
        t1 = time.monotonic()
        quota = flood(emu.endpoint, devices, QUOTA_S, only_generate=True)
        quota_s = time.monotonic() - t1
        rss_end = emu.sample()
        alive = emu.alive()
        exit_code = emu.stop()
    stderr = emu.stderr_path.read_text("utf-8", "replace")

    rate = free.total / flood_s
    stored = int(stats_after_flood["sequences"]["issued"])  # type: ignore[index]
    five_xx = sum(n for s, n in free.http_statuses.items() if s >= 500) + sum(
        n for s, n in quota.http_statuses.items() if s >= 500
    )
    figures.add(
        f"flood, quota lifted, {THREADS} threads, {FLOOD_S:g} s",
        free.total,
        detail={
            "req/s": round(rate),
            "ok": free.ok,
            "5xx": five_xx,
            "API errors": dict(free.api_errors) or 0,
            "broken connections": dict(free.transport) or 0,
            "RSS start/peak/end (MB)": f"{rss_start / MB:.0f} / {rss_peak / MB:.0f} / "
            f"{rss_end / MB:.0f}",
            "sequences stored": stored,
            "RSS growth per 1000 stored (KB)": round(
                (rss_peak - rss_start) / 1024 / max(1, stored / 1000)
            ),
            "crashed": "no" if alive_after_flood and alive and exit_code == 0 else "YES",
        },
    )
    limited = quota.api_errors.get("RequestLimitExceeded", 0)
    admitted_max = int(QUOTA * (quota_s + 1.0))
    figures.add(
        f"flood, quota on, {THREADS} threads, {QUOTA_S:g} s",
        quota.total,
        detail={
            "req/s": round(quota.total / quota_s),
            "ok": quota.ok,
            "5xx": 0,
            "API errors": dict(quota.api_errors) or 0,
            "broken connections": dict(quota.transport) or 0,
            "admitted (max allowed)": f"{quota.ok} ({admitted_max})",
            "crashed": "no" if alive and exit_code == 0 else "YES",
        },
    )
    assert free.total > 0 and free.ok == free.total, free
    assert not free.http_statuses and not free.transport and not free.other
    assert alive_after_flood and alive and exit_code == 0
    assert "Traceback" not in stderr, stderr[-2000:]
    assert rss_peak - rss_start < RSS_BUDGET_MB * MB, (rss_start, rss_peak)
    assert quota.ok > 0 and limited > 0
    assert quota.ok + limited == quota.total, quota
    assert set(quota.api_errors) == {"RequestLimitExceeded"}
    assert quota.ok <= admitted_max
