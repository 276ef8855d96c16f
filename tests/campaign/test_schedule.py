import itertools
import threading

import pytest

from faceid_tools.campaign.schedule import (
    Pacing,
    PacingGate,
    pool_size,
    run_schedule,
)
from faceid_tools.campaign.summary import max_starts_in_window


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def wait(self, seconds: float) -> bool:
        self.sleep(seconds)
        return False


def test_pacing_at_the_quota_keeps_a_margin_and_stays_above_4_9() -> None:
    p = Pacing.for_rate(5.0)
    assert p.interval == pytest.approx(1.015 / 5)
    assert p.gate_interval == pytest.approx(1.005 / 5)
    # six consecutive starts span more than one second, at both layers
    assert 5 * p.gate_interval > 1.0 and 5 * p.interval > 5 * p.gate_interval
    assert 4.9 <= p.schedule_rate < 5.0


def test_pacing_below_the_quota_keeps_the_requested_rate() -> None:
    p = Pacing.for_rate(2.0)
    assert p.interval == pytest.approx(0.5)
    assert p.gate_interval == pytest.approx(0.495)


def test_pacing_above_the_quota_is_held_to_it() -> None:
    assert Pacing.for_rate(50.0) == Pacing.for_rate((5.0).__class__(50.0))
    assert Pacing.for_rate(50.0).interval == pytest.approx(Pacing.for_rate(5.0).interval)


@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf"), "5"])
def test_pacing_refuses_nonsense_rates(rate: object) -> None:
    with pytest.raises(ValueError):
        Pacing.for_rate(rate)  # type: ignore[arg-type]


def test_gate_spaces_releases_by_the_clock() -> None:
    clock = FakeClock()
    record: list[float] = []
    gate = PacingGate(0.25, clock=clock, sleep=clock.sleep, record=record)
    waited = [gate.acquire() for _ in range(6)]
    assert waited == [0.0] + [0.25] * 5
    gaps = [b - a for a, b in itertools.pairwise(record)]
    assert gaps == [0.25] * 5
    assert max_starts_in_window(record, 1.0) == 5  # a closed window counts both ends
    assert max_starts_in_window(record, 0.99) == 4
    assert gate.releases == 6


def test_gate_lets_a_late_caller_through_at_once() -> None:
    clock = FakeClock()
    gate = PacingGate(0.2, clock=clock, sleep=clock.sleep)
    gate.acquire()
    clock.now += 5.0
    assert gate.acquire() == 0.0


def test_gate_under_threads_never_releases_two_callers_too_close() -> None:
    record: list[float] = []
    gate = PacingGate(0.002, record=record)
    threads = [
        threading.Thread(target=lambda: [gate.acquire() for _ in range(10)]) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(record) == 80
    gaps = [b - a for a, b in itertools.pairwise(record)]
    assert min(gaps) >= 0.002


def test_schedule_dispatches_on_a_constant_arrival_grid() -> None:
    clock = FakeClock()
    t0 = clock.now
    times: list[float] = []
    n = run_schedule(
        range(10),
        0.25,
        lambda item: times.append(clock.now),
        clock=clock,
        wait=clock.wait,
        stopped=lambda: False,
    )
    assert n == 10
    assert times == pytest.approx([t0 + 0.25 * k for k in range(10)])


def test_schedule_absorbs_small_lateness_without_drift() -> None:
    clock = FakeClock()
    t0 = clock.now
    times: list[float] = []

    def late_wait(seconds: float) -> bool:
        clock.sleep(seconds + 0.003)  # every wake-up 3 ms late
        return False

    run_schedule(
        range(50),
        0.2,
        lambda item: times.append(clock.now),
        clock=clock,
        wait=late_wait,
        stopped=lambda: False,
    )
    assert times[-1] == pytest.approx(t0 + 49 * 0.2 + 0.003)


def test_schedule_does_not_burst_after_a_stall() -> None:
    clock = FakeClock()
    times: list[float] = []

    def dispatch(item: int) -> None:
        times.append(clock.now)
        if item == 3:
            clock.now += 2.0  # no free worker for two seconds

    run_schedule(range(8), 0.2, dispatch, clock=clock, wait=clock.wait, stopped=lambda: False)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # the next dispatch comes half an interval after the late one, then the grid resumes
    assert gaps[3] == pytest.approx(2.0 + 0.1)
    assert gaps[4:] == pytest.approx([0.2] * 3)


def test_schedule_stops_when_asked() -> None:
    clock = FakeClock()
    done: list[int] = []
    stop = {"now": False}

    def dispatch(item: int) -> None:
        done.append(item)
        if item == 4:
            stop["now"] = True

    n = run_schedule(
        range(100), 0.2, dispatch, clock=clock, wait=clock.wait, stopped=lambda: stop["now"]
    )
    assert n == 5 and done == [0, 1, 2, 3, 4]


def test_schedule_wait_returning_stop_ends_it() -> None:
    clock = FakeClock()
    calls = {"n": 0}
    flag = {"stop": False}

    def wait(seconds: float) -> bool:
        clock.sleep(seconds)
        calls["n"] += 1
        flag["stop"] = calls["n"] >= 3
        return flag["stop"]

    n = run_schedule(
        range(100), 0.2, lambda i: None, clock=clock, wait=wait, stopped=lambda: flag["stop"]
    )
    assert n == 1 + 2  # the first needs no wait; the third wait asks to stop


def test_pool_size_covers_the_latency_tail() -> None:
    assert pool_size(5.0, 12.0) == 64
    assert pool_size(0.1, 1.0) == 5
    assert pool_size(0.1, 1.0, floor=8) == 8
    assert pool_size(1000, 1000) == 256
