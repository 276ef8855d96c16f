"""Regions, security levels and endpoints of GenerateReflectSequence (API 3.0, 2018-03-01)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from .vocabulary import (
    API_VERSION as API_VERSION,
)
from .vocabulary import (
    CREATE_UPLOAD_URL,
    GENERATE,
    LEVEL_MEANINGS,
    SERVICE,
)
from .vocabulary import (
    DEFAULT_SECURITY_LEVEL as DEFAULT_SECURITY_LEVEL,
)

ACTION = GENERATE

#: The only regions the action supports (seed page).
REGIONS: tuple[str, ...] = ("ap-bangkok", "ap-hongkong", "ap-singapore")

#: Security levels as the API takes them (strings) and what each means.
SECURITY_LEVELS: dict[str, str] = LEVEL_MEANINGS

#: Valid Tencent Cloud regions the action does *not* support (answer: UnsupportedRegion).
OTHER_TENCENT_REGIONS: frozenset[str] = frozenset(
    {
        "ap-beijing",
        "ap-beijing-fsi",
        "ap-chengdu",
        "ap-chongqing",
        "ap-guangzhou",
        "ap-jakarta",
        "ap-mumbai",
        "ap-nanjing",
        "ap-seoul",
        "ap-shanghai",
        "ap-shanghai-fsi",
        "ap-shenzhen-fsi",
        "ap-taipei",
        "ap-tokyo",
        "eu-frankfurt",
        "eu-moscow",
        "na-ashburn",
        "na-siliconvalley",
        "na-toronto",
        "sa-saopaulo",
    }
)

#: Per-action quota of the service, requests per second.
QUOTAS: dict[str, float] = {GENERATE: 5.0, CREATE_UPLOAD_URL: 20.0}

DEFAULT_ENDPOINT = "https://faceid.intl.tencentcloudapi.com"

_REGION_SHAPE = re.compile(r"^[a-z]{2}-[a-z]+(?:-[a-z]+)?$")
_COS_HOST = re.compile(
    r"^(?P<bucket>[A-Za-z0-9-]+)\.cos\.(?P<region>[a-z]{2}-[a-z]+(?:-[a-z]+)?)\."
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_region_shaped(region: str) -> bool:
    """True if ``region`` looks like a Tencent Cloud region name (``xx-name[-name]``)."""
    return bool(_REGION_SHAPE.match(region))


def is_supported_region(region: str) -> bool:
    return region in REGIONS


def is_known_region(region: str) -> bool:
    """True for any real Tencent Cloud region, supported by this action or not."""
    return region in REGIONS or region in OTHER_TENCENT_REGIONS


def regional_endpoint(region: str) -> str:
    return f"https://{SERVICE}.{region}.tencentcloudapi.com"


def cos_region_of(url: str) -> str | None:
    """The region of a COS object URL, else None.

    Real COS: the host ``<bucket>.cos.<region>.myqcloud.com``.  The emulator's object store on
    loopback is path-style: ``http://127.0.0.1:<port>/cos/<bucket>.cos.<region>.myqcloud.com/<key>``.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if is_loopback_host(host) and parts.path.startswith("/cos/"):
        host = parts.path[len("/cos/") :].split("/", 1)[0]
    m = _COS_HOST.match(host)
    return m.group("region") if m else None


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and literal loopback addresses (127.0.0.0/8, ::1) — not for names
    that merely start with ``127.`` such as ``127.0.0.1.nip.io``."""
    if not host:
        return False
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_endpoint(endpoint: str | None) -> bool:
    """True when an endpoint -- a URL, ``host``, ``host:port``, ``[::1]`` or ``[::1]:port`` --
    names a loopback host (:func:`is_loopback_host`): the one loopback test of the package."""
    if not endpoint:
        return False
    text = endpoint.strip()
    if "://" not in text:
        if text.count(":") > 1 and not text.startswith("["):
            return is_loopback_host(text)  # a bare IPv6 address such as ::1
        text = f"//{text}"
    try:
        return is_loopback_host(urlsplit(text).hostname)
    except ValueError:
        return False
