"""Signature v1 (HmacSHA1 / HmacSHA256; form-encoded POST and GET) verified as the service does.

The requests are signed here by hand, following the service's v1 description: the sorted
``name=value`` pairs (values not encoded) after ``<METHOD><host><path>?``, HMAC under the
SecretKey, base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from faceid_tools.client.credentials import Credential
from faceid_tools.emulator.server import Emulator

from ._api import host_of, response_of, signed_headers

DIGESTS = {"HmacSHA1": hashlib.sha1, "HmacSHA256": hashlib.sha256}


def v1_params(
    emu: Emulator,
    action: str,
    params: dict[str, str],
    *,
    method: str = "POST",
    signature_method: str | None = "HmacSHA256",
    credential: Credential | None = None,
    signed_host: str | None = None,
    timestamp: int | None = None,
    drop: tuple[str, ...] = (),
    **extra: str,
) -> dict[str, str]:
    cred = credential or emu.credential
    form = {
        "Action": action,
        "Version": "2018-03-01",
        "Region": "ap-singapore",
        "Timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "Nonce": str(random.randint(1, 2**63)),
        "SecretId": cred.secret_id,
        **params,
        **extra,
    }
    if signature_method is not None:
        form["SignatureMethod"] = signature_method
    if cred.token:
        form["Token"] = cred.token
    for name in drop:
        form.pop(name, None)
    host = signed_host if signed_host is not None else host_of(emu)
    text = f"{method}{host}/?" + "&".join(f"{k}={form[k]}" for k in sorted(form))
    digest = DIGESTS[signature_method or "HmacSHA1"]
    mac = hmac.new(cred.secret_key.encode(), text.encode(), digest).digest()
    form["Signature"] = base64.b64encode(mac).decode()
    return form


def send(emu: Emulator, form: dict[str, str], method: str = "POST") -> dict[str, Any]:
    if method == "GET":
        answer = requests.get(f"{emu.endpoint}/?{urlencode(form)}", timeout=10)
    else:
        answer = requests.post(f"{emu.endpoint}/", data=form, timeout=10)  # form-encoded
    return response_of(answer)


TARGET = {"TargetAction": "GenerateReflectSequence"}


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("signature_method", ["HmacSHA1", "HmacSHA256", None])
def test_v1_is_accepted(emulator: Emulator, method: str, signature_method: str | None) -> None:
    form = v1_params(
        emulator, "CreateUploadUrl", TARGET, method=method, signature_method=signature_method
    )
    resp = send(emulator, form, method)
    assert "UploadUrl" in resp, resp


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_v1_full_flow(emulator: Emulator, method: str) -> None:
    data = b"device data over v1"
    link = send(emulator, v1_params(emulator, "CreateUploadUrl", TARGET, method=method), method)
    assert requests.put(link["UploadUrl"], data=data, timeout=10).status_code == 200
    params = {
        "DeviceDataUrl": link["ResourceUrl"],
        "DeviceDataMd5": hashlib.md5(data).hexdigest(),
        "SecurityLevel": "2",
    }
    resp = send(
        emulator, v1_params(emulator, "GenerateReflectSequence", params, method=method), method
    )
    blob = requests.get(resp["ReflectSequenceUrl"], timeout=10).content
    assert hashlib.md5(blob).hexdigest() == resp["ReflectSequenceMd5"]


@pytest.mark.parametrize("signed_host", ["127.0.0.1", "localhost:{port}", "127.0.0.1:1"])
def test_v1_signed_host(emulator: Emulator, signed_host: str) -> None:
    """Signed with or without the port on loopback: both accepted; another host is not."""
    host = signed_host.format(port=emulator.port)
    resp = send(emulator, v1_params(emulator, "CreateUploadUrl", TARGET, signed_host=host))
    expected = "AuthFailure.SignatureFailure" if host != "127.0.0.1" else None
    assert resp.get("Error", {}).get("Code") == expected, resp


def test_tc3_signed_host_without_the_port(emulator: Emulator) -> None:
    """The Node SDK signs ``host:<name>`` but sends ``Host: <name>:<port>``."""
    body = json.dumps(TARGET).encode()
    headers = signed_headers(emulator, "CreateUploadUrl", body=body, host="127.0.0.1")
    headers["Host"] = host_of(emulator)
    answer = requests.post(f"{emulator.endpoint}/", data=body, headers=headers, timeout=10)
    assert "UploadUrl" in response_of(answer)


@pytest.mark.parametrize(
    ("kwargs", "code", "named"),
    [
        ({"timestamp": int(time.time()) - 3600}, "AuthFailure.SignatureExpire", None),
        (
            {"credential": Credential("AKIDnobody000000000000000000000000000", "x" * 32)},
            "AuthFailure.SecretIdNotFound",
            None,
        ),
        (
            {"credential": Credential("AKIDfaceidEmulatorDemoPermanent00001", "x" * 32)},
            "AuthFailure.SignatureFailure",
            None,
        ),
        (
            {
                "credential": Credential(
                    "AKIDfaceidEmulatorDemoTemporary00002", "faceidEmulatorDemoSecretKey00002"
                )
            },
            "AuthFailure.TokenFailure",
            None,
        ),
        (
            {
                "credential": Credential(
                    "AKIDfaceidEmulatorDemoTemporary00002",
                    "faceidEmulatorDemoSecretKey00002",
                    "bad",
                )
            },
            "AuthFailure.TokenFailure",
            None,
        ),
        ({"drop": ("Nonce",)}, "MissingParameter", "Nonce"),
        ({"drop": ("Timestamp",)}, "MissingParameter", "Timestamp"),
        ({"drop": ("SecretId",)}, "MissingParameter", "SecretId"),
        ({"drop": ("Action",)}, "MissingParameter", "Action"),
        ({"drop": ("Version",)}, "MissingParameter", "Version"),
        ({"drop": ("Region",)}, "MissingParameter", "Region"),
        ({"Nonce": "x1"}, "InvalidParameter", "Nonce"),
        ({"Language": "fr-FR"}, "InvalidParameterValue", "Language"),
        ({"Region": "ap-guangzhou"}, "UnsupportedRegion", None),
        ({"Extra": "1"}, "UnknownParameter", "Extra"),
    ],
)
def test_v1_errors_as_tc3(
    emulator: Emulator, kwargs: dict[str, Any], code: str, named: str | None
) -> None:
    resp = send(emulator, v1_params(emulator, "CreateUploadUrl", TARGET, **kwargs))
    assert resp["Error"]["Code"] == code, resp
    if named:
        assert f"`{named}`" in resp["Error"]["Message"]


def test_v1_temporary_key_with_its_token(emulator: Emulator) -> None:
    form = v1_params(emulator, "CreateUploadUrl", TARGET, credential=emulator.session_credential)
    assert "UploadUrl" in send(emulator, form)


def test_v1_unknown_signature_method(emulator: Emulator) -> None:
    form = v1_params(emulator, "CreateUploadUrl", TARGET)
    form["SignatureMethod"] = "HmacMD5"
    resp = send(emulator, form)
    assert resp["Error"]["Code"] == "InvalidParameterValue"
    assert "`SignatureMethod`" in resp["Error"]["Message"]


def test_v1_missing_signature(emulator: Emulator) -> None:
    form = v1_params(emulator, "CreateUploadUrl", TARGET)
    del form["Signature"]
    resp = send(emulator, form)
    assert resp["Error"]["Code"] == "MissingParameter" and "`Signature`" in resp["Error"]["Message"]


def test_v1_values_are_strings_so_a_number_is_fine(emulator: Emulator) -> None:
    """Form encoding has no types: ``SecurityLevel=4`` is the string "4" (unlike TC3's JSON)."""
    params = {"DeviceDataUrl": "http://x/y", "DeviceDataMd5": "0" * 32, "SecurityLevel": "4"}
    resp = send(emulator, v1_params(emulator, "GenerateReflectSequence", params))
    assert resp["Error"]["Code"] == "FailedOperation.DownLoadError"
