"""The emulator's sense of time: wall and monotonic clocks with a shift tests can advance.

The shift moves object expiry, retention and quota windows forward without anyone sleeping
(``POST /_emulator/clock``).  Signature timestamps are always checked against the real wall
clock, because clients sign with the real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import InputError


class Clock:
    """``time()`` (Unix seconds) and ``monotonic()``, both shifted by :meth:`advance`."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._wall = wall
        self._monotonic = monotonic
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        """Seconds this clock runs ahead of the underlying clocks."""
        return self._offset

    def time(self) -> float:
        return self._wall() + self._offset

    def monotonic(self) -> float:
        return self._monotonic() + self._offset

    def real_time(self) -> float:
        """The unshifted wall clock (what signature timestamps are checked against)."""
        return self._wall()

    def monotonic_at(self, instant: float) -> float:
        """This clock's :meth:`monotonic` reading at ``instant``, an earlier :func:`time.monotonic`."""
        return self.monotonic() - max(0.0, time.monotonic() - instant)

    def advance(self, seconds: float) -> float:
        """Move this clock forward by ``seconds`` (>= 0); returns the new offset."""
        if seconds < 0:
            raise InputError("a clock only moves forward")
        with self._lock:
            self._offset += seconds
            return self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0


class ManualClock(Clock):
    """A clock that only moves when told to (for tests), starting at the current time.

    :meth:`real_time` stays the real wall clock, so signatures made by ordinary clients verify.
    """

    def __init__(self, start: float | None = None):
        self._now = time.time() if start is None else start
        super().__init__(wall=lambda: self._now, monotonic=lambda: self._now)

    def real_time(self) -> float:
        return time.time()

    def monotonic_at(self, instant: float) -> float:
        """A manual clock does not move by itself: every instant reads as now."""
        return self.monotonic()

    def set(self, now: float) -> None:
        self._now = now
