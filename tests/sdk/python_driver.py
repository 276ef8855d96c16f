"""Drives the official Python SDK (tencentcloud-sdk-python-intl-en) against the emulator's proxy.

Run as ``python python_driver.py`` in a process whose environment is only the emulator's
``sdk_env``.  Every client keeps the SDK's defaults (TC3, POST, https, the default endpoint) but
for the one setting the SDK needs beyond the environment — ``HttpProfile(certification=...)``,
because it hands ``requests`` its own CA bundle (certifi) — and the one a case changes.  Prints
one JSON object per case and line: ``{"case", "ok", "code", "detail"}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.faceid.v20180301 import faceid_client, models


def client(
    sign_method: str | None = None, req_method: str = "POST", secret_key: str | None = None
) -> faceid_client.FaceidClient:
    cred = credential.EnvironmentVariableCredential().get_credential()
    if secret_key is not None:
        cred = credential.Credential(cred.secret_id, secret_key)
    http = HttpProfile(reqMethod=req_method, certification=os.environ["REQUESTS_CA_BUNDLE"])
    return faceid_client.FaceidClient(
        cred, "ap-singapore", ClientProfile(signMethod=sign_method, httpProfile=http)
    )


def upload(c: faceid_client.FaceidClient, data: bytes) -> tuple[str, str]:
    req = models.CreateUploadUrlRequest()
    req.TargetAction = "GenerateReflectSequence"
    link = c.CreateUploadUrl(req)
    put = requests.put(link.UploadUrl, data=data, timeout=30)
    if put.status_code != 200:
        raise RuntimeError(f"PUT answered {put.status_code}")
    return link.ResourceUrl, hashlib.md5(data).hexdigest()


def generate(c: faceid_client.FaceidClient, url: str, md5: str, level: object = "4") -> object:
    req = models.GenerateReflectSequenceRequest()
    req.DeviceDataUrl, req.DeviceDataMd5, req.SecurityLevel = url, md5, level
    return c.GenerateReflectSequence(req)


def flow(**settings: str) -> str:
    c = client(**settings)
    url, md5 = upload(c, f"device data {uuid.uuid4()}".encode())
    seq = generate(c, url, md5)
    got = requests.get(seq.ReflectSequenceUrl, timeout=30)  # type: ignore[attr-defined]
    if hashlib.md5(got.content).hexdigest() != seq.ReflectSequenceMd5:  # type: ignore[attr-defined]
        raise RuntimeError("downloaded MD5 differs")
    host = urlsplit(seq.ReflectSequenceUrl).netloc  # type: ignore[attr-defined]
    return f"sequence of {len(got.content)} bytes, MD5 matches; URL host {host}"


def with_level(level: object) -> str:
    c = client()
    url, md5 = upload(c, b"abc")
    generate(c, url, md5, level)
    return "accepted"


def wrong_key() -> str:
    client(secret_key="x" * 32).CreateUploadUrl(models.CreateUploadUrlRequest())
    return "accepted"


def refused_host() -> str:
    try:
        requests.get("https://www.example.com/", timeout=30)
    except requests.exceptions.ProxyError as err:
        return f"ProxyError: {'403' if '403' in str(err) else str(err)[:120]}"
    return "reached"


CASES: dict[str, Callable[[], str]] = {
    "upload_flow": flow,  # defaults: TC3, POST, https, faceid.intl.tencentcloudapi.com
    "get": lambda: flow(req_method="GET"),
    "hmac_sha256": lambda: flow(sign_method="HmacSHA256"),
    "hmac_sha1": lambda: flow(sign_method="HmacSHA1"),
    "hmac_sha256_get": lambda: flow(sign_method="HmacSHA256", req_method="GET"),
    "wrong_type": lambda: with_level(4),
    "level_out_of_range": lambda: with_level("7"),
    "wrong_key": wrong_key,
    "refused_host": refused_host,
}


def main() -> None:
    for name, run in CASES.items():
        try:
            row = {"case": name, "ok": True, "code": "ok", "detail": run()}
        except TencentCloudSDKException as err:
            row = {"case": name, "ok": False, "code": err.get_code(), "detail": err.get_message()}
        except Exception as err:
            row = {"case": name, "ok": False, "code": type(err).__name__, "detail": str(err)[:300]}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
