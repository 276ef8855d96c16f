"""TC3-HMAC-SHA256 verification as the service does it, with :mod:`faceid_tools.client.signing`.

Order of checks (each failure is one :class:`~.exceptions.ServiceError`):

1. ``Authorization`` present (``MissingParameter``) and well formed
   (``AuthFailure.InvalidAuthorization``: algorithm, ``Credential=<id>/<date>/faceid/tc3_request``,
   ``SignedHeaders`` sorted and including ``content-type;host``, a 64-hex ``Signature``);
2. ``X-TC-Timestamp`` present and an integer, within 300 s of the real wall clock
   (``AuthFailure.SignatureExpire``);
3. the SecretId is known (``AuthFailure.SecretIdNotFound``);
4. the signature, recomputed over the request exactly as received — the ``Host`` (on loopback
   also without its port, as the Node SDK signs it) and ``Content-Type`` header values byte for byte, the raw query string, the body bytes (empty for
   GET; ``UNSIGNED-PAYLOAD`` when ``X-TC-Content-SHA256`` says so) — matches
   (``AuthFailure.SignatureFailure``; also when the credential date is not the timestamp's UTC date);
5. the session token: required and equal for a temporary key, absent for a permanent one
   (``AuthFailure.TokenFailure``).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..client import signing
from ..client.credentials import Credential
from ..client.regions import SERVICE, is_loopback_host
from ..errors import InputError
from . import exceptions as exc

#: Largest allowed distance between ``X-TC-Timestamp`` and the server's clock, seconds.
TIMESTAMP_WINDOW = 300
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
REQUIRED_SIGNED_HEADERS = frozenset({"content-type", "host"})

_AUTH = re.compile(
    r"^(?P<algorithm>\S+) Credential=(?P<credential>[^,\s]*),\s*SignedHeaders=(?P<signed>[^,\s]*),"
    r"\s*Signature=(?P<signature>\S*)$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HEADER_NAME = re.compile(r"^[a-z0-9-]+$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


@dataclass(frozen=True)
class KeyEntry:
    """A key the emulator accepts; ``token`` set means a temporary key that needs it."""

    secret_id: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"KeyEntry(secret_id={self.secret_id!r}, secret_key=***, temporary={self.token is not None})"


class KeyRing:
    """The SecretIds the emulator knows."""

    def __init__(self, credentials: Iterable[Credential]):
        self._keys: dict[str, KeyEntry] = {}
        for cred in credentials:
            self._keys[cred.secret_id] = KeyEntry(cred.secret_id, cred.secret_key, cred.token)
        if not self._keys:
            raise InputError("the emulator needs at least one credential")

    def get(self, secret_id: str) -> KeyEntry | None:
        return self._keys.get(secret_id)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True)
class Authorization:
    """The parts of a TC3 ``Authorization`` header."""

    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str | None) -> Authorization:
    """Parse the header; raise ``MissingParameter`` / ``AuthFailure.InvalidAuthorization``."""
    if value is None:
        raise exc.missing_parameter("Authorization")
    m = _AUTH.match(value.strip())
    if not m:
        raise exc.invalid_authorization(
            "expected `TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`"
        )
    if m["algorithm"] != signing.ALGORITHM:
        raise exc.invalid_authorization(f"the algorithm must be `{signing.ALGORITHM}`")
    parts = m["credential"].split("/")
    if len(parts) != 4 or not parts[0] or parts[3] != "tc3_request":
        raise exc.invalid_authorization(
            "`Credential` must be `<SecretId>/<Date>/<Service>/tc3_request`"
        )
    secret_id, date, service, _ = parts
    if not _DATE.match(date):
        raise exc.invalid_authorization("`Date` in Credential not valid")
    if service != SERVICE:
        raise exc.invalid_authorization("`Service` in Credential not valid")
    names = tuple(m["signed"].split(";"))
    if (
        not all(_HEADER_NAME.match(n) for n in names)
        or list(names) != sorted(set(names))
        or not REQUIRED_SIGNED_HEADERS.issubset(names)
    ):
        raise exc.invalid_authorization(
            "`SignedHeaders` must be sorted lower-case header names including `content-type;host`"
        )
    if not _HEX64.match(m["signature"]):
        raise exc.invalid_authorization("`Signature` must be 64 lower-case hex digits")
    return Authorization(secret_id, date, service, names, m["signature"])


def parse_timestamp(value: str | None) -> int:
    if value is None:
        raise exc.missing_parameter("X-TC-Timestamp")
    if not _TIMESTAMP.match(value):
        raise exc.invalid_value("X-TC-Timestamp", value)
    return int(value)


@dataclass(frozen=True)
class SignedRequest:
    """What verification reads from a request, exactly as received.

    ``headers`` maps lower-case names to values; ``query`` is the raw query string.
    """

    method: str
    query: str
    headers: Mapping[str, str]
    body: bytes


def _payload(req: SignedRequest) -> bytes:
    if req.headers.get("x-tc-content-sha256") == UNSIGNED_PAYLOAD:
        return UNSIGNED_PAYLOAD.encode()
    return b"" if req.method == "GET" else req.body


def host_candidates(host: str) -> list[str]:
    """The ``Host`` value as received, and on loopback also without its port.

    The Node SDK signs the host name without the port it sends in ``Host``; the real service is
    on the default port, where the two agree.
    """
    out = [host]
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and not name.endswith(":") and is_loopback_host(name.strip("[]")):
        out.append(name)
    return out


def expected_signature(
    req: SignedRequest, auth: Authorization, secret_key: str, ts: int, host: str | None = None
) -> str:
    """The signature the request should carry, computed over the request as received."""
    if host is None:
        host = req.headers.get("host", "")
    if auth.signed_headers == ("content-type", "host"):
        canonical = signing.canonical_request(
            req.method,
            host=host,
            content_type=req.headers.get("content-type", ""),
            payload=_payload(req),
            query=req.query,
        )
    else:
        lines = "".join(
            f"{name}:{(host if name == 'host' else req.headers.get(name, '')).strip()}\n"
            for name in auth.signed_headers
        )
        canonical = (
            f"{req.method}\n/\n{req.query}\n{lines}\n{';'.join(auth.signed_headers)}\n"
            f"{signing.sha256_hex(_payload(req))}"
        )
    to_sign = signing.string_to_sign(canonical, timestamp=ts, service=SERVICE)
    return signing.signature(secret_key, to_sign, date=auth.date, service=SERVICE)


def verify(
    req: SignedRequest, keys: KeyRing, *, now: float, window: int = TIMESTAMP_WINDOW
) -> KeyEntry:
    """Authenticate ``req``; return the key it was signed with or raise the service's error."""
    auth = parse_authorization(req.headers.get("authorization"))
    ts = parse_timestamp(req.headers.get("x-tc-timestamp"))
    if abs(now - ts) > window:
        raise exc.signature_expire(ts, int(now), window)
    entry = keys.get(auth.secret_id)
    if entry is None:
        raise exc.secret_id_not_found()
    if auth.date != signing.utc_date(ts):
        raise exc.signature_failure()
    for host in host_candidates(req.headers.get("host", "")):
        expected = expected_signature(req, auth, entry.secret_key, ts, host)
        if hmac.compare_digest(expected, auth.signature):
            break
    else:
        raise exc.signature_failure()
    check_token(entry, req.headers.get("x-tc-token"))
    return entry


def check_token(entry: KeyEntry, token: str | None) -> None:
    """A temporary key needs its token; a permanent key takes none (``AuthFailure.TokenFailure``)."""
    if entry.token is None:
        if token:
            raise exc.token_failure("this SecretId is a permanent key and takes no `X-TC-Token`")
    elif not token:
        raise exc.token_failure("this SecretId is temporary and needs its `X-TC-Token`")
    elif not hmac.compare_digest(token.encode(), entry.token.encode()):
        raise exc.token_failure("the token is invalid or has expired")
