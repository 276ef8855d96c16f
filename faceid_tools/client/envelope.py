"""Reading an answer: the API 3.0 envelope, a non-2xx status, and redaction of what is quoted.

Anything but a well-formed envelope is a typed :class:`~faceid_tools.errors.BadResponseError`
(never a silent ``None``); an ``Error`` envelope is the narrowest
:class:`~faceid_tools.errors.APIError`.  Every text quoted from an answer passes through a
:class:`Redactor` first, so no secret reaches a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import (
    ContentTypeError,
    HTTPStatusError,
    MissingFieldError,
    MissingResponseError,
    NotJSONError,
    api_error,
)
from .redact import redact_text
from .transport import Reply

__all__ = ["Redactor", "parse_envelope", "status_error"]

#: Characters of a non-2xx body quoted in its error.
SNIPPET = 120


class Redactor:
    """Removes the credential's secrets (and a call's presigned queries) from text."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets

    def __call__(self, text: str, extra: tuple[str, ...] = ()) -> str:
        """``text`` without the secrets, signatures or the presigned queries of ``extra`` URLs."""
        secrets = self.secrets
        for url in extra:
            query = urlsplit(url).query
            if query:
                secrets = (*secrets, query, url)
        if extra:
            secrets = tuple(sorted(secrets, key=len, reverse=True))
        return redact_text(text, secrets)


def status_error(
    reply: Reply, host: str, redact: Redactor, secrets: tuple[str, ...] = ()
) -> HTTPStatusError:
    """A non-2xx answer, with a short readable start of its body (redacted before cut)."""
    text = redact(reply.body.decode("utf-8", "replace"), secrets)
    snippet = " ".join(text.split())[:SNIPPET]
    return HTTPStatusError(reply.status, f"HTTP {reply.status} from {host}: {snippet!r}")


def parse_envelope(
    reply: Reply,
    host: str,
    required: Mapping[str, type],
    redact: Redactor,
    secrets: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The envelope's ``Response`` holding every ``required`` field, or the error it stands for."""
    if reply.status != 200:
        raise status_error(reply, host, redact, secrets)
    ctype = reply.content_type
    if ctype is None or ctype.split(";", 1)[0].strip().lower() != "application/json":
        raise ContentTypeError(
            f"Content-Type {ctype!r} from {host}; the API answers application/json"
        )
    try:
        doc = json.loads(reply.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotJSONError(f"answer from {host} is not JSON ({type(exc).__name__})") from None
    if not isinstance(doc, dict):
        raise NotJSONError(f"answer from {host} is JSON but not an object")
    resp = doc.get("Response")
    if not isinstance(resp, dict):
        raise MissingResponseError(f"answer from {host} has no Response object")
    request_id = resp.get("RequestId")
    if not isinstance(request_id, str) or not request_id:
        request_id = None
    error = resp.get("Error")
    if error is not None:
        code = error.get("Code") if isinstance(error, dict) else None
        if not isinstance(code, str) or not code:
            raise MissingFieldError(
                "Error.Code", "Response.Error has no Code", request_id=request_id
            )
        message = error.get("Message")
        text = redact(message if isinstance(message, str) else "", secrets)
        raise api_error(code, text, request_id)
    if request_id is None:
        raise MissingFieldError("RequestId", "Response has no RequestId")
    for field, kind in required.items():
        value = resp.get(field)
        if not isinstance(value, kind) or isinstance(value, bool) or (kind is str and not value):
            raise MissingFieldError(
                field, f"Response has no {kind.__name__} {field}", request_id=request_id
            )
    return resp
