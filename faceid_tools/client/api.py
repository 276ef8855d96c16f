"""One signed API action: the TC3-signed POST of a JSON body, its answer read strictly.

:class:`SignedApi` builds a request's headers (the fixed ones once, the timestamp and the
signature per attempt, so a retry is signed anew), reads the envelope and hands each attempt to
:class:`.attempts.Attempts`, which sends it, retries and logs it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .attempts import Attempts
from .credentials import Credential
from .envelope import Redactor, parse_envelope
from .ratelimit import RateLimiter
from .regions import API_VERSION, SERVICE
from .signing import sign
from .transport import Reply

__all__ = ["SignedApi"]

T = TypeVar("T")


class SignedApi:
    """The API actions of one client: its endpoint, credential, region and rate limiters."""

    def __init__(
        self,
        *,
        endpoint: str,
        host: str,
        region: str,
        credential: Credential,
        user_agent: str,
        limiters: Mapping[str, RateLimiter | None],
        attempts: Attempts,
        redact: Redactor,
        max_bytes: int,
    ) -> None:
        self.endpoint, self.host = endpoint, host
        self.credential = credential
        self.limiters = limiters
        self.attempts = attempts
        self.redact = redact
        self.max_bytes = max_bytes
        self.static_headers = {
            "Content-Type": "application/json",
            "Host": host,
            "X-TC-Version": API_VERSION,
            "X-TC-Region": region,
            "X-TC-RequestClient": user_agent,
            "User-Agent": user_agent,
        }
        if credential.token:
            self.static_headers["X-TC-Token"] = credential.token

    def call(
        self,
        action: str,
        params: dict[str, Any],
        required: Mapping[str, type],
        row: dict[str, Any],
        on_success: Callable[[dict[str, Any], dict[str, Any]], T],
        *,
        secrets: tuple[str, ...] = (),
    ) -> T:
        """Call ``action`` with ``params``; ``on_success(answer, row)`` makes the result.

        ``required``: the answer's fields and their types (a missing or mistyped one fails the
        attempt); ``secrets``: values of this call to redact from messages (URLs with tokens).
        """
        body = json.dumps(params, separators=(",", ":")).encode()
        credential, host, redact = self.credential, self.host, self.redact
        static = self.static_headers

        def headers() -> dict[str, str]:
            timestamp = int(time.time())
            auth = sign(
                secret_id=credential.secret_id,
                secret_key=credential.secret_key,
                service=SERVICE,
                host=host,
                method="POST",
                timestamp=timestamp,
                payload=body,
            ).authorization
            return {
                **static,
                "X-TC-Action": action,
                "X-TC-Timestamp": str(timestamp),
                "Authorization": auth,
                "Content-Length": str(len(body)),
            }

        def parse(reply: Reply, row: dict[str, Any]) -> T:
            resp = parse_envelope(reply, host, required, redact, secrets)
            row["request_id"] = resp["RequestId"]
            return on_success(resp, row)

        return self.attempts.run(
            action,
            "POST",
            self.endpoint,
            host,
            headers,
            body,
            parse,
            row,
            limiter=self.limiters.get(action),
            max_bytes=self.max_bytes,
            secrets=secrets,
        )
