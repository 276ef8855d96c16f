"""The official SDK (tencentcloud-sdk-python-intl-en) accepts the emulator as the service."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.faceid.v20180301 import faceid_client, models

from faceid_tools.client.credentials import Credential
from faceid_tools.emulator.profile import Profile
from faceid_tools.emulator.server import Emulator
from faceid_tools.seqformat import decode

from ._api import UUID_RE

METHODS = ["POST", "GET"]


def sdk_profile(emu: Emulator, method: str) -> ClientProfile:
    http = HttpProfile(
        protocol="http", endpoint=f"127.0.0.1:{emu.port}", reqMethod=method, reqTimeout=30
    )
    return ClientProfile(httpProfile=http)


def sdk_client(
    emu: Emulator,
    method: str = "POST",
    region: str = "ap-singapore",
    cred: Credential | None = None,
) -> faceid_client.FaceidClient:
    c = cred or emu.credential
    return faceid_client.FaceidClient(
        credential.Credential(c.secret_id, c.secret_key, c.token), region, sdk_profile(emu, method)
    )


def sdk_upload(client: faceid_client.FaceidClient, data: bytes) -> tuple[str, str]:
    req = models.CreateUploadUrlRequest()
    req.TargetAction = "GenerateReflectSequence"
    resp = client.CreateUploadUrl(req)
    assert UUID_RE.match(resp.RequestId)
    assert len(str(resp.ExpiredTimestamp)) == 10
    assert requests.put(resp.UploadUrl, data=data, timeout=10).status_code == 200
    return resp.ResourceUrl, hashlib.md5(data).hexdigest()


def sdk_generate(
    client: faceid_client.FaceidClient, url: str, md5: str, level: Any = "4"
) -> models.GenerateReflectSequenceResponse:
    req = models.GenerateReflectSequenceRequest()
    req.DeviceDataUrl = url
    req.DeviceDataMd5 = md5
    if level is not None:
        req.SecurityLevel = level
    return client.GenerateReflectSequence(req)


def expect_code(code: str, fn: Callable[[], object]) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as info:
        fn()
    err = info.value
    assert err.get_code() == code, (err.get_code(), err.get_message())
    assert UUID_RE.match(err.get_request_id() or ""), err
    return err


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("temporary", [False, True])
def test_sdk_round_trip(emulator: Emulator, method: str, temporary: bool) -> None:
    client = sdk_client(emulator, method, cred=emulator.session_credential if temporary else None)
    url, md5 = sdk_upload(client, b"device data via the SDK")
    resp = sdk_generate(client, url, md5, "3")
    assert UUID_RE.match(resp.RequestId)
    blob = requests.get(resp.ReflectSequenceUrl, timeout=10).content
    assert hashlib.md5(blob).hexdigest() == resp.ReflectSequenceMd5
    assert decode(blob).security_level == 3


@pytest.mark.parametrize("method", METHODS)
def test_sdk_auth_errors(emulator: Emulator, method: str) -> None:
    cred = emulator.credential
    wrong_key = sdk_client(emulator, method, cred=Credential(cred.secret_id, "x" * 32))
    expect_code(
        "AuthFailure.SignatureFailure", lambda: sdk_generate(wrong_key, "http://x/y", "0" * 32)
    )
    stranger = sdk_client(
        emulator, method, cred=Credential("AKIDnobody000000000000000000000000000", "x" * 32)
    )
    expect_code(
        "AuthFailure.SecretIdNotFound", lambda: sdk_generate(stranger, "http://x/y", "0" * 32)
    )
    temp = emulator.session_credential
    assert temp is not None
    no_token = sdk_client(emulator, method, cred=Credential(temp.secret_id, temp.secret_key))
    expect_code("AuthFailure.TokenFailure", lambda: sdk_generate(no_token, "http://x/y", "0" * 32))
    bad_token = sdk_client(
        emulator, method, cred=Credential(temp.secret_id, temp.secret_key, "nope")
    )
    expect_code("AuthFailure.TokenFailure", lambda: sdk_generate(bad_token, "http://x/y", "0" * 32))


def test_sdk_signature_expire(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    class SkewedTime:
        """The SDK's view of time, 20 minutes behind (only inside the SDK module)."""

        @staticmethod
        def time() -> float:
            return time.time() - 1200

    monkeypatch.setattr(abstract_client, "time", SkewedTime)
    expect_code(
        "AuthFailure.SignatureExpire",
        lambda: sdk_generate(sdk_client(emulator), "http://x/y", "0" * 32),
    )


@pytest.mark.parametrize("method", METHODS)
def test_sdk_parameter_and_region_errors(emulator: Emulator, method: str) -> None:
    emulator.configure(quota=False)
    client = sdk_client(emulator, method)
    url, md5 = sdk_upload(client, b"abc")
    expect_code("MissingParameter", lambda: sdk_generate(client, url, None))  # type: ignore[arg-type]
    expect_code("InvalidParameterValue", lambda: sdk_generate(client, url, md5, "7"))
    expect_code("InvalidParameter", lambda: sdk_generate(client, "no url", md5))
    expect_code("FailedOperation.DownLoadError", lambda: sdk_generate(client, url, "0" * 32))
    other = sdk_client(emulator, method, region="ap-bangkok")
    expect_code("FailedOperation.DownLoadError", lambda: sdk_generate(other, url, md5))
    unsupported = sdk_client(emulator, method, region="ap-guangzhou")
    err = expect_code("UnsupportedRegion", lambda: sdk_generate(unsupported, url, md5))
    assert err.get_message() == "The action not support this region."
    malformed = sdk_client(emulator, method, region="singapore")
    expect_code("InvalidParameterValue", lambda: sdk_generate(malformed, url, md5))


def test_sdk_sends_an_integer_level_as_given(emulator: Emulator) -> None:
    client = sdk_client(emulator)
    url, md5 = sdk_upload(client, b"abc")
    err = expect_code("InvalidParameter", lambda: sdk_generate(client, url, md5, 4))
    assert "`SecurityLevel`" in err.get_message()


def test_sdk_quota(emulator: Emulator) -> None:
    client = sdk_client(emulator)
    for _ in range(5):
        expect_code(
            "InvalidParameterValue", lambda: sdk_generate(client, "http://x/", "0" * 32, "9")
        )
    err = expect_code("RequestLimitExceeded", lambda: sdk_generate(client, "http://x/", "0" * 32))
    assert "frequency limit `5`" in err.get_message()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"InternalError": 0.999}, "InternalError"),
        ({"ServiceUnavailable": 0.999}, "ServiceUnavailable"),
        ({"FailedOperation.DownLoadError": 0.999}, "FailedOperation.DownLoadError"),
    ],
)
def test_sdk_drawn_faults(emulator_factory, changes: dict[str, float], code: str) -> None:  # type: ignore[no-untyped-def]
    raw = dict(Profile.load("reliable").raw)
    raw["faults"] = changes
    emu = emulator_factory(Profile.from_dict(raw), 1)
    client = sdk_client(emu)
    url, md5 = sdk_upload(client, b"abc")
    expect_code(code, lambda: sdk_generate(client, url, md5))


def test_sdk_download_timeout(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    raw = dict(Profile.load("reliable").raw)
    raw["download"] = {"median_ms": 5000, "p99_ms": 9000, "timeout_ms": 100}
    emu = emulator_factory(Profile.from_dict(raw), 1)
    client = sdk_client(emu)
    url, md5 = sdk_upload(client, b"abc")
    expect_code("FailedOperation.DownLoadTimeoutError", lambda: sdk_generate(client, url, md5))


@pytest.mark.parametrize("method", METHODS)
def test_common_client_action_version_and_unknown_parameter(
    emulator: Emulator, method: str
) -> None:
    cred = credential.Credential(emulator.credential.secret_id, emulator.credential.secret_key)
    common = CommonClient(
        "faceid", "2018-03-01", cred, "ap-singapore", profile=sdk_profile(emulator, method)
    )
    ok = common.call_json("CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"})
    assert set(ok["Response"]) == {"UploadUrl", "ResourceUrl", "ExpiredTimestamp", "RequestId"}
    expect_code("InvalidAction", lambda: common.call_json("DetectAuth", {}))
    expect_code(
        "UnknownParameter",
        lambda: common.call_json(
            "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence", "Extra": "1"}
        ),
    )
    old = CommonClient(
        "faceid", "2017-01-01", cred, "ap-singapore", profile=sdk_profile(emulator, method)
    )
    expect_code(
        "NoSuchVersion",
        lambda: old.call_json("CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"}),
    )


def test_sdk_request_size_limit(emulator: Emulator) -> None:
    client = sdk_client(emulator)
    expect_code(
        "RequestSizeLimitExceeded",
        lambda: sdk_generate(client, "http://x/" + "a" * (10 * 1024 * 1024), "0" * 32),
    )
