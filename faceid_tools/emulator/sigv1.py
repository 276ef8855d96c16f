"""API 3.0 signature v1 (``HmacSHA1``, ``HmacSHA256``) verified as the service does.

The official Node.js SDK signs this way by default.  The common parameters travel with the
action's own: in the query (GET) or a form-encoded body (POST).  The string signed is
``<METHOD><host><path>?<name=value&...>`` over every parameter but ``Signature``, sorted by name,
values not encoded; the signature is the base64 of its HMAC under the SecretKey.

Checks, in order, with the same errors as TC3 (:mod:`.auth`): ``SecretId``, ``Signature``,
``Timestamp`` and ``Nonce`` present (``MissingParameter``) and well formed (``InvalidParameter``),
``SignatureMethod`` one of the two (``InvalidParameterValue``); the timestamp within 300 s
(``AuthFailure.SignatureExpire``); the SecretId known (``AuthFailure.SecretIdNotFound``); the
signature (``AuthFailure.SignatureFailure``); the ``Token`` (``AuthFailure.TokenFailure``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping

from . import exceptions as exc
from .auth import TIMESTAMP_WINDOW, KeyEntry, KeyRing, check_token

#: The common parameters of a v1 request (everything else belongs to the action).
COMMON_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "Region",
        "Timestamp",
        "Nonce",
        "SecretId",
        "Signature",
        "SignatureMethod",
        "Token",
        "Language",
        "RequestClient",
    }
)
DIGESTS = {"HmacSHA1": hashlib.sha1, "HmacSHA256": hashlib.sha256}
DEFAULT_METHOD = "HmacSHA1"
FORM = "application/x-www-form-urlencoded"
_DIGITS = re.compile(r"^[0-9]{1,12}$")
_NONCE = re.compile(r"^[0-9]{1,20}$")  # a random unsigned integer (the Python SDK's: 64-bit)


def is_v1(method: str, headers: Mapping[str, str]) -> bool:
    """A request without TC3's headers: a GET, or a POST with a form-encoded body."""
    if headers.get("authorization") is not None or headers.get("x-tc-action") is not None:
        return False
    if method == "GET":
        return True
    return (headers.get("content-type") or "").split(";", 1)[0].strip().lower() == FORM


def string_to_sign(method: str, host: str, path: str, params: Mapping[str, str]) -> str:
    pairs = "&".join(f"{name}={params[name]}" for name in sorted(params) if name != "Signature")
    return f"{method.upper()}{host}{path}?{pairs}"


def sign(secret_key: str, text: str, signature_method: str = DEFAULT_METHOD) -> str:
    mac = hmac.new(secret_key.encode(), text.encode("utf-8"), DIGESTS[signature_method])
    return base64.b64encode(mac.digest()).decode("ascii")


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise exc.missing_parameter(name)
    return value


def verify_v1(
    method: str,
    hosts: Iterable[str],
    path: str,
    params: Mapping[str, str],
    keys: KeyRing,
    *,
    now: float,
    window: int = TIMESTAMP_WINDOW,
) -> KeyEntry:
    """Authenticate a v1 request signed for one of ``hosts``; return its key or raise."""
    secret_id = _required(params, "SecretId")
    given = _required(params, "Signature")
    raw_ts = _required(params, "Timestamp")
    if not _DIGITS.match(raw_ts):
        raise exc.invalid_format("Timestamp", raw_ts)
    if not _NONCE.match(_required(params, "Nonce")):
        raise exc.invalid_format("Nonce", params["Nonce"])
    signature_method = params.get("SignatureMethod", DEFAULT_METHOD)
    if signature_method not in DIGESTS:
        raise exc.invalid_value("SignatureMethod", signature_method)
    ts = int(raw_ts)
    if abs(now - ts) > window:
        raise exc.signature_expire(ts, int(now), window)
    entry = keys.get(secret_id)
    if entry is None:
        raise exc.secret_id_not_found()
    for host in hosts:
        expected = sign(
            entry.secret_key, string_to_sign(method, host, path, params), signature_method
        )
        if hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
            break
    else:
        raise exc.signature_failure()
    check_token(entry, params.get("Token"))
    return entry
