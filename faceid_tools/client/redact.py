"""Keeping secrets out of everything written: logs, log lines, exceptions, reprs, reports."""

from __future__ import annotations

import logging
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


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites a record's message through :func:`redact_text`.

    Attached to third-party loggers that print request URLs (urllib3 logs the path *and query* of
    every request at DEBUG, which for a presigned COS URL includes ``q-ak`` and ``q-signature``).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's business, not ours
            return True
        cleaned = redact_text(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


#: Loggers of the HTTP stack that can print a URL with its query.
HTTP_LOGGERS: tuple[str, ...] = (
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.response",
    "urllib3.util.retry",
    "urllib3.poolmanager",
    "requests",
)


def install_http_log_filter() -> None:
    """Attach one :class:`RedactingFilter` to each of :data:`HTTP_LOGGERS` (idempotent)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
