"""Checks of the client's arguments, run before anything is sent.

Each failure is a :class:`~faceid_tools.errors.ValidationError` (also a ``ValueError``) naming the
field and the rule.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from ..calllog.conventions import CREATE_UPLOAD_URL, DEFAULT_LOG_PATH, GENERATE, LEVELS
from ..calllog.store import CallLog
from ..errors import ValidationError
from .ratelimit import RateLimiter
from .redact import strip_query
from .regions import QUOTAS, cos_region_of, is_loopback_host
from .retry import RetryPolicy

__all__ = [
    "COS_REGION_RULE",
    "build_limiters",
    "call_log_of",
    "check_action",
    "check_id",
    "check_level",
    "check_md5",
    "check_timeout",
    "check_url",
    "endpoint_of",
    "retry_policy_of",
]

#: The seed page's rule, quoted by the cross-region refusal.
COS_REGION_RULE = (
    "The data generated with the SDK must be stored in COS, and the region of the COS bucket "
    "must be same as that of requests made with this API."
)

_MD5 = re.compile(r"[0-9a-fA-F]{32}")
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")
_ACTION_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")
_LEVEL_RULE = "must be 1, 2, 3 or 4 (int or str)"


def check_url(
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


def check_md5(field: str, value: object) -> str:
    """32 hex digits, lower-cased."""
    if not isinstance(value, str) or not _MD5.fullmatch(value):
        shown = value if isinstance(value, str) else type(value).__name__
        raise ValidationError(field, "must be 32 hexadecimal characters (an MD5 digest)", shown)
    return value.lower()


def check_level(value: object) -> str:
    """A security level 1-4 as the API takes it (a string)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError("SecurityLevel", _LEVEL_RULE, type(value).__name__)
    level = str(value)
    if level not in LEVELS:
        raise ValidationError("SecurityLevel", _LEVEL_RULE, value)
    return level


def check_id(field: str, value: object) -> str | None:
    """A non-empty string or None (``call_id``, ``campaign_id``)."""
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError(field, "must be a non-empty string or None", type(value).__name__)
    return value


def check_action(value: object) -> str:
    """An API action name (``TargetAction``)."""
    if not isinstance(value, str) or not _ACTION_NAME.fullmatch(value):
        raise ValidationError(
            "TargetAction", "must be an API action name such as GenerateReflectSequence", value
        )
    return value


def check_timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError("timeout", "must be a positive number of seconds", value)
    return float(value)


def endpoint_of(url: object) -> tuple[str, str]:
    """``(scheme://host[:port]/, host[:port])`` of an endpoint URL."""
    if not isinstance(url, str):
        raise ValidationError("endpoint", "must be None, 'regional' or a URL", type(url).__name__)
    url = check_url("endpoint", url)
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValidationError("endpoint", "must be scheme://host[:port] with no path or query", url)
    return f"{parts.scheme}://{parts.netloc}/", parts.netloc


def call_log_of(log: object) -> tuple[CallLog | None, bool]:
    """The client's call log and whether the client opened it (and so closes it)."""
    if log is None or log is True:
        return CallLog(DEFAULT_LOG_PATH), True
    if log is False:
        return None, False
    if isinstance(log, CallLog):
        return log, False
    if isinstance(log, str | os.PathLike):
        return CallLog(log), True
    raise ValidationError("log", "must be None, False, a path or a CallLog", type(log).__name__)


def retry_policy_of(
    retries: int | RetryPolicy, backoff: Callable[[int], float] | None
) -> RetryPolicy:
    if isinstance(retries, RetryPolicy):
        return retries
    try:
        return RetryPolicy(retries=retries, backoff=backoff)
    except ValueError:
        raise ValidationError(
            "retries", "must be an integer >= 0 or a RetryPolicy", retries
        ) from None


def build_limiters(
    rate_limit: float | None, shared: RateLimiter | Mapping[str, RateLimiter] | None
) -> dict[str, RateLimiter | None]:
    """The limiter of each rate-limited action (None: not limited)."""
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
