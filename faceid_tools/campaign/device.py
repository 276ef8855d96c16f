"""Device data for a campaign: uploaded once per region, or given by the user as URL + MD5.

The service fetches the device data from COS and requires the bucket to be in the request's
region, so each region gets its own upload (``CreateUploadUrl`` then ``PUT``), through that
region's client.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..client.redact import strip_query
from ..client.regions import cos_region_of
from ..client.retry import is_retryable
from ..errors import FaceIDError, InputError

logger = logging.getLogger(__name__)

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
UPLOAD_ATTEMPTS = 3


@dataclass(frozen=True)
class DeviceRef:
    """What a GenerateReflectSequence call needs: ``DeviceDataUrl`` and ``DeviceDataMd5``."""

    url: str
    md5: str

    def __repr__(self) -> str:  # the URL may be presigned
        return f"DeviceRef(url={strip_query(self.url)!r}, md5={self.md5!r})"


class Uploader(Protocol):
    def upload_device_data(self, data: bytes, *, campaign_id: str, call_id: str) -> Any: ...


def synthetic_package(region: str, size: int = 4096) -> bytes:
    """A stand-in SDK data package: a readable header and random bytes (no real user data)."""
    header = f"faceid-tools probe device data\nregion={region}\n".encode()
    return header + secrets.token_bytes(max(0, size - len(header)))


def given(device_data: Mapping[str, Any], regions: tuple[str, ...]) -> dict[str, DeviceRef]:
    """Validate user-given device data: region -> ``(url, md5)`` or an object with ``.url``/``.md5``."""
    out: dict[str, DeviceRef] = {}
    missing = [r for r in regions if r not in device_data]
    if missing:
        raise InputError(f"device_data has no entry for region(s) {', '.join(missing)}")
    for region in regions:
        value = device_data[region]
        if hasattr(value, "url") and hasattr(value, "md5"):
            url, md5 = value.url, value.md5
        else:
            try:
                url, md5 = value
            except (TypeError, ValueError):
                raise InputError(
                    f"device_data[{region!r}] must be (url, md5) or have .url and .md5"
                ) from None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InputError(f"device_data[{region!r}]: the URL must be http(s)")
        if not isinstance(md5, str) or not _MD5.match(md5):
            raise InputError(f"device_data[{region!r}]: the MD5 must be 32 hex digits")
        bucket_region = cos_region_of(url)
        if bucket_region is not None and bucket_region != region:
            raise InputError(
                f"device_data[{region!r}] is in a {bucket_region} bucket; the service needs the"
                f" bucket in the request's region ({region})"
            )
        out[region] = DeviceRef(url, md5.lower())
    return out


def upload(
    clients: Mapping[str, Uploader], campaign_id: str, run: int, *, size: int = 4096
) -> tuple[dict[str, DeviceRef], dict[str, str]]:
    """Upload a synthetic package once per region; return the refs and, per failed region, why.

    Each upload is tried up to three times when the failure is one worth retrying; a region whose
    upload fails has no calls this run (they stay pending for a resume).
    """
    refs: dict[str, DeviceRef] = {}
    failures: dict[str, str] = {}
    for region, client in clients.items():
        data = synthetic_package(region, size)
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            call_id = f"{campaign_id}-upload-{run}-{region}-{attempt}"
            try:
                result = client.upload_device_data(data, campaign_id=campaign_id, call_id=call_id)
            except FaceIDError as exc:
                if attempt < UPLOAD_ATTEMPTS and is_retryable(exc):
                    logger.info("device-data upload for %s failed (%s); retrying", region, exc.code)
                    continue
                logger.warning("device-data upload for %s failed: %s", region, exc)
                failures[region] = str(exc)
                break
            md5 = str(result.md5).lower()
            if md5 != hashlib.md5(data).hexdigest():
                failures[region] = "the uploaded device data's MD5 does not match the bytes sent"
                break
            refs[region] = DeviceRef(result.url, md5)
            break
    return refs, failures
