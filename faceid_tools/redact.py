"""Keeping secrets out of everything written: logs, log lines, exceptions, reprs, reports."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"

_SIGNATURE = re.compile(r"(Signature=)[0-9a-fA-F]+")
_SECRET_QUERY = re.compile(
    r"((?:q-ak|q-signature|q-sign-time|q-key-time|q-header-list|q-url-param-list|q-sign-algorithm"
    r"|x-cos-security-token|Signature|Token|SecretKey|secretKey)=)[^&\s\"']*",
    re.IGNORECASE,
)


def strip_query(url: str | None) -> str | None:
    """The URL without its query string and fragment (presigned COS URLs carry secrets there)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove known secret values, TC3 signatures and presigned query values from free text."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _SIGNATURE.sub(r"\1" + REDACTED, text)
    return _SECRET_QUERY.sub(r"\1" + REDACTED, text)
