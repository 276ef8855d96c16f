"""The actions' parameters: reading them (JSON body, query string, form body) and checking them.

Codes as the service uses them: ``InvalidParameter`` for a wrong type or format (a JSON number
where a String is due, a ``DeviceDataUrl`` that is not a URL, a ``DeviceDataMd5`` that is not 32
hex digits, an unreadable body), ``InvalidParameterValue`` for a well-formed value outside the
allowed set (``SecurityLevel`` ``"5"``, an unknown ``TargetAction``, an empty string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from ..client.regions import DEFAULT_SECURITY_LEVEL, REGIONS, SECURITY_LEVELS, is_known_region
from . import exceptions as exc

MAX_URL_LENGTH = 2048
MAX_QUERY_FIELDS = 100
#: Each action's parameters: (name, required).
PARAMETERS: dict[str, tuple[tuple[str, bool], ...]] = {
    "GenerateReflectSequence": (
        ("DeviceDataUrl", True),
        ("DeviceDataMd5", True),
        ("SecurityLevel", False),
    ),
    "CreateUploadUrl": (("TargetAction", True),),
}
#: ``CreateUploadUrl`` targets: the FaceID actions that take an uploaded resource's URL
#: (ApplyWebVerificationToken: tccli's example; GenerateReflectSequence: the API page's
#: DeviceDataUrl; the two others: their ``*Url`` request parameters in the SDKs' models).
UPLOAD_TARGETS = frozenset(
    {
        "ApplyWebVerificationToken",
        "GenerateReflectSequence",
        "DetectReflectLivenessAndCompare",
        "LivenessCompare",
    }
)
_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


def check_region(region: str | None, name: str = "X-TC-Region") -> str:
    if not region:
        raise exc.missing_parameter(name)
    if region in REGIONS:
        return region
    if is_known_region(region):
        raise exc.unsupported_region()
    raise exc.invalid_region_value()


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a TC3 POST (an empty body is no parameters)."""
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


def parse_form(text: str, what: str = "query string") -> dict[str, str]:
    """Form encoding (a GET query, or a v1 POST body) into names and values; no repeats."""
    out: dict[str, str] = {}
    fields = [f for f in text.split("&") if f]
    if len(fields) > MAX_QUERY_FIELDS:
        raise exc.invalid_parameter(f"The {what} has too many parameters.")
    for field in fields:
        raw_name, _, raw_value = field.partition("=")
        try:
            name = unquote_plus(raw_name, errors="strict")
            value = unquote_plus(raw_value, errors="strict")
        except UnicodeDecodeError:
            raise exc.invalid_parameter(f"The {what} is not valid UTF-8.") from None
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
    if action == "GenerateReflectSequence":
        check_reflect_values(values)
    elif values["TargetAction"] not in UPLOAD_TARGETS:
        raise exc.invalid_value("TargetAction", values["TargetAction"])
    return values


def check_reflect_values(values: Mapping[str, str]) -> None:
    url = values["DeviceDataUrl"]
    if len(url) > MAX_URL_LENGTH or not _is_http_url(url):
        raise exc.invalid_format("DeviceDataUrl", url)
    if not _MD5.match(values["DeviceDataMd5"]):
        raise exc.invalid_format("DeviceDataMd5", values["DeviceDataMd5"])
    level = values.get("SecurityLevel", DEFAULT_SECURITY_LEVEL)
    if level not in SECURITY_LEVELS:
        raise exc.invalid_value("SecurityLevel", level)


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and url.isprintable()
