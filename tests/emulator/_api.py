"""Talking to the emulator the way a client does: requests + faceid_tools.client.signing (no client module)."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import requests

from faceid_tools.client import signing
from faceid_tools.client.credentials import Credential


class Target(Protocol):
    """What a client needs: an Emulator, or a :class:`Remote` one started elsewhere."""

    @property
    def endpoint(self) -> str: ...

    @property
    def credential(self) -> Credential: ...


@dataclass(frozen=True)
class Remote:
    endpoint: str
    credential: Credential


UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def host_of(emu: Target) -> str:
    return emu.endpoint.split("://", 1)[1]


def signed_headers(
    emu: Target,
    action: str,
    *,
    body: bytes = b"",
    query: str = "",
    method: str = "POST",
    region: str | None = "ap-singapore",
    credential: Credential | None = None,
    timestamp: int | None = None,
    host: str | None = None,
    content_type: str | None = None,
    version: str = "2018-03-01",
) -> dict[str, str]:
    cred = credential or emu.credential
    host = host or host_of(emu)
    ts = int(time.time()) if timestamp is None else timestamp
    ct = content_type or (
        signing.POST_CONTENT_TYPE if method == "POST" else signing.GET_CONTENT_TYPE
    )
    parts = signing.sign(
        secret_id=cred.secret_id,
        secret_key=cred.secret_key,
        service="faceid",
        host=host,
        method=method,
        timestamp=ts,
        payload=body if method == "POST" else b"",
        query=query,
        content_type=ct,
    )
    headers = {
        "Host": host,
        "Content-Type": ct,
        "X-TC-Action": action,
        "X-TC-Version": version,
        "X-TC-Timestamp": str(ts),
        "Authorization": parts.authorization,
    }
    if region is not None:
        headers["X-TC-Region"] = region
    if cred.token:
        headers["X-TC-Token"] = cred.token
    return headers


def call(
    emu: Target,
    action: str,
    params: dict[str, Any] | None = None,
    *,
    method: str = "POST",
    raw_body: bytes | None = None,
    headers: dict[str, str] | None = None,
    **sign_kwargs: Any,
) -> requests.Response:
    """Send one signed API 3.0 request; ``headers`` override the signed ones afterwards."""
    params = params or {}
    if method == "GET":
        query = urlencode(params)
        h = signed_headers(emu, action, query=query, method="GET", **sign_kwargs)
        h.update(headers or {})
        return requests.get(f"{emu.endpoint}/?{query}", headers=h, timeout=30)
    body = raw_body if raw_body is not None else json.dumps(params).encode()
    h = signed_headers(emu, action, body=body, **sign_kwargs)
    h.update(headers or {})
    return requests.post(f"{emu.endpoint}/", data=body, headers=h, timeout=30)


def response_of(answer: requests.Response) -> dict[str, Any]:
    """The ``Response`` object, after checking the envelope's invariants."""
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    payload = answer.json()
    resp = payload["Response"]
    assert UUID_RE.match(resp["RequestId"]), resp
    return resp  # type: ignore[no-any-return]


def error_code(answer: requests.Response) -> str | None:
    resp = response_of(answer)
    return resp["Error"]["Code"] if "Error" in resp else None


@dataclass(frozen=True)
class Uploaded:
    url: str
    md5: str
    upload_url: str


def upload(
    emu: Target, data: bytes | None = None, *, region: str = "ap-singapore", **kw: Any
) -> Uploaded:
    """CreateUploadUrl + PUT, like a client uploading the SDK's device data."""
    data = uuid.uuid4().bytes * 8 if data is None else data
    resp = response_of(
        call(
            emu, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"}, region=region, **kw
        )
    )
    assert "Error" not in resp, resp
    put = requests.put(resp["UploadUrl"], data=data, timeout=30)
    assert put.status_code == 200, put.text
    return Uploaded(resp["ResourceUrl"], hashlib.md5(data).hexdigest(), resp["UploadUrl"])


def generate(
    emu: Target, device: Uploaded, level: str = "4", *, region: str = "ap-singapore", **kw: Any
) -> requests.Response:
    params = {"DeviceDataUrl": device.url, "DeviceDataMd5": device.md5, "SecurityLevel": level}
    return call(emu, "GenerateReflectSequence", params, region=region, **kw)
