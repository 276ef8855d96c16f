"""One client shared by many threads: every call succeeds, every row is logged, the limit holds."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pandas as pd

from faceid_tools.calllog.store import CallLog
from faceid_tools.client import FaceIDClient
from faceid_tools.client.ratelimit import RateLimiter
from tests.client.conftest import MD5, SG_URL, rows
from tests.fixtures.servers import FaultServer


def test_eight_threads_share_one_client(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer, call_log: CallLog
) -> None:
    # 5 starts per 0.1 s keeps the test short; the rule is the same as 5 per second
    client = make_client(rate_limiter=RateLimiter(5, per=0.1))
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        try:
            for i in range(6):
                seq = client.generate_reflect_sequence(SG_URL, MD5, call_id=f"t{t}-{i}")
                with lock:
                    results.append(seq.call_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == sorted(f"t{t}-{i}" for t in range(8) for i in range(6))
    df = rows(call_log)
    assert len(df) == 48 and set(df["call_id"]) == set(results)
    assert (df["outcome"] == "ok").all()
    assert fault_server.count == 48 and all(r.signature_ok for r in fault_server.requests)
    # the start instants in the log: never more than 5 in any 0.1 s window (µs rounding allowed)
    starts = df["started_at"].sort_values().tolist()
    gaps = [b - a for a, b in zip(starts, starts[5:], strict=False)]
    assert min(gaps) >= pd.Timedelta(milliseconds=100) - pd.Timedelta(microseconds=2)
    assert (df["queued_ms"] >= 0).all()
    assert df["queued_ms"].max() > 0  # eight threads at once: some had to wait their turn
