"""``FaceIDClient``: the public calls of the ``GenerateReflectSequence`` flow.

The class holds the calls and their arguments; the rooms around it do the rest:
:mod:`.validate` checks every argument before anything is sent, :mod:`.api` signs an API action
and :mod:`.envelope` reads its answer strictly, and :mod:`.attempts` runs the attempts (rate-limit
slot, exchange, retry) and logs one row per attempt.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from .._version import __version__
from ..calllog.conventions import (
    CREATE_UPLOAD_URL,
    DEFAULT_RETRIES,
    DOWNLOAD,
    GENERATE,
    UPLOAD,
    integrity_message,
    new_call_id,
)
from ..calllog.store import CallLog
from ..errors import IntegrityError, MissingFieldError, ValidationError
from .api import SignedApi
from .attempts import Attempts
from .credentials import Credential, resolve_credential
from .envelope import Redactor, status_error
from .ratelimit import RateLimiter
from .redact import install_http_log_filter, strip_query
from .regions import DEFAULT_ENDPOINT, REGIONS, regional_endpoint
from .results import DeviceData, ReflectSequence, UploadUrl
from .retry import RetryPolicy
from .sequence_properties import properties as sequence_properties
from .transport import Reply, Transport
from .validate import (
    build_limiters,
    call_log_of,
    check_action,
    check_id,
    check_level,
    check_md5,
    check_timeout,
    check_url,
    endpoint_of,
    retry_policy_of,
)

__all__ = ["FaceIDClient"]

install_http_log_filter()

T = TypeVar("T")
_USER_AGENT = f"faceid-tools/{__version__}"


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
        retries: int | RetryPolicy = DEFAULT_RETRIES,
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

        if endpoint is None:
            endpoint = DEFAULT_ENDPOINT
        elif endpoint == "regional":
            endpoint = regional_endpoint(region)
        self.endpoint, self.host = endpoint_of(endpoint)
        self.timeout = check_timeout(timeout)
        self.retry_policy = retry_policy_of(retries, backoff)
        self.allow_cross_region = bool(allow_cross_region)
        self._limiters = build_limiters(rate_limit, rate_limiter)

        self.log, self._owns_log = call_log_of(log)

        self._transport = Transport(session)
        self._redact = Redactor(self._secrets)
        self._attempts = Attempts(
            region=region,
            transport=self._transport,
            timeout=self.timeout,
            policy=self.retry_policy,
            sleep=sleep,
            call_log=self.log,
            redact=self._redact,
        )
        self._api = SignedApi(
            endpoint=self.endpoint,
            host=self.host,
            region=region,
            credential=self.credential,
            user_agent=_USER_AGENT,
            limiters=self._limiters,
            attempts=self._attempts,
            redact=self._redact,
            max_bytes=self.MAX_RESPONSE_BYTES,
        )

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
        url = check_url(
            "DeviceDataUrl",
            device_data_url,
            region=self.region,
            allow_cross=self.allow_cross_region,
        )
        md5 = check_md5("DeviceDataMd5", device_data_md5)
        level = check_level(security_level)
        call_id = check_id("call_id", call_id) or new_call_id()
        check_id("campaign_id", campaign_id)
        row = {
            "call_id": call_id,
            "security_level": level,
            "device_data_url": strip_query(url),
            "device_data_md5": md5,
        }
        if campaign_id is not None:  # a row holds what is known (see Attempts._finish)
            row["campaign_id"] = campaign_id
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

        return self._api.call(
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
        check_action(target_action)
        call_id = check_id("call_id", call_id) or new_call_id()
        check_id("campaign_id", campaign_id)
        row: dict[str, Any] = {"call_id": call_id}
        if campaign_id is not None:
            row["campaign_id"] = campaign_id

        def on_success(resp: dict[str, Any], row: dict[str, Any]) -> UploadUrl:
            for field in ("UploadUrl", "ResourceUrl"):
                try:
                    check_url(field, resp[field])
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

        return self._api.call(
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
        call_id = check_id("call_id", call_id) or new_call_id()
        check_id("campaign_id", campaign_id)
        link = self.create_upload_url(campaign_id=campaign_id, call_id=call_id)
        row = {
            "call_id": call_id,
            "device_data_url": strip_query(link.resource_url),
            "device_data_md5": md5,
        }
        if campaign_id is not None:
            row["campaign_id"] = campaign_id
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(payload)),
            "User-Agent": _USER_AGENT,
        }

        put_secrets = (link.upload_url, link.resource_url)
        put_host = urlsplit(link.upload_url).netloc

        def parse(reply: Reply, row: dict[str, Any]) -> None:
            if not 200 <= reply.status < 300:
                raise status_error(reply, put_host, self._redact, put_secrets)

        self._attempts.run(
            UPLOAD,
            "PUT",
            link.upload_url,
            put_host,
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
        url = check_url("ReflectSequenceUrl", url)
        if expected is not None:
            expected = check_md5("md5", expected)
        call_id = check_id("call_id", call_id) or new_call_id()
        check_id("campaign_id", campaign_id)
        row: dict[str, Any] = {"call_id": call_id, "sequence_url": strip_query(url)}
        if expected is not None:
            row["sequence_md5"] = expected
        if campaign_id is not None:
            row["campaign_id"] = campaign_id
        host = urlsplit(url).netloc
        headers = {"User-Agent": _USER_AGENT}

        def parse(reply: Reply, row: dict[str, Any]) -> bytes:
            if reply.status != 200:
                raise status_error(reply, host, self._redact, (url,))
            row.update(sequence_properties(reply.body, expected))
            if row["seq_md5_ok"] == 0:
                actual = hashlib.md5(reply.body).hexdigest()
                raise IntegrityError(
                    integrity_message(host, actual, expected or ""),
                    expected_md5=expected or "",
                    actual_md5=actual,
                    request_id=reply.request_id,
                )
            return reply.body

        return self._attempts.run(
            DOWNLOAD,
            "GET",
            url,
            host,
            lambda: headers,
            None,
            parse,
            row,
            limiter=None,
            max_bytes=self.MAX_DOWNLOAD_BYTES,
            secrets=(url,),
        )
