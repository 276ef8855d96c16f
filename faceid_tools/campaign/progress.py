"""The campaign's progress bar: calls done, failures so far, live rate (tqdm; a widget in notebooks).

It counts what the end-of-run summary counts: ``failed`` = calls whose GenerateReflectSequence
failed for good (the summary's "failed"), ``bad_seq`` = calls whose sequence then failed its MD5
or its download (the summary's "failed MD5" + "download failures").
"""

from __future__ import annotations

import threading
from typing import Any

#: Call statuses (as the runner records them) counted as a failed call / a bad sequence.
FAILED = frozenset({"api_error", "failed"})
BAD_SEQUENCE = frozenset({"integrity_error", "download_failed"})


class Progress:
    """Thread-safe counters shown as a tqdm bar (``enabled=False``: counters only, no output)."""

    def __init__(self, total: int, *, enabled: bool, desc: str, initial: int = 0) -> None:
        self._lock = threading.Lock()
        self.done = 0
        self.failed = 0
        self.bad_sequences = 0
        self.decided_cells: tuple[int, int] | None = None
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
            self._bar.set_postfix(self._counts(), refresh=False)

    def _counts(self) -> dict[str, int]:
        return {"failed": self.failed, "bad_seq": self.bad_sequences}

    def call_finished(self, status: str) -> None:
        """One call is done; ``status`` is the runner's (``ok``, ``api_error``, ...)."""
        with self._lock:
            self.done += 1
            self.failed += status in FAILED
            self.bad_sequences += status in BAD_SEQUENCE
            if self._bar is not None:
                self._bar.set_postfix(self._counts(), refresh=False)
                self._bar.update(1)

    def cells(self, decided: int, total: int) -> None:
        """Show how many cells are decided (an until-decided campaign, each round)."""
        with self._lock:
            self.decided_cells = (decided, total)
            if self._bar is not None:
                self._bar.set_postfix({**self._counts(), "decided": f"{decided}/{total} cells"})

    def note(self, text: str) -> None:
        """Show a short status next to the bar (e.g. "stopping")."""
        with self._lock:
            if self._bar is not None:
                self._bar.set_postfix({**self._counts(), "status": text})

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
