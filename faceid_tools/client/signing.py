"""TC3-HMAC-SHA256 request signing, byte-for-byte as the official SDK does it.

Canonical request::

    METHOD \n / \n <query> \n content-type:<CT>\nhost:<Host>\n \n content-type;host \n <sha256(payload)>

POST: empty query, CT ``application/json``, payload the exact body bytes.  GET: the query string
exactly as sent, CT ``application/x-www-form-urlencoded``, empty payload.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

ALGORITHM = "TC3-HMAC-SHA256"
SIGNED_HEADERS = "content-type;host"
POST_CONTENT_TYPE = "application/json"
GET_CONTENT_TYPE = "application/x-www-form-urlencoded"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def utc_date(timestamp: int) -> str:
    """``YYYY-MM-DD`` of a Unix timestamp, in UTC (the credential scope's date)."""
    return _date_of_day(timestamp // 86400)  # Unix time has no leap seconds: days are 86400 s


@functools.lru_cache(maxsize=64)
def _date_of_day(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")


def canonical_request(
    method: str, *, host: str, content_type: str, payload: bytes = b"", query: str = ""
) -> str:
    return (
        f"{method}\n/\n{query}\n"
        f"content-type:{content_type}\nhost:{host}\n\n"
        f"{SIGNED_HEADERS}\n{sha256_hex(payload)}"
    )


def string_to_sign(canonical: str, *, timestamp: int, service: str) -> str:
    scope = f"{utc_date(timestamp)}/{service}/tc3_request"
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{sha256_hex(canonical.encode('utf-8'))}"


def signing_key(secret_key: str, *, date: str, service: str) -> bytes:
    return _signing_key(secret_key, date, service)


@functools.lru_cache(maxsize=32)
def _signing_key(secret_key: str, date: str, service: str) -> bytes:
    """The derived key changes once a day per key and service: derive it once (cached)."""
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac(k_date, service)
    return _hmac(k_service, "tc3_request")


def signature(secret_key: str, to_sign: str, *, date: str, service: str) -> str:
    key = signing_key(secret_key, date=date, service=service)
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignedParts:
    """Every intermediate of one signature (for tests and the emulator's verifier)."""

    canonical_request: str
    string_to_sign: str
    signature: str
    authorization: str


def sign(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    method: str,
    timestamp: int,
    payload: bytes = b"",
    query: str = "",
    content_type: str | None = None,
) -> SignedParts:
    """Sign one request; ``content_type`` defaults to the SDK's choice for ``method``."""
    method = method.upper()
    if content_type is None:
        content_type = POST_CONTENT_TYPE if method == "POST" else GET_CONTENT_TYPE
    canonical = canonical_request(
        method, host=host, content_type=content_type, payload=payload, query=query
    )
    to_sign = string_to_sign(canonical, timestamp=timestamp, service=service)
    date = utc_date(timestamp)
    sig = signature(secret_key, to_sign, date=date, service=service)
    auth = (
        f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders={SIGNED_HEADERS}, Signature={sig}"
    )
    return SignedParts(canonical, to_sign, sig, auth)


def authorization(**kwargs: object) -> str:
    """The ``Authorization`` header value; same keywords as :func:`sign`."""
    return sign(**kwargs).authorization  # type: ignore[arg-type]
