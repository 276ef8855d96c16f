"""At most ``rate`` starts in any window, across threads and clients; the wait is logged."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest

from faceid_tools.calllog.store import CallLog
from faceid_tools.client import FaceIDClient
from faceid_tools.client.ratelimit import RateLimiter
from tests.client.conftest import MD5, SG_URL, rows
from tests.client.test_retry import FakeClock
from tests.fixtures.servers import FIXTURE_CREDENTIAL, FaultServer


def _max_in_window(starts: list[float], window: float) -> int:
    starts = sorted(starts)
    best, j = 0, 0
    for i, t in enumerate(starts):
        while starts[j] + window <= t:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_burst_then_one_window_at_a_time() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock, sleep=clock.sleep)
    slots = [limiter.reserve() for _ in range(12)]
    assert [sl.at for sl in slots] == [0.0] * 5 + [1.0] * 5 + [2.0] * 2
    assert [sl.waited for sl in slots] == [0.0] * 5 + [1.0] + [0.0] * 4 + [1.0, 0.0]
    assert limiter.acquire() == 0.0  # third slot of the window at t=2


def test_random_arrivals_never_exceed_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock, sleep=clock.sleep)
    rng = random.Random(3)
    starts = []
    for _ in range(500):
        clock.now += rng.expovariate(8.0)  # offered load above the limit
        starts.append(limiter.reserve().at)
    assert _max_in_window(starts, 1.0) == 5


@pytest.mark.parametrize(
    ("rate", "capacity", "window"), [(2.5, 2, 1.0), (0.5, 1, 2.0), (20, 20, 1.0)]
)
def test_fractional_rates(rate: float, capacity: int, window: float) -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate, clock=clock, sleep=clock.sleep)
    assert (limiter.capacity, limiter.window) == (capacity, window)
    starts = [limiter.reserve().at for _ in range(3 * capacity)]
    assert _max_in_window(starts, 1.0) <= max(1, int(rate))
    assert starts[-1] == pytest.approx(2 * window)


@pytest.mark.parametrize("rate", [0, -1, float("inf"), float("nan")])
def test_bad_rates(rate: float) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate)


def test_threads_share_a_limiter() -> None:
    limiter = RateLimiter(5, per=0.1)  # the real clock, a short window to keep the test quick
    starts: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(4):
            at = limiter.reserve().at
            with lock:
                starts.append(at)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    assert len(starts) == 32
    assert all(b - a >= 0.1 for a, b in zip(starts, starts[5:], strict=False))


def test_client_logs_the_wait_and_clients_can_share_a_limiter(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer, call_log: CallLog
) -> None:
    clock = FakeClock()
    shared = RateLimiter(2, clock=clock, sleep=clock.sleep)
    sg = make_client(rate_limiter=shared)
    hk = make_client(region="ap-hongkong", rate_limiter=shared)
    hk_url = SG_URL.replace("ap-singapore", "ap-hongkong")
    for _ in range(2):
        sg.generate_reflect_sequence(SG_URL, MD5)
        hk.generate_reflect_sequence(hk_url, MD5)
    df = rows(call_log)
    assert df["region"].tolist() == ["ap-singapore", "ap-hongkong"] * 2
    assert df["queued_ms"].tolist() == [0.0, 0.0, 1000.0, 0.0]


def test_default_limits_per_action() -> None:
    client = FaceIDClient(
        "ap-singapore", endpoint="http://127.0.0.1:9", log=False, credential=FIXTURE_CREDENTIAL
    )
    assert client._limiters["GenerateReflectSequence"].rate == 5.0  # type: ignore[union-attr]
    assert client._limiters["CreateUploadUrl"].rate == 20.0  # type: ignore[union-attr]
    off = FaceIDClient(
        "ap-singapore",
        endpoint="http://127.0.0.1:9",
        log=False,
        rate_limit=None,
        credential=FIXTURE_CREDENTIAL,
    )
    assert off._limiters == {"GenerateReflectSequence": None, "CreateUploadUrl": None}


def test_a_limiter_per_action_mapping(make_client: Callable[..., FaceIDClient]) -> None:
    gen, up = RateLimiter(3), RateLimiter(7)
    client = make_client(rate_limiter={"GenerateReflectSequence": gen, "CreateUploadUrl": up})
    assert client._limiters["GenerateReflectSequence"] is gen
    assert client._limiters["CreateUploadUrl"] is up
