"""The attempt loop of one logical call: rate-limit slot, exchange, parse, one log row per attempt,
retry or return.

Every attempt is one row of the call log, committed before the call returns or raises; a failure
is redacted before it is logged or raised, and carries the call's ``call_id`` and ``attempts``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from time import perf_counter
from typing import Any, TypeVar

from ..calllog.conventions import iso_utc, outcome_of
from ..calllog.store import CallLog
from ..errors import FaceIDError, NetworkError
from .envelope import Redactor
from .ratelimit import RateLimiter
from .retry import RetryPolicy
from .transport import Reply, Transport

__all__ = ["Attempts"]

log = logging.getLogger("faceid_tools.client")

T = TypeVar("T")
Parse = Callable[[Reply, dict[str, Any]], T]

#: What every attempt's row says of the attempt itself, in the order ``_finish`` gives them.
_ATTEMPT_COLUMNS: tuple[str, ...] = (
    "attempt",
    "action",
    "region",
    "endpoint",
    "started_at",
    "queued_ms",
    "latency_ms",
    "outcome",
    "request_bytes",
)
_REPLY_COLUMNS = (*_ATTEMPT_COLUMNS, "http_status", "response_bytes")  #: when an answer came
_ERROR_COLUMNS = ("error_code", "error_message")  #: when the attempt failed


class Attempts:
    """Runs the attempts of logical calls for one client (region) and logs each one."""

    def __init__(
        self,
        *,
        region: str,
        transport: Transport,
        timeout: float,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        call_log: CallLog | None,
        redact: Redactor,
    ) -> None:
        self.region = region
        self.transport = transport
        self.timeout = timeout
        self.policy = policy
        self.sleep = sleep
        self.call_log = call_log
        self.redact = redact
        self._wall0, self._mono0 = time.time(), time.monotonic()

    def run(
        self,
        action: str,
        method: str,
        url: str,
        host: str,
        headers: Callable[[], dict[str, str]],
        body: bytes | None,
        parse: Parse[T],
        call_row: dict[str, Any],
        *,
        limiter: RateLimiter | None,
        max_bytes: int,
        secrets: tuple[str, ...],
    ) -> T:
        """Attempt until success or a final failure; log one row per attempt; return or raise."""
        policy = self.policy
        logged = self.call_log is not None
        request_bytes = len(body) if body is not None else 0
        attempt = 0
        while True:
            attempt += 1
            queued, started = self._slot(limiter)
            request_headers = headers()
            row = dict(call_row) if logged else call_row
            reply: Reply | None = None
            t0 = perf_counter()
            try:
                reply = self.transport.exchange(
                    method,
                    url,
                    request_headers,
                    body,
                    timeout=self.timeout,
                    max_bytes=max_bytes,
                    host=host,
                )
                latency = perf_counter() - t0
                result = parse(reply, row)
            except FaceIDError as exc:
                if reply is None:
                    latency = perf_counter() - t0
                exc.message = self.redact(exc.message, secrets)
                exc.args = (exc.message,)
                self._finish(
                    row, action, host, attempt, started, queued, latency, reply, request_bytes, exc
                )
                if policy.should_retry(exc, attempt):
                    delay = policy.delay(attempt)
                    log.info(
                        "%s to %s: attempt %d failed (%s); retrying in %.3f s",
                        action,
                        host,
                        attempt,
                        exc.code,
                        delay,
                    )
                    self.sleep(delay)
                    continue
                exc.call_id, exc.attempts = call_row.get("call_id"), attempt
                raise
            except Exception as exc:  # not ours (a bug, an odd URL): still one row, then as is
                failure = NetworkError(self.redact(f"{type(exc).__name__}: {exc}", secrets))
                failure.code = type(exc).__name__
                latency = perf_counter() - t0
                self._finish(
                    row,
                    action,
                    host,
                    attempt,
                    started,
                    queued,
                    latency,
                    reply,
                    request_bytes,
                    failure,
                )
                raise
            self._finish(
                row, action, host, attempt, started, queued, latency, reply, request_bytes, None
            )
            return result

    def _slot(self, limiter: RateLimiter | None) -> tuple[float, float]:
        """Wait for the limiter; return (seconds queued, wall-clock start instant)."""
        if limiter is None:
            return 0.0, time.time()
        waited, at = limiter.reserve()
        now = time.time()
        if limiter.clock is not time.monotonic:
            return waited, now
        # the limiter's instant on the wall clock, exact relative to other starts (no jitter of a
        # second clock read); re-anchored if the wall clock was stepped since the client started
        started = self._wall0 + (at - self._mono0)
        if abs(now - started) > 1.0 + waited:
            self._wall0, self._mono0 = now, time.monotonic()
            started = now
        return waited, started

    def _finish(
        self,
        row: dict[str, Any],
        action: str,
        host: str,
        attempt: int,
        started: float,
        queued: float,
        latency: float,
        reply: Reply | None,
        request_bytes: int,
        exc: FaceIDError | None,
    ) -> None:
        """Write the attempt's row (and a DEBUG line)."""
        outcome = outcome_of(exc)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s attempt %d: %s %s in %.1f ms (queued %.1f ms)",
                action,
                host,
                attempt,
                outcome,
                exc.code if exc is not None else reply.status if reply else "-",
                latency * 1000.0,
                queued * 1000.0,
            )
        call_log = self.call_log
        if call_log is None:
            return
        columns: tuple[str, ...] = _ATTEMPT_COLUMNS
        extra: tuple[Any, ...] = ()
        if reply is not None:
            if reply.request_id is not None and row.get("request_id") is None:
                row["request_id"] = reply.request_id
            columns, extra = _REPLY_COLUMNS, (reply.status, len(reply.body))
        if exc is not None:
            if exc.request_id is not None:
                row["request_id"] = exc.request_id
            columns, extra = columns + _ERROR_COLUMNS, (*extra, exc.code, exc.message)
        # the attempt's own columns appended to the call's (which never holds one of them) as
        # two tuples: no dict grown key by key, and no None bound (see calllog.store._SHAPES)
        # where the facade leaves an unknown field out of the row rather than setting it None
        call_log.record_columns(
            (*row, *columns),
            (
                *row.values(),
                attempt,
                action,
                self.region,
                host,
                iso_utc(started),
                queued * 1000.0,
                latency * 1000.0,
                outcome,
                request_bytes,
                *extra,
            ),
        )
