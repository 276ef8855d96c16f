"""The fault catalogue of the matrix, and a loopback server that faults every k-th request.

Every fault the issue names is produced on 127.0.0.1, either by a reply of the shared
:class:`~tests.fixtures.servers.FaultServer` or, for connection-level faults, by an endpoint where
nothing answers (:func:`~tests.fixtures.servers.refused_endpoint`,
:func:`~tests.fixtures.servers.blackhole_endpoint`).  Each :class:`Fault` states what the client
must make of it: the typed error, the ``outcome`` of its row, the HTTP status logged and whether
the retry policy retries it (:mod:`faceid_tools.client.retry`).

:class:`PeriodicFaultServer` answers like the fixture server (a tiny FaceID + COS with valid
envelopes) except that every ``every``-th request ``match`` accepts gets the fault: what a campaign
has to keep going through.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from faceid_tools import errors as e
from tests.fixtures import servers as s
from tests.fixtures.servers import FIXTURE_CREDENTIAL, FaultServer, Recorded, Reply

#: Seconds of client timeout for the faults that are timeouts: small, so the matrix is quick,
#: yet ample for the ordinary answers of the same client on a loaded machine.
TIMEOUT_S = 1.0
#: The API's answers are under 1 MiB; the client refuses bigger ones.
OVERSIZE = 2 * 1024 * 1024

GRS = "GenerateReflectSequence"


def _valid_envelope_bytes() -> bytes:
    return json.dumps(
        {
            "Response": {
                "ReflectSequenceUrl": "https://faceid-x-1250000000.cos.ap-singapore.myqcloud.com/s",
                "ReflectSequenceMd5": "0123456789abcdef0123456789abcdef",
                "RequestId": str(uuid.uuid4()),
            }
        }
    ).encode()


@dataclass(frozen=True)
class Fault:
    """One fault and what the client must make of it.

    ``reply`` builds the server's reply (``None``: a connection-level fault, see ``endpoint``);
    ``endpoint`` is ``"refused"`` or ``"blackhole"`` for faults that need no server.
    """

    name: str
    error: type[e.FaceIDError]
    outcome: str
    retryable: bool
    http_status: int | None = None
    reply: Callable[[], Reply] | None = None
    endpoint: str | None = None
    slow: bool = False  #: needs the client's short timeout

    @property
    def server_side(self) -> bool:
        return self.reply is not None


FAULTS: tuple[Fault, ...] = (
    Fault("connection refused", e.NetworkError, "network_error", True, endpoint="refused"),
    Fault(
        "connect timeout",
        e.RequestTimeoutError,
        "timeout",
        True,
        endpoint="blackhole",
        slow=True,
    ),
    Fault(
        "read timeout (no answer)", e.RequestTimeoutError, "timeout", True, reply=s.hang, slow=True
    ),
    Fault(
        "connection reset mid-body",
        e.NetworkError,
        "network_error",
        True,
        reply=lambda: s.reset_mid_body(announce=400, send=120),
    ),
    Fault(
        "connection closed, no answer",
        e.NetworkError,
        "network_error",
        True,
        reply=s.close_silently,
    ),
    Fault("truncated JSON", e.NotJSONError, "bad_response", False, 200, reply=s.truncated_json),
    Fault(
        "HTTP 500 HTML page",
        e.HTTPStatusError,
        "http_error",
        False,
        500,
        reply=lambda: s.html_error(500),
    ),
    Fault(
        "HTTP 502 HTML page",
        e.HTTPStatusError,
        "http_error",
        True,
        502,
        reply=lambda: s.html_error(502),
    ),
    Fault(
        "HTTP 503 HTML page",
        e.HTTPStatusError,
        "http_error",
        True,
        503,
        reply=lambda: s.html_error(503),
    ),
    Fault(
        "200, Content-Type text/html",
        e.ContentTypeError,
        "bad_response",
        False,
        200,
        reply=lambda: s.raw(200, _valid_envelope_bytes(), "text/html; charset=utf-8"),
    ),
    Fault(
        "200, no Content-Type",
        e.ContentTypeError,
        "bad_response",
        False,
        200,
        reply=lambda: s.raw(200, _valid_envelope_bytes(), None),
    ),
    Fault(
        "200, non-JSON body",
        e.NotJSONError,
        "bad_response",
        False,
        200,
        reply=lambda: s.raw(200, "<html><body>OK</body></html>"),
    ),
    Fault(
        "200, JSON without Response",
        e.MissingResponseError,
        "bad_response",
        False,
        200,
        reply=lambda: s.json_reply({"Result": {"RequestId": str(uuid.uuid4())}}),
    ),
    Fault(
        "200, Response without its fields",
        e.MissingFieldError,
        "bad_response",
        False,
        200,
        reply=lambda: s.envelope(),
    ),
    Fault(
        "body dripping slower than the timeout",
        e.RequestTimeoutError,
        "timeout",
        True,
        reply=lambda: s.drip(_valid_envelope_bytes(), every=0.05),
        slow=True,
    ),
    Fault(
        "oversized body (Content-Length)",
        e.ResponseTooLargeError,
        "bad_response",
        False,
        reply=lambda: s.oversized(OVERSIZE),
    ),
    Fault(
        "oversized body (chunked)",
        e.ResponseTooLargeError,
        "bad_response",
        False,
        reply=lambda: s.oversized(OVERSIZE, chunked=True),
    ),
    Fault(
        "API InternalError",
        e.ServerError,
        "api_error",
        True,
        200,
        reply=lambda: s.api_error("InternalError"),
    ),
    Fault(
        "API RequestLimitExceeded",
        e.QuotaError,
        "api_error",
        True,
        200,
        reply=lambda: s.api_error("RequestLimitExceeded"),
    ),
    Fault(
        "API AuthFailure.SignatureFailure",
        e.AuthError,
        "api_error",
        False,
        200,
        reply=lambda: s.api_error("AuthFailure.SignatureFailure"),
    ),
)


def is_grs(rec: Recorded) -> bool:
    """The request is a ``GenerateReflectSequence`` call."""
    return rec.method == "POST" and rec.action == GRS


class PeriodicFaultServer(FaultServer):
    """The fixture server, except that every ``every``-th request ``match`` accepts gets ``fault``.

    ``faulted`` counts the requests that got the fault; ``matched`` those ``match`` accepted.
    """

    def __init__(
        self,
        fault: Callable[[], Reply],
        every: int,
        match: Callable[[Recorded], bool] = is_grs,
    ) -> None:
        super().__init__(FIXTURE_CREDENTIAL)
        if every < 1:
            raise ValueError("every must be >= 1")
        self.fault, self.every, self.match = fault, every, match
        self.matched = 0
        self.faulted = 0
        self._count_lock = threading.Lock()

    def __enter__(self) -> PeriodicFaultServer:
        self.start()
        return self

    def record(self, rec: Recorded) -> Reply:
        reply = super().record(rec)
        if reply != self._default or not self.match(rec):
            return reply
        with self._count_lock:
            self.matched += 1
            hit = self.matched % self.every == 0
            self.faulted += hit
        return self.fault() if hit else reply


@contextlib.contextmanager
def dead_endpoint(kind: str) -> Iterator[str]:
    """An endpoint where nothing answers: ``"refused"`` or ``"blackhole"`` (connect timeout)."""
    if kind == "refused":
        with s.refused_endpoint() as url:
            yield url
    elif kind == "blackhole":
        with s.blackhole_endpoint() as url:
            yield url
    else:
        raise ValueError(f"unknown dead endpoint {kind!r}")
