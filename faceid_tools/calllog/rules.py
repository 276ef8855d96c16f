"""What rows mean read together, defined once for the readers that work on SQLite directly
(``faceid-tools calls``, a campaign's end summary); the analysis engines (pandas, DuckDB, Spark)
implement the same two rules, and ``tests/test_one_definition.py`` checks every path agrees.

* **A call's final outcome** is the outcome of its last attempt: the GenerateReflectSequence row
  with the highest ``attempt`` among the rows of its ``call_id`` (one per call, as attempts of a
  call are numbered 1, 2, ...).  A row without a ``call_id`` is a call of its own.  A call *failed*
  when that outcome is not ``ok``.
* **A repeated sequence** is a download whose bytes (``seq_sha256``) an earlier download of
  *another* call received, in log order; a call's own second download of the same bytes counts
  once (it is neither a new download nor a repeat).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..client.vocabulary import GENERATE
from .conventions import OK

__all__ = ["RepeatedSequences", "final_outcome_counts"]


def final_outcome_counts(
    conn: sqlite3.Connection, where: str = "", params: tuple[Any, ...] = ()
) -> tuple[int, int]:
    """``(calls, failed)`` of the GenerateReflectSequence calls among rows matching ``where`` (an
    SQL condition on ``calls``, "" for all), each call by its final outcome (module docstring)."""
    cond = f"action = ? AND ({where})" if where else "action = ?"
    row = conn.execute(
        "SELECT count(*), coalesce(sum(outcome IS NOT ?), 0) FROM ("
        "SELECT call_id, attempt, outcome, "
        "max(attempt) OVER (PARTITION BY call_id) AS last "
        f"FROM calls WHERE {cond}) WHERE call_id IS NULL OR attempt = last",
        (OK, GENERATE, *params),
    ).fetchone()
    return int(row[0]), int(row[1])


class RepeatedSequences:
    """Downloads fed in log order; :meth:`see` says which repeat a sequence (module docstring)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._own: set[tuple[str, str]] = set()  # (sha, call_id) already counted

    def see(self, sha: str | None, call_id: str | None) -> bool | None:
        """True when ``sha`` repeats another call's download, False when it is new, None when
        it does not count (no bytes, or this call already received them)."""
        if not sha:
            return None
        if call_id is not None:
            if (sha, call_id) in self._own:
                return None
            self._own.add((sha, call_id))
        if sha in self._seen:
            return True
        self._seen.add(sha)
        return False
