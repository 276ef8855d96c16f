"""The client's retry policy.

What is retried
    Network errors (refused, reset, DNS, TLS), timeouts (connect, read, a body slower than the
    timeout), the API error codes ``RequestLimitExceeded*``, ``InternalError*`` and
    ``ServiceUnavailable*``, and HTTP 502/503/504 from a gateway in front of the service.  Nothing
    else: other API errors (auth, invalid input, download errors), other HTTP statuses, malformed
    answers and integrity errors are final on the first attempt.

How many times
    ``retries`` extra attempts after the first (``retries=0``: exactly one attempt, for campaigns
    that measure raw error rates).  Each attempt is its own call-log row; the attempts of one call
    share its ``call_id`` and count ``attempt`` 1, 2, ...

How long between attempts
    Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
    before retry ``n`` (1-based) the client sleeps ``uniform(0, min(cap, base * 2 ** (n - 1)))``.
    There is never a sleep after the last attempt.  ``backoff`` replaces the formula (it receives
    ``n`` and returns seconds), ``random`` replaces the uniform draw in [0, 1), and the client's
    ``sleep`` replaces :func:`time.sleep`, so tests never sleep.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass, field

from ..calllog.conventions import BACKOFF_BASE_S, BACKOFF_CAP_S, DEFAULT_RETRIES, backoff_ceiling
from ..errors import (
    APIError,
    HTTPStatusError,
    InputError,
    NetworkError,
    RequestTimeoutError,
    is_retryable_code,
)

__all__ = ["RETRYABLE_HTTP_STATUSES", "RetryPolicy", "is_retryable"]

#: Gateway statuses worth another try (the API itself answers 200 even for errors).
RETRYABLE_HTTP_STATUSES: frozenset[int] = frozenset({502, 503, 504})


def is_retryable(exc: BaseException) -> bool:
    """True for the failures the policy retries (see the module docstring)."""
    if isinstance(exc, NetworkError | RequestTimeoutError):
        return True
    if isinstance(exc, APIError):
        return is_retryable_code(exc.code)
    if isinstance(exc, HTTPStatusError):
        return exc.status in RETRYABLE_HTTP_STATUSES
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts, exponential backoff with full jitter and a cap.

    - Retried: network errors, timeouts, ``RequestLimitExceeded*``, ``InternalError*``,
      ``ServiceUnavailable*``, HTTP 502/503/504.  Everything else is final at once.
    - ``retries``: extra attempts after the first (0 = exactly one attempt).
    - Before retry ``n`` (1-based) wait ``uniform(0, min(cap, base * 2 ** (n - 1)))`` seconds;
      never after the last attempt.  ``backoff(n) -> seconds`` replaces the formula,
      ``random() -> [0, 1)`` the jitter source (the client's ``sleep`` does the waiting).
    - Every attempt is one call-log row; the attempts of a call share its ``call_id``.
    """

    retries: int = DEFAULT_RETRIES
    base: float = BACKOFF_BASE_S
    cap: float = BACKOFF_CAP_S
    backoff: Callable[[int], float] | None = None
    random: Callable[[], float] = field(default=_random.random, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise InputError(f"retries: must be an integer >= 0 (got {self.retries!r})")
        if not self.base >= 0 or not self.cap >= 0:
            raise InputError("base and cap: must be >= 0")

    @property
    def attempts(self) -> int:
        """Total attempts including the first."""
        return self.retries + 1

    def delay(self, retry: int) -> float:
        """Seconds to sleep before retry number ``retry`` (1 = the second attempt)."""
        if self.backoff is not None:
            return max(0.0, float(self.backoff(retry)))
        return backoff_ceiling(retry, self.base, self.cap) * self.random()

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """True if ``exc`` on attempt ``attempt`` (1-based) earns another attempt."""
        return attempt < self.attempts and is_retryable(exc)
