"""Constant-arrival start schedule and the pacing gate that keeps it under the quota.

The service admits at most ``quota`` requests in any sliding one-second window (5 for
``GenerateReflectSequence``), on its own clock, when each request *arrives*.  The delay from our
start to that arrival varies (thread hand-offs, the GIL, a loaded machine: ~2 ms typically,
tens of ms under load), so starting exactly every 200 ms would now and then put six arrivals in
one second.  Hence a margin: any ``quota + 1`` consecutive starts span more than one second.
The margin is capped by the throughput asked for (≥ 4.9 calls/s means 6 starts in at most
1.0204 s), so it is spent in two layers (see :class:`Pacing`):

* :func:`run_schedule` dispatches call *k* at ``t0 + k * interval`` with ``quota + 1`` starts
  spanning ``window + jitter_budget`` (1.017 s: 203.4 ms apart, 4.916 calls/s).  Lateness of a
  few ms is absorbed without drift; after a long stall it does not burst to catch up.
* :class:`PacingGate`, the last gate before a request leaves (the client's ``rate_limiter``),
  enforces the quota property itself with a smaller margin: at most ``capacity`` starts in any
  ``gate_window`` (1.014 s), and never two starts closer than half an interval.  It measures at
  the moment of release, and that instant is what the client logs as ``started_at``.  It rarely
  holds anyone back (only when a late start is followed by punctual ones), and every attempt
  passes it, so retries count against the quota.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from ..client.ratelimit import RateLimiter, Slot
from ..client.regions import QUOTAS
from ..client.vocabulary import GENERATE
from ..errors import InputError

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: The quota of GenerateReflectSequence, requests per second.
QUOTA = QUOTAS[GENERATE]
#: Seconds the schedule adds to each window of ``quota + 1`` starts (jitter to the server).
DEFAULT_JITTER_BUDGET = 0.017
#: Seconds the gate adds to its window: the hard floor, a little under the schedule's.
DEFAULT_GATE_BUDGET = 0.014


@dataclass(frozen=True)
class Pacing:
    """How starts are spaced for a requested rate (all times in seconds)."""

    rate: float  #: calls/s asked for
    interval: float  #: the schedule's spacing
    capacity: int  #: the gate's starts per ``gate_window``
    gate_window: float
    min_gap: float  #: the gate's smallest spacing between two starts

    @property
    def schedule_rate(self) -> float:
        """Calls per second the schedule aims at (the quota minus the margin, at most)."""
        return 1.0 / self.interval

    @classmethod
    def for_rate(
        cls,
        rate: float,
        *,
        quota: float = QUOTA,
        window: float = 1.0,
        jitter_budget: float = DEFAULT_JITTER_BUDGET,
        gate_budget: float = DEFAULT_GATE_BUDGET,
    ) -> Pacing:
        """Spacing for ``rate`` calls/s under ``quota`` requests per ``window`` seconds.

        The schedule's interval is ``1 / rate``, widened when needed so that ``capacity + 1``
        consecutive starts span ``window + jitter_budget`` (a rate above the quota is held to
        it).  The gate allows ``capacity`` starts per ``window + gate_budget``, or per
        ``0.99 * capacity * interval`` when that is longer (a slow rate stays slow after a
        stall), and keeps starts half an interval apart.
        """
        if (
            not (
                isinstance(rate, int | float) and not isinstance(rate, bool) and math.isfinite(rate)
            )
            or not rate > 0
        ):
            raise InputError(f"rate must be a positive number of calls per second, got {rate!r}")
        if not (quota > 0 and window > 0 and 0 <= gate_budget <= jitter_budget):
            raise InputError("need quota, window > 0 and 0 <= gate_budget <= jitter_budget")
        capacity = max(1, math.floor(quota * window))
        if rate > capacity / window:
            logger.warning("rate %.3g/s is above the quota of %g/s; held to the quota", rate, quota)
        interval = max(1.0 / rate, (window + jitter_budget) / capacity)
        gate_window = max(window + gate_budget, 0.99 * capacity * interval)
        return cls(float(rate), interval, capacity, gate_window, 0.5 * interval)

    def gate(self, **kwargs: object) -> PacingGate:
        """A :class:`PacingGate` with this pacing (``kwargs``: clock, sleep, record)."""
        return PacingGate(self.capacity, self.gate_window, self.min_gap, **kwargs)  # type: ignore[arg-type]


def pool_size(rate: float, horizon_s: float, *, floor: int = 4, cap: int = 256) -> int:
    """Workers needed to keep ``rate`` starts/s when a call can last up to ``horizon_s`` seconds.

    Little's law on the worst case: ``rate * horizon_s`` calls in flight, plus a few spare.
    """
    return max(floor, min(cap, math.ceil(rate * horizon_s) + 4))


class PacingGate(RateLimiter):
    """At most ``capacity`` starts in any ``window`` seconds, and none closer than ``min_gap``.

    A :class:`~faceid_tools.client.ratelimit.RateLimiter` (the client's ``rate_limiter``), shareable
    between the per-region clients, as the quota is per SecretId and action across regions.
    Waiting callers are released one at a time; each rule is checked against ``clock`` at the
    moment of release, and that release instant is the one the client logs as ``started_at``.
    ``record``, if given, receives every release instant.
    """

    def __init__(
        self,
        capacity: int,
        window: float,
        min_gap: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        record: list[float] | None = None,
    ) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise InputError(f"capacity must be a positive int, got {capacity!r}")
        if not (math.isfinite(window) and window > 0 and 0 <= min_gap <= window):
            raise InputError("need window > 0 and 0 <= min_gap <= window")
        super().__init__(capacity, window, clock=clock, sleep=sleep)
        self.min_gap = float(min_gap)
        self._last = -math.inf
        self._record = record
        self.releases = 0

    def __repr__(self) -> str:
        return f"PacingGate(capacity={self.capacity}, window={self.window:g}, min_gap={self.min_gap:g})"

    def reserve(self) -> Slot:
        """Block until this caller may start; return the wait and the release instant."""
        clock, starts = self.clock, self._starts
        arrived = clock()
        with self._lock:
            while True:
                now = clock()
                due = self._last + self.min_gap
                if len(starts) == self.capacity:
                    due = max(due, starts[0] + self.window)
                if now >= due:
                    break
                self._sleep(due - now)
            starts.append(now)
            self._last = now
            self.releases += 1
            if self._record is not None:
                self._record.append(now)
        return Slot(now - arrived, now)


def run_schedule(
    items: Iterable[T],
    interval: float,
    dispatch: Callable[[T], None],
    *,
    clock: Callable[[], float] = time.monotonic,
    wait: Callable[[float], bool],
    stopped: Callable[[], bool],
) -> int:
    """Dispatch item *k* at ``t0 + k * interval`` (constant arrival) until done or stopped.

    ``wait(seconds)`` sleeps and returns True when asked to stop (e.g. ``threading.Event.wait``);
    ``dispatch`` may block (no free worker).  Small lateness (a late wake-up) is absorbed without
    drift; after a long stall the schedule restarts half an interval after the late dispatch
    rather than bursting to catch up.  Returns how many items were dispatched.
    """
    dispatched = 0
    due = clock()
    for item in items:
        while not stopped():
            delay = due - clock()
            if delay <= 0:
                break
            if wait(delay):
                break
        if stopped():
            break
        dispatch(item)
        dispatched += 1
        due = max(due + interval, clock() + interval * 0.5)
    return dispatched
