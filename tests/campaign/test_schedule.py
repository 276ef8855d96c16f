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
    assert p.interval == pytest.approx(1.017 / 5)
    assert (p.capacity, p.gate_window) == (5, pytest.approx(1.014))
    assert p.min_gap == pytest.approx(p.interval / 2)
    # six consecutive starts span more than one second, at both layers, the gate a little less
    assert 5 * p.interval > p.gate_window > 1.0
    assert 4.9 < p.schedule_rate < 5.0


def test_pacing_below_the_quota_keeps_the_requested_rate() -> None:
    p = Pacing.for_rate(2.0)
    assert p.interval == pytest.approx(0.5)
    assert p.gate_window == pytest.approx(0.99 * 5 * 0.5)  # never much faster than asked
    assert p.min_gap == pytest.approx(0.25)


def test_pacing_above_the_quota_is_held_to_it() -> None:
    assert Pacing.for_rate(50.0).interval == pytest.approx(Pacing.for_rate(5.0).interval)


def test_a_wider_margin_slows_the_schedule_and_the_gate() -> None:
    from faceid_tools.campaign.runner import margins

    p = Pacing.for_rate(5.0, **margins(0.05))
    assert p.interval == pytest.approx(1.05 / 5) and p.gate_window == pytest.approx(1.047)
    assert margins(None) == {}
    with pytest.raises(ValueError):
        margins(-0.01)


def test_pacing_for_another_quota() -> None:
    p = Pacing.for_rate(100.0, quota=100.0)
    assert p.capacity == 100 and p.interval == pytest.approx(1.017 / 100)


@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf"), "5", True])
def test_pacing_refuses_nonsense_rates(rate: object) -> None:
    with pytest.raises(ValueError):
        Pacing.for_rate(rate)  # type: ignore[arg-type]


def test_gate_holds_the_sixth_start_for_the_window() -> None:
    clock = FakeClock()
    record: list[float] = []
    gate = PacingGate(5, 1.25, 0.0, clock=clock, sleep=clock.sleep, record=record)
    t0 = clock.now
    waited = [gate.acquire() for _ in range(7)]
    assert waited == [0.0] * 5 + [1.25, 0.0]  # a burst of five, then the window
    assert record == [t0] * 5 + [t0 + 1.25] * 2
    assert max_starts_in_window(record, 1.0) == 5
    assert gate.releases == 7


def test_gate_keeps_the_min_gap() -> None:
    clock = FakeClock()
    record: list[float] = []
    gate = PacingGate(5, 1.0, 0.25, clock=clock, sleep=clock.sleep, record=record)
    waited = [gate.acquire() for _ in range(6)]
    assert waited == [0.0] + [0.25] * 5  # the gap binds; the window (0 + 1.0) never does
    assert [b - a for a, b in itertools.pairwise(record)] == [0.25] * 5


def test_gate_lets_punctual_callers_through_without_waiting() -> None:
    clock = FakeClock()
    gate = Pacing.for_rate(5.0).gate(clock=clock, sleep=clock.sleep)
    interval = Pacing.for_rate(5.0).interval
    waits = []
    for _ in range(20):
        waits.append(gate.acquire())
        clock.now += interval
    assert waits == [0.0] * 20


def test_gate_holds_a_caller_after_a_late_one_only_as_needed() -> None:
    clock = FakeClock()
    p = Pacing.for_rate(5.0)
    record: list[float] = []
    gate = p.gate(clock=clock, sleep=clock.sleep, record=record)
    t0 = clock.now
    for k in range(12):
        clock.now = max(clock.now, t0 + k * p.interval + (0.010 if k == 0 else 0.0))
        gate.acquire()
    spans = [record[i + 5] - record[i] for i in range(len(record) - 5)]
    assert min(spans) >= p.gate_window - 1e-9
    assert record[5] == pytest.approx(record[0] + p.gate_window)  # held 7 ms, not 10
    assert record[6] == pytest.approx(t0 + 6 * p.interval)  # back on the grid


def test_gate_under_threads_never_breaks_its_rules() -> None:
    record: list[float] = []
    gate = PacingGate(3, 0.02, 0.002, record=record)
    threads = [
        threading.Thread(target=lambda: [gate.acquire() for _ in range(6)]) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(record) == 48
    assert min(b - a for a, b in itertools.pairwise(record)) >= 0.002
    assert min(record[i + 3] - record[i] for i in range(len(record) - 3)) >= 0.02


def test_gate_is_a_rate_limiter_for_the_client() -> None:
    from faceid_tools.client.ratelimit import RateLimiter

    gate = Pacing.for_rate(5.0).gate()
    assert isinstance(gate, RateLimiter)
    slot = gate.reserve()
    assert 0.0 <= slot.waited < 0.1 and gate.starts() == [slot.at]
    with pytest.raises(ValueError):
        PacingGate(0, 1.0)
    with pytest.raises(ValueError):
        PacingGate(5, 1.0, 2.0)


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
