"""Constant-arrival start schedule and the pacing gate that keeps it under the quota.

The service counts arrivals in a sliding one-second window (5 for ``GenerateReflectSequence``).
Starting exactly every 200 ms would sometimes put six arrivals in one second at the server,
because the delay from our start to the server's clock varies a little (thread hand-off, GIL,
loopback).  So there is a margin, in two layers (see :class:`Pacing`):

* :func:`run_schedule` dispatches call *k* at ``t0 + k * interval`` (constant arrival), where
  ``quota + 1`` consecutive starts span ``window + jitter_budget`` — 203 ms apart with the default
  15 ms budget, 4.93 calls/s.  It never bursts to make up for a late dispatch.
* :class:`PacingGate` is the last gate before a request leaves (the client's ``rate_limiter``):
  consecutive releases are at least ``gate_interval`` apart (201 ms: a hard floor of
  ``window + 5 ms`` for ``quota + 1`` starts), measured on the clock at the moment of release.
  It is a little looser than the schedule, so a late call delays the next few by a shrinking
  amount instead of shifting the rest of the campaign.  Every attempt passes it, so retries
  count against the quota.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from ..regions import QUOTAS

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: Seconds of slack per window of ``quota + 1`` starts, for the jitter between a start here and
#: the arrival at the server.
DEFAULT_JITTER_BUDGET = 0.015
#: The quota of GenerateReflectSequence, requests per second.
QUOTA = QUOTAS["GenerateReflectSequence"]


#: The gate's own (hard) slack per window of ``quota + 1`` starts.
DEFAULT_GATE_BUDGET = 0.005


@dataclass(frozen=True)
class Pacing:
    """Start spacing for a requested rate: the schedule's interval and the gate's (seconds)."""

    rate: float
    interval: float
    gate_interval: float

    @property
    def schedule_rate(self) -> float:
        """Calls per second the schedule aims at (at most the quota, minus the margin)."""
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
        """Spacing for ``rate`` calls/s, never tighter than ``quota`` per ``window``.

        The schedule's interval is ``1 / rate``, widened when needed so that ``quota + 1``
        consecutive starts span ``window + jitter_budget``; a rate above the quota is held to
        it.  The gate allows 1 % more than the schedule, never less than ``window + gate_budget``
        for ``quota + 1`` starts.
        """
        if not (isinstance(rate, int | float) and math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be a positive number of calls per second, got {rate!r}")
        if quota <= 0 or window <= 0 or not 0 <= gate_budget <= jitter_budget:
            raise ValueError("need quota, window > 0 and 0 <= gate_budget <= jitter_budget")
        if rate > quota / window:
            logger.warning("rate %.3g/s is above the quota of %g/s; held to the quota", rate, quota)
        interval = max(1.0 / rate, (window + jitter_budget) / quota)
        gate_interval = max((window + gate_budget) / quota, 0.99 * interval)
        return cls(float(rate), interval, min(gate_interval, interval))


def pool_size(rate: float, horizon_s: float, *, floor: int = 4, cap: int = 256) -> int:
    """Workers needed to keep ``rate`` starts/s when a call can last up to ``horizon_s`` seconds.

    Little's law on the worst case: ``rate * horizon_s`` calls in flight, plus a few spare.
    """
    return max(floor, min(cap, math.ceil(rate * horizon_s) + 4))


class PacingGate:
    """Releases callers one at a time, at least ``interval`` seconds apart.

    Drop-in for the client's rate limiter (``acquire() -> seconds waited``) and shareable between
    the per-region clients, as the quota is per SecretId and action across regions.  The spacing
    is checked against ``clock`` at the moment of release, so a caller that arrives late never
    lets the next one through early.  ``record``, if given, receives every release time.
    """

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        record: list[float] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last = -math.inf
        self._record = record
        self.releases = 0

    @property
    def rate(self) -> float:
        """Releases per second at most."""
        return 1.0 / self.interval

    def acquire(self) -> float:
        """Block until this caller may start; return the seconds it waited."""
        arrived = self._clock()
        with self._lock:
            while True:
                now = self._clock()
                due = self._last + self.interval
                if now >= due:
                    break
                self._sleep(due - now)
            self._last = now
            self.releases += 1
            if self._record is not None:
                self._record.append(now)
        return now - arrived


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
