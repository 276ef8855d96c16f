"""Reading WSGI requests byte-exactly and writing answers (shared by the API, COS and control routes)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES

from .exceptions import invalid_parameter

#: Key under which :class:`~.server.RequestHandler` puts the raw header list into the environ.
RAW_HEADERS_KEY = "faceid_emulator.raw_headers"
#: ``time.monotonic()`` when the server accepted the request's connection (one request per connection).
ACCEPTED_AT_KEY = "faceid_emulator.accepted_at"
#: Set once the request body has been read to its end.
BODY_READ_KEY = "faceid_emulator.body_read"
#: Most bytes read and thrown away after a rejected body (beyond it the connection is just closed).
MAX_DISCARD = 64 * 1024 * 1024
_CHUNK = 1024 * 1024

StartResponse = Any  # the WSGI start_response callable


class BodyTooLarge(Exception):
    """The body exceeded its limit; ``size`` is what the request declared or sent."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


@dataclass(frozen=True)
class Headers:
    """Request headers as received: lower-case name -> value, plus the names given twice or more."""

    values: dict[str, str]
    repeated: frozenset[str]

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def _decode(value: str) -> str:
    """WSGI strings are latin-1 decoded bytes; recover the UTF-8 text where there was some."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def headers_of(environ: dict[str, Any]) -> Headers:
    raw: Iterable[tuple[str, str]] | None = environ.get(RAW_HEADERS_KEY)
    values: dict[str, str] = {}
    repeated: set[str] = set()
    if raw is not None:
        for name, value in raw:
            key = name.strip().lower()
            if key in values:
                repeated.add(key)
            values[key] = value
    else:  # plain WSGI (no raw list): rebuild from the CGI-style keys
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                values[key[5:].lower().replace("_", "-")] = value
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                values[key.lower().replace("_", "-")] = environ[key]
    return Headers(values, frozenset(repeated))


def path_of(environ: dict[str, Any]) -> str:
    return _decode(environ.get("PATH_INFO", "") or "/")


def query_of(environ: dict[str, Any]) -> str:
    """The raw query string, exactly as sent (what TC3 signs for GET)."""
    return _decode(environ.get("QUERY_STRING", "") or "")


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """Read the whole body, at most ``limit`` bytes; raise :class:`BodyTooLarge` beyond it.

    Never blocks on a body the client did not announce: without ``Content-Length`` (or chunked
    framing) the body is empty.  A malformed length or chunk framing is ``InvalidParameter``.
    """
    stream = environ["wsgi.input"]
    try:
        if environ.get("wsgi.input_terminated"):  # chunked: read until the end marker
            data = _read_up_to(stream, limit + 1)
            if len(data) > limit:
                size = len(data) + _discard(stream, MAX_DISCARD)
                raise BodyTooLarge(size)
            environ[BODY_READ_KEY] = True
            return data
        raw_length = (environ.get("CONTENT_LENGTH") or "").strip()
        if not raw_length:
            environ[BODY_READ_KEY] = True
            return b""
        if not raw_length.isdigit() or len(raw_length) > 15:
            raise invalid_parameter(f"The Content-Length `{raw_length[:32]}` is not valid.")
        length = int(raw_length)
        if length > limit:
            if length <= MAX_DISCARD:
                _discard(stream, length)
            raise BodyTooLarge(length)
        data = _read_up_to(stream, length)
        environ[BODY_READ_KEY] = len(data) == length
        return data
    except (OSError, ValueError):
        raise invalid_parameter("The request body could not be read: malformed framing.") from None


def body_fully_read(environ: dict[str, Any]) -> bool:
    """True when nothing of the request is left unread on the socket (as far as it declared)."""
    if environ.get(BODY_READ_KEY):
        return True
    if environ.get("wsgi.input_terminated"):
        return False
    return (environ.get("CONTENT_LENGTH") or "").strip() in ("", "0")


def _read_up_to(stream: Any, most: int) -> bytes:
    """Read until ``most`` bytes or the end of the stream (short reads are not the end)."""
    parts: list[bytes] = []
    total = 0
    while total < most:
        chunk = stream.read(min(_CHUNK, most - total))
        if not chunk:
            break
        parts.append(bytes(chunk))
        total += len(chunk)
    return b"".join(parts)


def _discard(stream: Any, most: int) -> int:
    total = 0
    while total < most:
        chunk = stream.read(min(_CHUNK, most - total))
        if not chunk:
            break
        total += len(chunk)
    return total


def respond(
    start_response: StartResponse,
    status: int,
    body: bytes,
    content_type: str,
    *,
    method: str = "GET",
    extra: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    """Send a complete answer (no body for HEAD, but its Content-Length)."""
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra]
    start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}", headers)
    return [] if method == "HEAD" else [body]


def respond_json(
    start_response: StartResponse, status: int, payload: Any, *, method: str = "GET"
) -> list[bytes]:
    body = json.dumps(payload, indent=1).encode("ascii")
    return respond(start_response, status, body, "application/json", method=method)
