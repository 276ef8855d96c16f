"""``FaceIDClient``: the signed, validated, rate-limited, retried, logged client of FaceID API 3.0.

One method per operation of the ``GenerateReflectSequence`` flow::

    client = FaceIDClient(region="ap-singapore", endpoint=emu.endpoint, credential=emu.credential)
    data = client.upload_device_data(b"...")                       # CreateUploadUrl + HTTP PUT
    seq = client.generate_reflect_sequence(data.url, data.md5, security_level=4)
    blob = client.download_sequence(seq)                           # HTTP GET + MD5 check

Every argument is checked before anything is sent (:class:`~faceid_tools.errors.ValidationError`,
also a ``ValueError``).  Every HTTP exchange -- each attempt of an API call, each upload, each
download -- is one row in the call log, committed before the method returns or raises.  The answer
is parsed strictly: a non-200 status, a ``Content-Type`` other than ``application/json`` (media-type
parameters such as ``; charset=utf-8`` are accepted), a body that is not a JSON object, a missing
``Response`` or a missing field each raise their own :class:`~faceid_tools.errors.BadResponseError`
subclass; an ``Error`` envelope raises the narrowest :class:`~faceid_tools.errors.APIError`.
Retries follow :class:`~faceid_tools.retry.RetryPolicy`.  The client is safe to share between
threads.  Secrets (the key, the token, signatures, presigned queries) never reach the log, a log
line, an exception or a ``repr``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from time import perf_counter
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from . import __version__
from .calllog.store import DEFAULT_PATH, CallLog
from .credentials import Credential, resolve_credential
from .errors import (
    APIError,
    ContentTypeError,
    FaceIDError,
    HTTPStatusError,
    IntegrityError,
    MissingFieldError,
    MissingResponseError,
    NetworkError,
    NotJSONError,
    RequestTimeoutError,
    ValidationError,
    api_error,
)
from .models import DeviceData, ReflectSequence, UploadUrl
from .ratelimit import RateLimiter
from .redact import install_http_log_filter, redact_text, strip_query
from .regions import (
    API_VERSION,
    DEFAULT_ENDPOINT,
    QUOTAS,
    REGIONS,
    SERVICE,
    cos_region_of,
    is_loopback_host,
    regional_endpoint,
)
from .retry import RetryPolicy
from .sequences import properties as sequence_properties
from .signing import sign
from .transport import Reply, Transport

__all__ = ["COS_REGION_RULE", "FaceIDClient"]

log = logging.getLogger(__name__)
install_http_log_filter()

T = TypeVar("T")

#: The seed page's rule, quoted by the cross-region refusal.
COS_REGION_RULE = (
    "The data generated with the SDK must be stored in COS, and the region of the COS bucket "
    "must be same as that of requests made with this API."
)
GENERATE = "GenerateReflectSequence"
CREATE_UPLOAD_URL = "CreateUploadUrl"
UPLOAD = "UploadDeviceData"
DOWNLOAD = "DownloadSequence"

_MD5 = re.compile(r"[0-9a-fA-F]{32}")
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")
_ACTION_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")
_USER_AGENT = f"faceid-tools/{__version__}"
_SNIPPET = 120


def _new_call_id() -> str:
    return str(uuid.uuid4())


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


def _outcome(exc: FaceIDError) -> str:
    if isinstance(exc, APIError):
        return "api_error"
    if isinstance(exc, HTTPStatusError):
        return "http_error"
    if isinstance(exc, RequestTimeoutError):
        return "timeout"
    if isinstance(exc, NetworkError):
        return "network_error"
    if isinstance(exc, IntegrityError):
        return "integrity_error"
    return "bad_response"


def _check_url(
    field: str, url: object, *, region: str | None = None, allow_cross: bool = True
) -> str:
    """An absolute https URL (http only to loopback); optionally a COS bucket in ``region``."""
    if not isinstance(url, str) or not url:
        raise ValidationError(field, "must be a non-empty string URL", type(url).__name__)
    shown = strip_query(url)
    if _BAD_URL_CHARS.search(url):
        raise ValidationError(field, "must not contain whitespace or control characters", shown)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise ValidationError(field, "must be an absolute https:// URL", shown) from None
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ValidationError(
            field, "must use https:// (http:// is accepted only on loopback)", shown
        )
    if parts.scheme not in ("https", "http") or not host:
        raise ValidationError(field, "must be an absolute https:// URL", shown)
    if region is not None and not allow_cross:
        bucket_region = cos_region_of(url)
        if bucket_region is not None and bucket_region != region:
            raise ValidationError(
                field,
                f"the COS bucket is in {bucket_region} but the request is for {region}: "
                f"{COS_REGION_RULE} (pass allow_cross_region=True to send it anyway)",
                shown,
            )
    return url


def _check_md5(field: str, value: object) -> str:
    if not isinstance(value, str) or not _MD5.fullmatch(value):
        shown = value if isinstance(value, str) else type(value).__name__
        raise ValidationError(field, "must be 32 hexadecimal characters (an MD5 digest)", shown)
    return value.lower()


def _check_level(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(
            "SecurityLevel", "must be 1, 2, 3 or 4 (int or str)", type(value).__name__
        )
    level = str(value)
    if level not in ("1", "2", "3", "4"):
        raise ValidationError("SecurityLevel", "must be 1, 2, 3 or 4 (int or str)", value)
    return level


def _check_id(field: str, value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError(field, "must be a non-empty string or None", type(value).__name__)
    return value


class FaceIDClient:
    """A client of FaceID's ``GenerateReflectSequence`` flow for one region.

    ``credential``: a :class:`Credential`, else the chain (environment, ``~/.tencentcloud``,
    tccli).  ``endpoint``: ``None`` for ``https://faceid.intl.tencentcloudapi.com``,
    ``"regional"`` for ``https://faceid.<region>.tencentcloudapi.com``, or any URL (``http://``
    only on loopback).  ``log``: ``None`` for ``CallLog("data/calls.sqlite")`` under the working
    directory, ``False`` for none, a path or a :class:`CallLog`.  ``rate_limit``: starts per second
    for ``GenerateReflectSequence`` (``CreateUploadUrl`` has its own 20/s; ``None`` turns client-side
    limiting off).  ``rate_limiter``: a :class:`RateLimiter` to share with other clients (the
    quota is per SecretId and action, across regions), or a mapping action -> limiter.
    ``timeout``: seconds per attempt (connect, each read, whole answer).  ``retries``: extra
    attempts (or a :class:`RetryPolicy`); ``backoff(n) -> seconds`` and ``sleep`` are injectable.
    ``allow_cross_region``: send a COS URL of another region anyway.  ``session``: a
    ``requests.Session`` to send through (its adapters, proxies and TLS settings).
    """

    #: Largest API answer read (bytes); the API's answers are a few hundred bytes.
    MAX_RESPONSE_BYTES = 1 << 20
    #: Largest light sequence downloaded (bytes).
    MAX_DOWNLOAD_BYTES = 16 << 20

    def __init__(
        self,
        region: str,
        *,
        credential: Credential | None = None,
        endpoint: str | None = None,
        log: CallLog | str | os.PathLike[str] | bool | None = None,
        rate_limit: float | None = 5.0,
        timeout: float = 10.0,
        retries: int | RetryPolicy = 3,
        backoff: Callable[[int], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rate_limiter: RateLimiter | Mapping[str, RateLimiter] | None = None,
        allow_cross_region: bool = False,
        session: requests.Session | None = None,
    ) -> None:
        if not isinstance(region, str) or region not in REGIONS:
            raise ValidationError("region", f"must be one of {', '.join(REGIONS)}", region)
        self.region = region
        self.credential = resolve_credential(credential)
        self._secrets: tuple[str, ...] = self.credential.secrets

        self.endpoint, self.host = self._resolve_endpoint(endpoint, region)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ValidationError("timeout", "must be a positive number of seconds", timeout)
        self.timeout = float(timeout)
        if isinstance(retries, RetryPolicy):
            self.retry_policy = retries
        else:
            try:
                self.retry_policy = RetryPolicy(retries=retries, backoff=backoff)
            except ValueError:
                raise ValidationError(
                    "retries", "must be an integer >= 0 or a RetryPolicy", retries
                ) from None
        self._sleep = sleep
        self.allow_cross_region = bool(allow_cross_region)
        self._limiters = self._build_limiters(rate_limit, rate_limiter)

        self._owns_log = False
        self.log: CallLog | None
        if log is None or log is True:
            self.log, self._owns_log = CallLog(DEFAULT_PATH), True
        elif log is False:
            self.log = None
        elif isinstance(log, CallLog):
            self.log = log
        elif isinstance(log, str | os.PathLike):
            self.log, self._owns_log = CallLog(log), True
        else:
            raise ValidationError(
                "log", "must be None, False, a path or a CallLog", type(log).__name__
            )

        self._transport = Transport(session)
        self._wall0, self._mono0 = time.time(), time.monotonic()
        self._static_headers = {
            "Content-Type": "application/json",
            "Host": self.host,
            "X-TC-Version": API_VERSION,
            "X-TC-Region": self.region,
            "X-TC-RequestClient": _USER_AGENT,
            "User-Agent": _USER_AGENT,
        }
        if self.credential.token:
            self._static_headers["X-TC-Token"] = self.credential.token

    # --- construction helpers ------------------------------------------------------------

    @staticmethod
    def _resolve_endpoint(endpoint: str | None, region: str) -> tuple[str, str]:
        if endpoint is None:
            url = DEFAULT_ENDPOINT
        elif endpoint == "regional":
            url = regional_endpoint(region)
        else:
            url = endpoint
        if not isinstance(url, str):
            raise ValidationError(
                "endpoint", "must be None, 'regional' or a URL", type(url).__name__
            )
        url = _check_url("endpoint", url)
        parts = urlsplit(url)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValidationError(
                "endpoint", "must be scheme://host[:port] with no path or query", url
            )
        return f"{parts.scheme}://{parts.netloc}/", parts.netloc

    @staticmethod
    def _build_limiters(
        rate_limit: float | None, shared: RateLimiter | Mapping[str, RateLimiter] | None
    ) -> dict[str, RateLimiter | None]:
        limiters: dict[str, RateLimiter | None] = {GENERATE: None, CREATE_UPLOAD_URL: None}
        if rate_limit is not None:
            if (
                isinstance(rate_limit, bool)
                or not isinstance(rate_limit, int | float)
                or not rate_limit > 0
            ):
                raise ValidationError("rate_limit", "must be a positive number or None", rate_limit)
            limiters[GENERATE] = RateLimiter(rate_limit)
            limiters[CREATE_UPLOAD_URL] = RateLimiter(QUOTAS[CREATE_UPLOAD_URL])
        if isinstance(shared, RateLimiter):
            limiters[GENERATE] = shared
        elif shared is not None:
            for action, limiter in shared.items():
                if not isinstance(limiter, RateLimiter):
                    raise ValidationError("rate_limiter", "values must be RateLimiter", action)
                limiters[action] = limiter
        return limiters

    def __repr__(self) -> str:
        return (
            f"FaceIDClient(region={self.region!r}, endpoint={self.endpoint!r}, "
            f"credential={self.credential!r}, log={self.log!r})"
        )

    def __enter__(self) -> FaceIDClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session and the call log, if this client opened them."""
        self._transport.close()
        if self._owns_log and self.log is not None:
            self.log.close()

    # --- the public operations -------------------------------------------------------------

    def generate_reflect_sequence(
        self,
        device_data_url: str,
        device_data_md5: str,
        security_level: int | str = 4,
        *,
        campaign_id: str | None = None,
        call_id: str | None = None,
    ) -> ReflectSequence:
        """Call ``GenerateReflectSequence``; return the light sequence's URL and MD5."""
        url = _check_url(
            "DeviceDataUrl",
            device_data_url,
            region=self.region,
            allow_cross=self.allow_cross_region,
        )
        md5 = _check_md5("DeviceDataMd5", device_data_md5)
        level = _check_level(security_level)
        call_id = _check_id("call_id", call_id) or _new_call_id()
        _check_id("campaign_id", campaign_id)
        row = {
            "call_id": call_id,
            "campaign_id": campaign_id,
            "security_level": level,
            "device_data_url": strip_query(url),
            "device_data_md5": md5,
        }
        params = {"DeviceDataUrl": url, "DeviceDataMd5": md5, "SecurityLevel": level}

        def on_success(resp: dict[str, Any], row: dict[str, Any]) -> ReflectSequence:
            row["sequence_url"] = strip_query(resp["ReflectSequenceUrl"])
            row["sequence_md5"] = resp["ReflectSequenceMd5"]
            return ReflectSequence(
                url=resp["ReflectSequenceUrl"],
                md5=resp["ReflectSequenceMd5"],
                request_id=resp["RequestId"],
                security_level=level,
                call_id=call_id,
            )

        return self._call_api(
            GENERATE,
            params,
            {"ReflectSequenceUrl": str, "ReflectSequenceMd5": str},
            row,
            on_success,
            secrets=(url,),
        )

    def create_upload_url(
        self,
        target_action: str = GENERATE,
        *,
        campaign_id: str | None = None,
        call_id: str | None = None,
    ) -> UploadUrl:
        """Call ``CreateUploadUrl``: a presigned HTTP PUT link and the resource URL it fills."""
        if not isinstance(target_action, str) or not _ACTION_NAME.fullmatch(target_action):
            raise ValidationError(
                "TargetAction",
                "must be an API action name such as GenerateReflectSequence",
                target_action,
            )
        call_id = _check_id("call_id", call_id) or _new_call_id()
        _check_id("campaign_id", campaign_id)
        row: dict[str, Any] = {"call_id": call_id, "campaign_id": campaign_id}

        def on_success(resp: dict[str, Any], row: dict[str, Any]) -> UploadUrl:
            for field in ("UploadUrl", "ResourceUrl"):
                try:
                    _check_url(field, resp[field])
                except ValidationError as exc:
                    raise MissingFieldError(
                        field,
                        f"{field} in the answer is unusable: {exc.rule}",
                        request_id=resp["RequestId"],
                    ) from None
            row["device_data_url"] = strip_query(resp["ResourceUrl"])
            return UploadUrl(
                upload_url=resp["UploadUrl"],
                resource_url=resp["ResourceUrl"],
                expired_timestamp=resp["ExpiredTimestamp"],
                request_id=resp["RequestId"],
            )

        return self._call_api(
            CREATE_UPLOAD_URL,
            {"TargetAction": target_action},
            {"UploadUrl": str, "ResourceUrl": str, "ExpiredTimestamp": int},
            row,
            on_success,
        )

    def upload_device_data(
        self,
        data: bytes,
        *,
        campaign_id: str | None = None,
        call_id: str | None = None,
    ) -> DeviceData:
        """Upload the SDK's data package: ``CreateUploadUrl``, then HTTP PUT to the link.

        Returns the ``DeviceDataUrl`` and ``DeviceDataMd5`` to call
        :meth:`generate_reflect_sequence` with.  Both exchanges share ``call_id``.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValidationError("data", "must be bytes", type(data).__name__)
        payload = bytes(data)
        md5 = hashlib.md5(payload).hexdigest()
        call_id = _check_id("call_id", call_id) or _new_call_id()
        _check_id("campaign_id", campaign_id)
        link = self.create_upload_url(campaign_id=campaign_id, call_id=call_id)
        row = {
            "call_id": call_id,
            "campaign_id": campaign_id,
            "device_data_url": strip_query(link.resource_url),
            "device_data_md5": md5,
        }
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(payload)),
            "User-Agent": _USER_AGENT,
        }

        put_secrets = (link.upload_url, link.resource_url)

        def parse(reply: Reply, row: dict[str, Any]) -> None:
            if not 200 <= reply.status < 300:
                raise self._status_error(reply, urlsplit(link.upload_url).netloc, put_secrets)

        self._exchange(
            UPLOAD,
            "PUT",
            link.upload_url,
            lambda: headers,
            payload,
            parse,
            row,
            limiter=None,
            max_bytes=self.MAX_RESPONSE_BYTES,
            secrets=put_secrets,
        )
        return DeviceData(url=link.resource_url, md5=md5, request_id=link.request_id)

    def download_sequence(
        self,
        seq_or_url: ReflectSequence | str,
        md5: str | None = None,
        *,
        campaign_id: str | None = None,
        call_id: str | None = None,
    ) -> bytes:
        """Download a light sequence (HTTP GET) and check its MD5.

        ``seq_or_url``: a :class:`ReflectSequence` (its MD5 and ``call_id`` are used unless given)
        or a URL (then without ``md5`` nothing is checked).  The row carries the sequence's
        properties; on a mismatch it is logged as ``integrity_error`` and
        :class:`~faceid_tools.errors.IntegrityError` is raised.
        """
        expected: str | None
        if isinstance(seq_or_url, ReflectSequence):
            url = seq_or_url.url
            expected = md5 if md5 is not None else seq_or_url.md5
            call_id = call_id or seq_or_url.call_id
        else:
            url, expected = seq_or_url, md5
        url = _check_url("ReflectSequenceUrl", url)
        if expected is not None:
            expected = _check_md5("md5", expected)
        call_id = _check_id("call_id", call_id) or _new_call_id()
        _check_id("campaign_id", campaign_id)
        row = {
            "call_id": call_id,
            "campaign_id": campaign_id,
            "sequence_url": strip_query(url),
            "sequence_md5": expected,
        }
        host = urlsplit(url).netloc
        headers = {"User-Agent": _USER_AGENT}

        def parse(reply: Reply, row: dict[str, Any]) -> bytes:
            if reply.status != 200:
                raise self._status_error(reply, host, (url,))
            row.update(sequence_properties(reply.body, expected))
            if row["seq_md5_ok"] == 0:
                actual = hashlib.md5(reply.body).hexdigest()
                raise IntegrityError(
                    f"light sequence from {host} hashes to {actual}, expected {expected}",
                    expected_md5=expected or "",
                    actual_md5=actual,
                    request_id=reply.request_id,
                )
            return reply.body

        return self._exchange(
            DOWNLOAD,
            "GET",
            url,
            lambda: headers,
            None,
            parse,
            row,
            limiter=None,
            max_bytes=self.MAX_DOWNLOAD_BYTES,
            secrets=(url,),
        )

    # --- the machinery ---------------------------------------------------------------------

    def _call_api(
        self,
        action: str,
        params: dict[str, Any],
        required: Mapping[str, type],
        row: dict[str, Any],
        on_success: Callable[[dict[str, Any], dict[str, Any]], T],
        *,
        secrets: tuple[str, ...] = (),
    ) -> T:
        body = json.dumps(params, separators=(",", ":")).encode()
        credential, host, endpoint = self.credential, self.host, self.endpoint
        static = self._static_headers

        def headers() -> dict[str, str]:
            timestamp = int(time.time())
            auth = sign(
                secret_id=credential.secret_id,
                secret_key=credential.secret_key,
                service=SERVICE,
                host=host,
                method="POST",
                timestamp=timestamp,
                payload=body,
            ).authorization
            return {
                **static,
                "X-TC-Action": action,
                "X-TC-Timestamp": str(timestamp),
                "Authorization": auth,
                "Content-Length": str(len(body)),
            }

        def parse(reply: Reply, row: dict[str, Any]) -> T:
            resp = self._parse_envelope(reply, required, secrets)
            row["request_id"] = resp["RequestId"]
            return on_success(resp, row)

        return self._exchange(
            action,
            "POST",
            endpoint,
            headers,
            body,
            parse,
            row,
            limiter=self._limiters.get(action),
            max_bytes=self.MAX_RESPONSE_BYTES,
            secrets=secrets,
        )

    def _exchange(
        self,
        action: str,
        method: str,
        url: str,
        headers: Callable[[], dict[str, str]],
        body: bytes | None,
        parse: Callable[[Reply, dict[str, Any]], T],
        call_row: dict[str, Any],
        *,
        limiter: RateLimiter | None,
        max_bytes: int,
        secrets: tuple[str, ...],
    ) -> T:
        """Run the attempts of one logical call; log one row per attempt; return or raise."""
        host = self.host if url is self.endpoint else urlsplit(url).netloc
        policy = self.retry_policy
        request_bytes = len(body) if body is not None else 0
        attempt = 0
        while True:
            attempt += 1
            queued, started = self._slot(limiter)
            request_headers = headers()
            row = dict(call_row) if self.log is not None else call_row
            reply: Reply | None = None
            t0 = perf_counter()
            try:
                reply = self._transport.exchange(
                    method,
                    url,
                    request_headers,
                    body,
                    timeout=self.timeout,
                    max_bytes=max_bytes,
                    host=host,
                )
                latency = perf_counter() - t0
                result = parse(reply, row)
            except FaceIDError as exc:
                if reply is None:
                    latency = perf_counter() - t0
                exc.message = self._redact(exc.message, secrets)
                exc.args = (exc.message,)
                self._finish(
                    row, action, host, attempt, started, queued, latency, reply, request_bytes, exc
                )
                if policy.should_retry(exc, attempt):
                    delay = policy.delay(attempt)
                    log.info(
                        "%s to %s: attempt %d failed (%s); retrying in %.3f s",
                        action,
                        host,
                        attempt,
                        exc.code,
                        delay,
                    )
                    self._sleep(delay)
                    continue
                exc.call_id, exc.attempts = call_row.get("call_id"), attempt
                raise
            except Exception as exc:  # not ours (a bug, an odd URL): still one row, then as is
                failure = NetworkError(self._redact(f"{type(exc).__name__}: {exc}", secrets))
                failure.code = type(exc).__name__
                self._finish(
                    row,
                    action,
                    host,
                    attempt,
                    started,
                    queued,
                    perf_counter() - t0,
                    reply,
                    request_bytes,
                    failure,
                )
                raise
            self._finish(
                row, action, host, attempt, started, queued, latency, reply, request_bytes, None
            )
            return result

    def _slot(self, limiter: RateLimiter | None) -> tuple[float, float]:
        """Wait for the limiter; return (seconds queued, wall-clock start instant)."""
        if limiter is None:
            return 0.0, time.time()
        waited, at = limiter.reserve()
        now = time.time()
        if limiter.clock is not time.monotonic:
            return waited, now
        # the limiter's instant on the wall clock, exact relative to other starts (no jitter of a
        # second clock read); re-anchored if the wall clock was stepped since the client started
        started = self._wall0 + (at - self._mono0)
        if abs(now - started) > 1.0 + waited:
            self._wall0, self._mono0 = now, time.monotonic()
            started = now
        return waited, started

    def _finish(
        self,
        row: dict[str, Any],
        action: str,
        host: str,
        attempt: int,
        started: float,
        queued: float,
        latency: float,
        reply: Reply | None,
        request_bytes: int,
        exc: FaceIDError | None,
    ) -> None:
        """Write the attempt's row (and a DEBUG line)."""
        outcome = "ok" if exc is None else _outcome(exc)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s attempt %d: %s %s in %.1f ms (queued %.1f ms)",
                action,
                host,
                attempt,
                outcome,
                exc.code if exc is not None else reply.status if reply else "-",
                latency * 1000.0,
                queued * 1000.0,
            )
        if self.log is None:
            return
        row["attempt"] = attempt
        row["action"] = action
        row["region"] = self.region
        row["endpoint"] = host
        row["started_at"] = _iso(started)
        row["queued_ms"] = queued * 1000.0
        row["latency_ms"] = latency * 1000.0
        row["outcome"] = outcome
        row["request_bytes"] = request_bytes
        if reply is not None:
            row["http_status"] = reply.status
            row["response_bytes"] = len(reply.body)
            if row.get("request_id") is None:
                row["request_id"] = reply.request_id
        if exc is not None:
            row["error_code"] = exc.code
            row["error_message"] = exc.message
            if exc.request_id is not None:
                row["request_id"] = exc.request_id
        self.log.record(row)

    def _redact(self, text: str, extra: tuple[str, ...] = ()) -> str:
        """``text`` without the credential's secrets, signatures or presigned queries."""
        secrets = self._secrets
        for url in extra:
            query = urlsplit(url).query
            if query:
                secrets = (*secrets, query, url)
        if extra:
            secrets = tuple(sorted(secrets, key=len, reverse=True))
        return redact_text(text, secrets)

    def _status_error(
        self, reply: Reply, host: str, secrets: tuple[str, ...] = ()
    ) -> HTTPStatusError:
        """A non-2xx answer, with a short readable start of its body (redacted before cut)."""
        text = self._redact(reply.body.decode("utf-8", "replace"), secrets)
        snippet = " ".join(text.split())[:_SNIPPET]
        return HTTPStatusError(reply.status, f"HTTP {reply.status} from {host}: {snippet!r}")

    def _parse_envelope(
        self, reply: Reply, required: Mapping[str, type], secrets: tuple[str, ...]
    ) -> dict[str, Any]:
        """The API 3.0 envelope's ``Response``, or the typed error it stands for."""
        host = self.host
        if reply.status != 200:
            raise self._status_error(reply, host, secrets)
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
            text = self._redact(message if isinstance(message, str) else "", secrets)
            raise api_error(code, text, request_id)
        if request_id is None:
            raise MissingFieldError("RequestId", "Response has no RequestId")
        for field, kind in required.items():
            value = resp.get(field)
            if (
                not isinstance(value, kind)
                or isinstance(value, bool)
                or (kind is str and not value)
            ):
                raise MissingFieldError(
                    field,
                    f"Response has no {kind.__name__} {field}",
                    request_id=request_id,
                )
        return resp
