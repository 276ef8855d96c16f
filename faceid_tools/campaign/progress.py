"""The campaign's progress bar: calls done, errors so far, live rate (tqdm; a widget in notebooks)."""

from __future__ import annotations

import threading
from typing import Any


class Progress:
    """Thread-safe counters shown as a tqdm bar (``enabled=False``: counters only, no output)."""

    def __init__(self, total: int, *, enabled: bool, desc: str, initial: int = 0) -> None:
        self._lock = threading.Lock()
        self.done = 0
        self.errors = 0
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total + initial,
                initial=initial,
                desc=desc,
                unit="call",
                dynamic_ncols=True,
                smoothing=0.1,
            )
            self._bar.set_postfix(errors=0, refresh=False)

    def call_finished(self, *, error: bool) -> None:
        with self._lock:
            self.done += 1
            self.errors += int(error)
            if self._bar is not None:
                self._bar.set_postfix(errors=self.errors, refresh=False)
                self._bar.update(1)

    def note(self, text: str) -> None:
        """Show a short status next to the bar (e.g. "stopping")."""
        with self._lock:
            if self._bar is not None:
                self._bar.set_postfix(errors=self.errors, status=text)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
