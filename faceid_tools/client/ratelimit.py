"""A sliding-window rate limiter: at most ``rate`` starts in any ``per``-second window.

The service's quota is 5 requests/second for ``GenerateReflectSequence`` (20/s for
``CreateUploadUrl``), counted per SecretId and action across regions, so one limiter can be shared by
several clients.  The limiter is thread-safe: :meth:`RateLimiter.acquire` holds a lock while it
waits, so waiting threads are released one by one and the start instants it hands out are strictly
ordered.  It keeps the last ``capacity`` start instants and lets a new start happen only when the
oldest of them is at least ``per`` seconds old, which is exactly "no more than ``capacity`` starts in
any half-open window of ``per`` seconds".

A fractional ``rate`` ≥ 1 is rounded down to whole starts per window (2.5/s allows 2 in any second);
a ``rate`` below 1 allows one start per ``per / rate`` seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from ..errors import InputError

__all__ = ["RateLimiter", "Slot"]


class Slot(NamedTuple):
    """What :meth:`RateLimiter.reserve` hands out."""

    waited: float  #: seconds spent waiting for the slot
    at: float  #: the start instant, on the limiter's ``clock``


class RateLimiter:
    """At most ``rate`` starts in any ``per``-second window, across threads.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable so tests never sleep.
    """

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (isinstance(rate, int | float) and rate > 0 and math.isfinite(rate)):
            raise InputError(f"rate: must be a positive finite number (got {rate!r})")
        if not (isinstance(per, int | float) and per > 0 and math.isfinite(per)):
            raise InputError(f"per: must be a positive finite number (got {per!r})")
        self.rate = float(rate)
        self.per = float(per)
        if rate >= 1:
            self.capacity = math.floor(rate)
            self.window = float(per)
        else:
            self.capacity = 1
            self.window = float(per) / float(rate)
        self.clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque(maxlen=self.capacity)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate:g}, per={self.per:g})"

    def reserve(self) -> Slot:
        """Wait for a free slot and take it; return the wait and the start instant."""
        clock, starts, window = self.clock, self._starts, self.window
        first = clock()  # before the lock: time queued behind other threads counts as waiting
        with self._lock:
            now = clock()
            while len(starts) == self.capacity:
                free_at = starts[0] + window
                if now >= free_at:
                    break
                self._sleep(free_at - now)
                now = clock()
            starts.append(now)
            return Slot(now - first, now)

    def acquire(self) -> float:
        """Wait for a free slot and take it; return the seconds waited."""
        return self.reserve().waited

    def starts(self) -> list[float]:
        """The most recent start instants (at most ``capacity``), oldest first."""
        with self._lock:
            return list(self._starts)
