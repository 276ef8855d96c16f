"""What a campaign still lacks, read from the log.

A plan call is **complete** when any of these holds:

* the runner marked it finished (``campaign_calls``);
* its ``GenerateReflectSequence`` succeeded and its ``DownloadSequence`` row exists (whatever the
  download's outcome: an integrity failure is a result, not a gap);
* its last ``GenerateReflectSequence`` attempt failed for good: the attempt number reached the
  campaign's ``retries + 1``, or the failure is one the client does not retry.

Everything else — never started, killed mid-call, a successful call killed before its download —
is pending, and a resume runs exactly those indices.  Rows of an interrupted exchange are never
deleted: the log keeps every exchange that happened.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ..calllog.conventions import DOWNLOAD, GENERATE, plan_index
from ..client.retry import RETRYABLE_HTTP_STATUSES
from ..errors import is_retryable_code
from .plan import Plan, PlanEntry
from .records import has_table

GRS = GENERATE
#: Outcomes the client retries whatever the code (transport failures).
RETRIED_OUTCOMES = frozenset({"timeout", "network_error"})


def default_is_retried(
    outcome: str | None, error_code: str | None, http_status: int | None = None
) -> bool:
    """True when the client's retry policy (:mod:`faceid_tools.client.retry`) retries such an attempt."""
    if outcome in RETRIED_OUTCOMES:
        return True
    if outcome == "http_error":
        return http_status in RETRYABLE_HTTP_STATUSES
    return outcome == "api_error" and bool(error_code) and is_retryable_code(error_code or "")


@dataclass
class CallState:
    """What the log holds for one plan call."""

    grs_ok: bool = False
    last_grs_attempt: int = 0
    last_grs_outcome: str | None = None
    last_grs_code: str | None = None
    last_grs_status: int | None = None
    downloaded: bool = False
    attempts: list[int] = field(default_factory=list)


def call_states(conn: sqlite3.Connection, campaign_id: str) -> dict[int, CallState]:
    """Plan index -> what ``calls`` holds for it (GenerateReflectSequence and download rows)."""
    states: dict[int, CallState] = defaultdict(CallState)
    if not has_table(conn, "calls"):
        return {}
    rows = conn.execute(
        "SELECT call_id, action, attempt, outcome, error_code, http_status FROM calls"
        " WHERE campaign_id = ? AND action IN (?, ?) ORDER BY id",
        (campaign_id, GRS, DOWNLOAD),
    ).fetchall()
    for call_id, action, attempt, outcome, code, status in rows:
        index = plan_index(campaign_id, str(call_id))
        if index is None:
            continue
        st = states[index]
        if action == DOWNLOAD:
            st.downloaded = True
            continue
        st.attempts.append(int(attempt or 1))
        if outcome == "ok":
            st.grs_ok = True
        st.last_grs_attempt = int(attempt or 1)
        st.last_grs_outcome = outcome
        st.last_grs_code = code
        st.last_grs_status = status
    return dict(states)


def is_complete(
    state: CallState,
    retries: int,
    is_retried: Callable[[str | None, str | None, int | None], bool] = default_is_retried,
) -> bool:
    """The rule in the module docstring, for one call's log rows."""
    if state.grs_ok:
        return state.downloaded
    if state.last_grs_outcome is None:
        return False
    return state.last_grs_attempt >= retries + 1 or not is_retried(
        state.last_grs_outcome, state.last_grs_code, state.last_grs_status
    )


def completed_indices(
    conn: sqlite3.Connection,
    campaign_id: str,
    *,
    retries: int,
    marked: set[int] | None = None,
) -> set[int]:
    """Plan indices that are complete (marked finished, or complete by their log rows)."""
    done = set(marked or ())
    for index, state in call_states(conn, campaign_id).items():
        if is_complete(state, retries):
            done.add(index)
    return done


def pending(plan: Plan, done: set[int]) -> list[PlanEntry]:
    """The plan entries not yet complete, in run order."""
    return [e for e in plan.entries if e.index not in done]
