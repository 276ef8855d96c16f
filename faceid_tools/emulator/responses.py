"""API 3.0 at ``/``: parsing, validation and the envelope (moto's ``responses.py``).

Every answer is HTTP 200, ``Content-Type: application/json``, ``{"Response": {..., "RequestId"}}``.
Checks run in this order; the first failure is the answer:

1. path ``/`` (``UnsupportedOperation``), method GET or POST (``UnsupportedOperation``);
2. no repeated protocol header (``InvalidParameter``);
3. size: POST body <= 10 MB, GET query <= 32 KB (``RequestSizeLimitExceeded``);
4. ``X-TC-Action`` (``MissingParameter`` / ``InvalidAction``), ``X-TC-Version``
   (``MissingParameter`` / ``NoSuchVersion``), POST ``Content-Type`` ``application/json``
   (``InvalidParameter``);
5. authentication (:mod:`.auth`); ``X-TC-Language`` (``InvalidParameterValue``);
6. ``X-TC-Region``: missing (``MissingParameter``), another real region (``UnsupportedRegion``),
   anything else not supported (``InvalidParameterValue``);
7. quota (``RequestLimitExceeded``);
8. the action's parameters: body a JSON object / query well formed (``InvalidParameter``),
   unknown names (``UnknownParameter``), missing (``MissingParameter``), wrong type or value
   (``InvalidParameterValue`` naming the parameter);
9. the behaviour drawn from the profile (latency, faults), then the device data.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from ..regions import (
    API_VERSION,
    DEFAULT_SECURITY_LEVEL,
    REGIONS,
    SECURITY_LEVELS,
    is_known_region,
)
from . import exceptions as exc
from .auth import KeyRing, SignedRequest, verify
from .httpio import (
    ACCEPTED_AT_KEY,
    BodyTooLarge,
    StartResponse,
    headers_of,
    query_of,
    read_body,
    respond,
)
from .models import Backend

logger = logging.getLogger(__name__)

MAX_POST_BYTES = 10 * 1024 * 1024
MAX_GET_QUERY_BYTES = 32 * 1024
MAX_URL_LENGTH = 2048
MAX_QUERY_FIELDS = 100
LANGUAGES = frozenset({"zh-CN", "en-US"})
UPLOAD_TARGETS = frozenset({"GenerateReflectSequence"})
#: Headers a request may carry once only.
SINGLE_HEADERS = (
    "host",
    "content-type",
    "content-length",
    "authorization",
    "x-tc-action",
    "x-tc-version",
    "x-tc-timestamp",
    "x-tc-region",
    "x-tc-token",
    "x-tc-language",
    "x-tc-content-sha256",
)
#: Each action's parameters: (name, required).
PARAMETERS: dict[str, tuple[tuple[str, bool], ...]] = {
    "GenerateReflectSequence": (
        ("DeviceDataUrl", True),
        ("DeviceDataMd5", True),
        ("SecurityLevel", False),
    ),
    "CreateUploadUrl": (("TargetAction", True),),
}
_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")

Wait = Callable[[float], object]


def envelope(fields: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    return {"Response": {**fields, "RequestId": request_id}}


def error_envelope(err: exc.ServiceError, request_id: str) -> dict[str, Any]:
    return envelope({"Error": {"Code": err.code, "Message": err.message}}, request_id)


def envelope_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("ascii")


class ApiApp:
    """The WSGI application answering API 3.0 requests."""

    def __init__(
        self,
        backend: Backend,
        keys: KeyRing,
        *,
        wait_factory: Callable[[float], Wait],
    ):
        self.backend = backend
        self.keys = keys
        self.wait_factory = wait_factory

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        arrival = environ.get(ACCEPTED_AT_KEY) or time.monotonic()
        request_id = str(uuid.uuid4())
        method = environ.get("REQUEST_METHOD", "GET")
        seen: dict[str, str] = {"action": "-"}
        try:
            fields = self.handle(environ, arrival, seen)
            payload = envelope(fields, request_id)
            code = None
        except exc.ServiceError as err:
            payload = error_envelope(err, request_id)
            code = err.code
        except Exception:  # a bug: still answer like the service would
            logger.exception("emulator bug while answering (RequestId %s)", request_id)
            bug = exc.internal_error()
            payload = error_envelope(bug, request_id)
            code = bug.code
        action = seen["action"]
        self.backend.stats.outcome(action, code)
        logger.debug("%s %s -> %s (RequestId %s)", method, action, code or "ok", request_id)
        return respond(
            start_response, 200, envelope_bytes(payload), "application/json", method=method
        )

    # -- the pipeline ------------------------------------------------------------------------------
    def handle(
        self, environ: dict[str, Any], arrival: float, seen: dict[str, str]
    ) -> dict[str, Any]:
        """Run every check; return the response fields or raise a ServiceError.

        ``seen["action"]`` is set once the action is known to be one of ours (for the counters).
        """
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "")
        if path != "/":
            raise exc.unsupported_operation(
                "API 3.0 requests are sent to the path `/`; this path is not supported."
            )
        if method not in ("GET", "POST"):
            raise exc.unsupported_operation(
                f"The request method `{method[:16]}` is not supported; use POST or GET."
            )
        headers = headers_of(environ)
        for name in SINGLE_HEADERS:
            if name in headers.repeated:
                raise exc.invalid_parameter(f"The header `{name}` appears more than once.")
        query = query_of(environ)
        if method == "GET":
            size = len(query.encode("utf-8", "surrogateescape"))
            if size > MAX_GET_QUERY_BYTES:
                raise exc.request_size_limit(size, MAX_GET_QUERY_BYTES, method)
            body = b""
        else:
            try:
                body = read_body(environ, MAX_POST_BYTES)
            except BodyTooLarge as big:
                raise exc.request_size_limit(big.size, MAX_POST_BYTES, method) from None

        action = headers.get("x-tc-action")
        if not action:
            raise exc.missing_parameter("X-TC-Action")
        if action not in PARAMETERS:
            raise exc.invalid_action(action)
        seen["action"] = action
        version = headers.get("x-tc-version")
        if not version:
            raise exc.missing_parameter("X-TC-Version")
        if version != API_VERSION:
            raise exc.no_such_version(version)
        content_type = headers.get("content-type")
        if method == "POST":
            media = (content_type or "").split(";", 1)[0].strip().lower()
            if media != "application/json":
                raise exc.invalid_parameter(
                    f"The Content-Type `{(content_type or '')[:64]}` is not supported for POST; "
                    "TC3-HMAC-SHA256 requests take `application/json`."
                )

        key = verify(
            SignedRequest(method, query, headers.values, body),
            self.keys,
            now=self.backend.clock.real_time(),
        )
        language = headers.get("x-tc-language")
        if language is not None and language not in LANGUAGES:
            raise exc.invalid_value("X-TC-Language", language)
        region = check_region(headers.get("x-tc-region"))
        self.backend.check_quota(key.secret_id, action, arrival=arrival)
        params = parse_params(method, query, body)
        values = validate_params(action, params)
        if action == "CreateUploadUrl":
            return self.create_upload_url(region, values)
        return self.generate_reflect_sequence(region, values, arrival)

    # -- actions -----------------------------------------------------------------------------------
    def create_upload_url(self, region: str, values: Mapping[str, str]) -> dict[str, Any]:
        target = values["TargetAction"]
        if target not in UPLOAD_TARGETS:
            raise exc.invalid_value("TargetAction", target)
        ticket = self.backend.create_upload_url(region, target)
        return {
            "UploadUrl": ticket.upload_url,
            "ResourceUrl": ticket.resource_url,
            "ExpiredTimestamp": ticket.expired_timestamp,
        }

    def generate_reflect_sequence(
        self, region: str, values: Mapping[str, str], arrival: float
    ) -> dict[str, Any]:
        url = values["DeviceDataUrl"]
        md5 = values["DeviceDataMd5"]
        level = values.get("SecurityLevel", DEFAULT_SECURITY_LEVEL)
        if len(url) > MAX_URL_LENGTH or not _is_http_url(url):
            raise exc.invalid_value("DeviceDataUrl", url)
        if not _MD5.match(md5):
            raise exc.invalid_value("DeviceDataMd5", md5)
        if level not in SECURITY_LEVELS:
            raise exc.invalid_value("SecurityLevel", level)
        outcome = self.backend.generate_reflect_sequence(
            region, level, url, md5, wait=self.wait_factory(arrival)
        )
        if outcome.error is not None:
            raise outcome.error
        assert outcome.sequence is not None
        return {
            "ReflectSequenceUrl": outcome.sequence.url,
            "ReflectSequenceMd5": outcome.sequence.md5,
        }


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and url.isprintable()


def check_region(region: str | None) -> str:
    if not region:
        raise exc.missing_parameter("X-TC-Region")
    if region in REGIONS:
        return region
    if is_known_region(region):
        raise exc.unsupported_region()
    raise exc.invalid_region_value()


def parse_params(method: str, query: str, body: bytes) -> dict[str, Any]:
    """The action's parameters: the JSON object body (POST) or the form-encoded query (GET)."""
    if method == "GET":
        return _parse_query(query)
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise exc.invalid_parameter("The request body is not valid UTF-8.") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as dup:
        raise exc.invalid_parameter(
            f"The parameter `{dup.name[:64]}` appears more than once."
        ) from None
    except (ValueError, RecursionError):
        raise exc.invalid_parameter("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise exc.invalid_parameter("The request body must be a JSON object.")
    return data


class _DuplicateKey(ValueError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise _DuplicateKey(name)
        out[name] = value
    return out


def _parse_query(query: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fields = [f for f in query.split("&") if f]
    if len(fields) > MAX_QUERY_FIELDS:
        raise exc.invalid_parameter("The query string has too many parameters.")
    for field in fields:
        raw_name, _, raw_value = field.partition("=")
        try:
            name = unquote_plus(raw_name, errors="strict")
            value = unquote_plus(raw_value, errors="strict")
        except UnicodeDecodeError:
            raise exc.invalid_parameter("The query string is not valid UTF-8.") from None
        if name in out:
            raise exc.invalid_parameter(f"The parameter `{name[:64]}` appears more than once.")
        out[name] = value
    return out


def validate_params(action: str, params: Mapping[str, Any]) -> dict[str, str]:
    """Check names and types against the action's parameters; return the string values."""
    spec = PARAMETERS[action]
    known = {name for name, _ in spec}
    for name in params:
        if name not in known:
            raise exc.unknown_parameter(name)
    values: dict[str, str] = {}
    for name, required in spec:
        value = params.get(name)
        if value is None:
            if required:
                raise exc.missing_parameter(name)
            continue
        if not isinstance(value, str):
            raise exc.invalid_type(name)
        if value == "":
            raise exc.invalid_value(name, value)
        values[name] = value
    return values
