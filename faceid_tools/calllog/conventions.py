"""What a call-log row says, written once for every writer: the client, the campaign runner and
``simulate``.

* the outcome classes (and which failure is which); the actions, security levels and default log
  path are re-exported from :mod:`faceid_tools.client.vocabulary`, where they are defined;
* the client's own error messages (what the service says is logged as the service said it);
* the call-id formats: a fresh UUID4 for a lone call, ``<campaign_id>-<index>`` (zero-padded to
  at least :data:`CALL_INDEX_DIGITS` digits) for the calls of a plan;
* the retry back-off defaults (full jitter: retry ``n`` waits ``U(0, min(cap, base * 2**(n-1)))``);
* the ``started_at`` text format (UTC ISO-8601 with microseconds and ``+00:00``);
* what a missing value of a column is called wherever it is grouped or listed
  (:func:`missing_name`: a call made outside any campaign is under ``"no campaign"``).

It imports nothing heavier than :mod:`faceid_tools.errors` and the vocabulary, so any module may use it.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime

from ..client.vocabulary import (
    ACTIONS,
    CREATE_UPLOAD_URL,
    DEFAULT_LOG_PATH,
    DOWNLOAD,
    GENERATE,
    LEVELS,
    UPLOAD,
)
from ..errors import (
    APIError,
    FaceIDError,
    HTTPStatusError,
    IntegrityError,
    NetworkError,
    RequestTimeoutError,
)

__all__ = [
    "ACTIONS",
    "BACKOFF_BASE_S",
    "BACKOFF_CAP_S",
    "CALL_INDEX_DIGITS",
    "CREATE_UPLOAD_URL",
    "DEFAULT_LOG_PATH",
    "DEFAULT_RETRIES",
    "DOWNLOAD",
    "GENERATE",
    "LEVELS",
    "MISSING_NAMES",
    "OUTCOMES",
    "RUN_MODES",
    "RUN_MODE_FIXED",
    "RUN_MODE_UNTIL_DECIDED",
    "UPLOAD",
    "backoff_ceiling",
    "integrity_message",
    "iso_utc",
    "missing_name",
    "new_call_id",
    "outcome_of",
    "plan_call_id",
    "plan_index",
]

# --- vocabularies -------------------------------------------------------------------------------
# Actions, levels and the default log path are the shared vocabulary (faceid_tools.client.vocabulary);
# the outcome classes below are the log's own.

#: How a campaign was run (``campaigns.run_mode``): a fixed plan, or until every objective is
#: decided (adaptive: the analysis then shows anytime-valid intervals).
RUN_MODE_FIXED = "fixed"
RUN_MODE_UNTIL_DECIDED = "until-decided"
RUN_MODES: tuple[str, ...] = (RUN_MODE_FIXED, RUN_MODE_UNTIL_DECIDED)

OK = "ok"
API_ERROR = "api_error"
HTTP_ERROR = "http_error"
TIMEOUT = "timeout"
NETWORK_ERROR = "network_error"
BAD_RESPONSE = "bad_response"
INTEGRITY_ERROR = "integrity_error"
OUTCOMES: tuple[str, ...] = (
    OK,
    API_ERROR,
    HTTP_ERROR,
    TIMEOUT,
    NETWORK_ERROR,
    BAD_RESPONSE,
    INTEGRITY_ERROR,
)


def outcome_of(exc: FaceIDError | None) -> str:
    """The ``outcome`` of an attempt that ended with ``exc`` (None: it succeeded)."""
    if exc is None:
        return OK
    if isinstance(exc, APIError):
        return API_ERROR
    if isinstance(exc, HTTPStatusError):
        return HTTP_ERROR
    if isinstance(exc, RequestTimeoutError):
        return TIMEOUT
    if isinstance(exc, NetworkError):
        return NETWORK_ERROR
    if isinstance(exc, IntegrityError):
        return INTEGRITY_ERROR
    return BAD_RESPONSE


# --- the client's messages ----------------------------------------------------------------------

_INTEGRITY = "light sequence from {host} hashes to {actual}, expected {expected}"


def integrity_message(host: str, actual: str, expected: str) -> str:
    """``error_message`` of a download whose bytes do not hash to the MD5 the service gave."""
    return _INTEGRITY.format(host=host, actual=actual, expected=expected)


# --- call ids -----------------------------------------------------------------------------------

#: A plan call's index is zero-padded to at least this many digits.
CALL_INDEX_DIGITS = 6


def new_call_id() -> str:
    """The id of a call nobody named (a random UUID4)."""
    return str(uuid.uuid4())


def plan_call_id(campaign_id: str, index: int, digits: int = CALL_INDEX_DIGITS) -> str:
    """The id of call ``index`` of a campaign's plan (its retries and its download share it)."""
    return f"{campaign_id}-{index:0{max(digits, CALL_INDEX_DIGITS)}d}"


def plan_index(campaign_id: str, call_id: str) -> int | None:
    """The plan index a call id names, or None if it is not one of this campaign's plan calls."""
    prefix = f"{campaign_id}-"
    if not call_id.startswith(prefix):
        return None
    tail = call_id[len(prefix) :]
    return int(tail) if len(tail) >= CALL_INDEX_DIGITS and tail.isdigit() else None


# --- retries ------------------------------------------------------------------------------------

#: Extra attempts the client makes by default (campaigns measure raw rates with 0).
DEFAULT_RETRIES = 3
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 5.0


def backoff_ceiling(retry: int, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S) -> float:
    """The longest wait before retry ``retry`` (1 = the second attempt); the wait is U(0, this)."""
    return min(cap, base * (2.0 ** min(retry - 1, 64)))


# --- time ---------------------------------------------------------------------------------------


#: The last whole second :func:`iso_utc` formatted and its ``YYYY-MM-DDTHH:MM:SS.`` text (one
#: tuple, so a thread sees a matching pair).
_second: tuple[float, str] = (0.0, "1970-01-01T00:00:00.")


def iso_utc(ts: float) -> str:
    """``started_at`` of a Unix time: ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``.

    The same text as ``datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")``
    (microseconds rounded half to even, as ``datetime`` does), at a fifth of its cost: the
    date and time of day are formatted once per second, only the microseconds per call.
    """
    global _second
    frac, whole = math.modf(ts)
    micros = round(frac * 1e6)  # the rounding of datetime.fromtimestamp (half to even)
    if micros >= 1_000_000:
        micros -= 1_000_000
        whole += 1.0
    elif micros < 0:
        micros += 1_000_000
        whole -= 1.0
    cached = _second
    if cached[0] != whole:
        cached = _second = (whole, datetime.fromtimestamp(whole, UTC).isoformat()[:19] + ".")
    return "%s%06d+00:00" % (cached[1], micros)  # noqa: UP031 - a third faster than an f-string


#: What a missing value of a column is called where it is grouped, sorted or listed (pages,
#: ``faceid-tools calls``): a call made with ``FaceIDClient`` outside any campaign has no
#: ``campaign_id``, a sequence download no level of its own, an old log's rows no endpoint...
MISSING_NAMES: dict[str, str] = {
    "campaign_id": "no campaign",
    "region": "no region",
    "security_level": "no level",
    "endpoint": "no endpoint",
    "profile": "no profile",
    "action": "no action",
    "outcome": "no outcome",
    "error_code": "no error code",
    "client_version": "unknown version",
    "call_id": "no call id",
}


def missing_name(key: str) -> str:
    """The name of a missing value of column ``key`` (``"no campaign"`` for ``campaign_id``;
    ``"no <key>"`` for a column without a name of its own)."""
    return MISSING_NAMES.get(key, "no " + key.replace("_", " "))
