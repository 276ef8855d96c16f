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

   A request without TC3's ``Authorization`` and ``X-TC-Action`` — a GET, or a POST with a
   form-encoded body — is signature v1 (:mod:`.sigv1`): the same checks on the common parameters
   ``Action``, ``Version``, ``SecretId``..., ``Language`` and ``Region`` in the form instead.
6. ``X-TC-Region``: missing (``MissingParameter``), another real region (``UnsupportedRegion``),
   anything else not supported (``InvalidParameterValue``);
7. quota (``RequestLimitExceeded``);
8. the action's parameters (:mod:`.params`): body a JSON object / query well formed
   (``InvalidParameter``), unknown names (``UnknownParameter``), missing (``MissingParameter``),
   wrong type or format (``InvalidParameter``), value out of its set (``InvalidParameterValue``);
9. the behaviour drawn from the profile (latency, faults), then the device data.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..client.regions import API_VERSION, DEFAULT_SECURITY_LEVEL
from . import exceptions as exc
from .auth import KeyEntry, KeyRing, SignedRequest, host_candidates, verify
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
from .params import PARAMETERS, check_region, parse_form, parse_json_body, validate_params
from .sigv1 import COMMON_PARAMS, is_v1, verify_v1

logger = logging.getLogger(__name__)

MAX_POST_BYTES = 10 * 1024 * 1024
MAX_GET_QUERY_BYTES = 32 * 1024
LANGUAGES = frozenset({"zh-CN", "en-US"})
#: Set by the router when the request came through the proxy: hand out the service's URLs.
PUBLIC_URLS_KEY = "faceid_emulator.public_urls"
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
Wait = Callable[[float], object]


@dataclass(frozen=True)
class Accepted:
    """A request past authentication: who sent it, for which action, region and parameters."""

    action: str
    key: KeyEntry
    region: str
    params: Mapping[str, Any]


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
        seen: dict[str, str] = {"action": "-", "request_id": request_id}
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

        if is_v1(method, headers.values):
            accepted = self.accept_v1(method, headers.values, query, body, seen)
        else:
            accepted = self.accept_tc3(method, headers.values, query, body, seen)
        self.backend.check_quota(accepted.key.secret_id, accepted.action, arrival=arrival)
        values = validate_params(accepted.action, accepted.params)
        public = bool(environ.get(PUBLIC_URLS_KEY))
        if accepted.action == "CreateUploadUrl":
            return self.create_upload_url(accepted.region, values, public, seen)
        return self.generate_reflect_sequence(accepted.region, values, arrival, public)

    def accept_tc3(
        self,
        method: str,
        headers: Mapping[str, str],
        query: str,
        body: bytes,
        seen: dict[str, str],
    ) -> Accepted:
        """TC3-HMAC-SHA256: the common parameters are ``X-TC-*`` headers."""
        action = self._action(headers.get("x-tc-action"), "X-TC-Action", seen)
        self._version(headers.get("x-tc-version"), "X-TC-Version")
        content_type = headers.get("content-type")
        if method == "POST":
            media = (content_type or "").split(";", 1)[0].strip().lower()
            if media != "application/json":
                raise exc.invalid_parameter(
                    f"The Content-Type `{(content_type or '')[:64]}` is not supported for POST; "
                    "TC3-HMAC-SHA256 requests take `application/json`."
                )
        key = verify(
            SignedRequest(method, query, headers, body),
            self.keys,
            now=self.backend.clock.real_time(),
        )
        self._language(headers.get("x-tc-language"), "X-TC-Language")
        region = check_region(headers.get("x-tc-region"))
        params = parse_form(query) if method == "GET" else parse_json_body(body)
        return Accepted(action, key, region, params)

    def accept_v1(
        self,
        method: str,
        headers: Mapping[str, str],
        query: str,
        body: bytes,
        seen: dict[str, str],
    ) -> Accepted:
        """Signature v1: the common parameters travel in the form with the action's own."""
        if method == "GET":
            form = parse_form(query)
        else:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise exc.invalid_parameter("The request body is not valid UTF-8.") from None
            form = parse_form(text, "request body")
        action = self._action(form.get("Action"), "Action", seen)
        self._version(form.get("Version"), "Version")
        key = verify_v1(
            method,
            host_candidates(headers.get("host", "")),
            "/",
            form,
            self.keys,
            now=self.backend.clock.real_time(),
        )
        self._language(form.get("Language"), "Language")
        region = check_region(form.get("Region"), "Region")
        params = {name: value for name, value in form.items() if name not in COMMON_PARAMS}
        return Accepted(action, key, region, params)

    @staticmethod
    def _action(action: str | None, name: str, seen: dict[str, str]) -> str:
        if not action:
            raise exc.missing_parameter(name)
        if action not in PARAMETERS:
            raise exc.invalid_action(action)
        seen["action"] = action
        return action

    @staticmethod
    def _version(version: str | None, name: str) -> None:
        if not version:
            raise exc.missing_parameter(name)
        if version != API_VERSION:
            raise exc.no_such_version(version)

    @staticmethod
    def _language(language: str | None, name: str) -> None:
        if language is not None and language not in LANGUAGES:
            raise exc.invalid_value(name, language)

    # -- actions -----------------------------------------------------------------------------------
    def create_upload_url(
        self, region: str, values: Mapping[str, str], public: bool, seen: Mapping[str, str]
    ) -> dict[str, Any]:
        ticket = self.backend.create_upload_url(
            region, values["TargetAction"], public=public, request_id=seen.get("request_id")
        )
        return {
            "UploadUrl": ticket.upload_url,
            "ResourceUrl": ticket.resource_url,
            "ExpiredTimestamp": ticket.expired_timestamp,
        }

    def generate_reflect_sequence(
        self, region: str, values: Mapping[str, str], arrival: float, public: bool
    ) -> dict[str, Any]:
        level = values.get("SecurityLevel", DEFAULT_SECURITY_LEVEL)
        outcome = self.backend.generate_reflect_sequence(
            region,
            level,
            values["DeviceDataUrl"],
            values["DeviceDataMd5"],
            wait=self.wait_factory(arrival),
            public=public,
        )
        if outcome.error is not None:
            raise outcome.error
        assert outcome.sequence is not None
        return {
            "ReflectSequenceUrl": outcome.sequence.url,
            "ReflectSequenceMd5": outcome.sequence.md5,
        }
