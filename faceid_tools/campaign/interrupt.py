"""Ctrl-C during a campaign: the first press stops scheduling, the second abandons in-flight calls.

Installed only while a campaign runs in the main thread (signal handlers can only be set there);
the previous handler is restored afterwards.  A third press raises :class:`KeyboardInterrupt` as
usual.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

logger = logging.getLogger(__name__)


class StopControl:
    """The two stop levels of a campaign, settable from a signal handler or another thread."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop if stop is not None else threading.Event()
        self.abandon = threading.Event()
        self.presses = 0

    @property
    def stopped(self) -> bool:
        return self.stop.is_set()

    def press(self) -> None:
        """What one Ctrl-C does."""
        self.presses += 1
        if self.presses == 1:
            logger.warning(
                "stopping: no new calls; waiting for the calls in flight (Ctrl-C again to abandon them)"
            )
            self.stop.set()
        elif self.presses == 2:
            logger.warning("abandoning the calls in flight; they will be redone on resume")
            self.stop.set()
            self.abandon.set()
        else:
            raise KeyboardInterrupt


@contextmanager
def sigint_stops(control: StopControl) -> Iterator[bool]:
    """Route SIGINT to ``control`` while inside; yields whether the handler could be installed."""
    if threading.current_thread() is not threading.main_thread():
        yield False
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        control.press()

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main interpreter
        yield False
        return
    try:
        yield True
    finally:
        signal.signal(signal.SIGINT, previous)
