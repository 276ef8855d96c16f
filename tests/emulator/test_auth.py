"""TC3-HMAC-SHA256 verification: every signed part, the timestamp window, SecretIds and tokens."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
import requests

from faceid_tools.client import signing
from faceid_tools.client.credentials import Credential
from faceid_tools.emulator.server import Emulator

from ._api import call, error_code, host_of, response_of, signed_headers

BODY = json.dumps({"TargetAction": "GenerateReflectSequence"}).encode()


def post(emu: Emulator, headers: dict[str, str], body: bytes = BODY) -> requests.Response:
    return requests.post(f"{emu.endpoint}/", data=body, headers=headers, timeout=10)


def test_correct_signature_is_accepted(emulator: Emulator) -> None:
    assert (
        error_code(post(emulator, signed_headers(emulator, "CreateUploadUrl", body=BODY))) is None
    )


def test_tampered_body(emulator: Emulator) -> None:
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY)
    tampered = BODY.replace(b"Generate", b"generate")
    assert error_code(post(emulator, headers, tampered)) == "AuthFailure.SignatureFailure"


def test_tampered_host(emulator: Emulator) -> None:
    headers = signed_headers(
        emulator, "CreateUploadUrl", body=BODY, host="faceid.tencentcloudapi.com"
    )
    headers["Host"] = host_of(emulator)  # signed for another host, sent to ours
    assert error_code(post(emulator, headers)) == "AuthFailure.SignatureFailure"


def test_host_is_taken_exactly_as_received(emulator: Emulator) -> None:
    other = f"localhost:{emulator.port}"
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY, host=other)
    assert error_code(post(emulator, headers)) is None  # signed and sent as localhost:<port>


def test_tampered_content_type(emulator: Emulator) -> None:
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY)
    headers["Content-Type"] = "application/json; charset=utf-8"
    assert error_code(post(emulator, headers)) == "AuthFailure.SignatureFailure"


def test_tampered_timestamp(emulator: Emulator) -> None:
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY)
    headers["X-TC-Timestamp"] = str(int(headers["X-TC-Timestamp"]) - 1)
    assert error_code(post(emulator, headers)) == "AuthFailure.SignatureFailure"


def test_wrong_secret_key(emulator: Emulator) -> None:
    wrong = Credential(emulator.credential.secret_id, "not-the-key-000000000000000000000")
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY, credential=wrong)
    resp = response_of(post(emulator, headers))
    assert resp["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert emulator.credential.secret_key not in json.dumps(resp)


def test_tampered_query_on_get(emulator: Emulator) -> None:
    query = "TargetAction=GenerateReflectSequence"
    headers = signed_headers(emulator, "CreateUploadUrl", query=query, method="GET")
    answer = requests.get(
        f"{emulator.endpoint}/?TargetAction=GenerateReflectSequencE", headers=headers, timeout=10
    )
    assert error_code(answer) == "AuthFailure.SignatureFailure"


def test_tampered_action_header_is_not_signed_but_checked(emulator: Emulator) -> None:
    # X-TC-Action is not a signed header in TC3 (content-type;host): it is routed, not verified.
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY)
    headers["X-TC-Action"] = "GenerateReflectSequence"
    assert error_code(post(emulator, headers)) == "UnknownParameter"


@pytest.mark.parametrize(("offset", "ok"), [(-299, True), (299, True), (-310, False), (310, False)])
def test_timestamp_window(emulator: Emulator, offset: int, ok: bool) -> None:
    headers = signed_headers(
        emulator, "CreateUploadUrl", body=BODY, timestamp=int(time.time()) + offset
    )
    code = error_code(post(emulator, headers))
    assert code == (None if ok else "AuthFailure.SignatureExpire")


def test_signature_expire_message(emulator: Emulator) -> None:
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY, timestamp=1_500_000_000)
    resp = response_of(post(emulator, headers))
    assert resp["Error"]["Code"] == "AuthFailure.SignatureExpire"
    assert "1500000000" in resp["Error"]["Message"]


def test_unknown_secret_id(emulator: Emulator) -> None:
    stranger = Credential("AKIDstranger00000000000000000000000", "k" * 32)
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY, credential=stranger)
    resp = response_of(post(emulator, headers))
    assert resp["Error"] == {
        "Code": "AuthFailure.SecretIdNotFound",
        "Message": "The SecretId is not found, please ensure that your SecretId is correct.",
    }


def test_session_credential_with_token(emulator: Emulator) -> None:
    assert emulator.session_credential is not None
    answer = call(
        emulator,
        "CreateUploadUrl",
        {"TargetAction": "GenerateReflectSequence"},
        credential=emulator.session_credential,
    )
    assert error_code(answer) is None


def test_session_credential_without_token(emulator: Emulator) -> None:
    temp = emulator.session_credential
    assert temp is not None
    no_token = Credential(temp.secret_id, temp.secret_key)
    answer = call(
        emulator,
        "CreateUploadUrl",
        {"TargetAction": "GenerateReflectSequence"},
        credential=no_token,
    )
    assert error_code(answer) == "AuthFailure.TokenFailure"


def test_session_credential_with_wrong_token(emulator: Emulator) -> None:
    temp = emulator.session_credential
    assert temp is not None
    wrong = Credential(temp.secret_id, temp.secret_key, "forged-token")
    resp = response_of(
        call(
            emulator,
            "CreateUploadUrl",
            {"TargetAction": "GenerateReflectSequence"},
            credential=wrong,
        )
    )
    assert resp["Error"]["Code"] == "AuthFailure.TokenFailure"
    assert "forged-token" not in resp["Error"]["Message"]
    assert temp.token is not None and temp.token not in resp["Error"]["Message"]


def test_permanent_key_with_a_token(emulator: Emulator) -> None:
    cred = emulator.credential
    with_token = Credential(cred.secret_id, cred.secret_key, "some-token")
    answer = call(
        emulator,
        "CreateUploadUrl",
        {"TargetAction": "GenerateReflectSequence"},
        credential=with_token,
    )
    assert error_code(answer) == "AuthFailure.TokenFailure"


def test_custom_credentials(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    mine = Credential("AKIDmine000000000000000000000000000", "mykey" * 6)
    emu = emulator_factory(credentials=[mine])
    assert emu.credential == mine and emu.session_credential is None
    assert (
        error_code(call(emu, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"}))
        is None
    )
    demo = Credential("AKIDfaceidEmulatorDemoPermanent00001", "faceidEmulatorDemoSecretKey00001")
    answer = call(
        emu, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"}, credential=demo
    )
    assert error_code(answer) == "AuthFailure.SecretIdNotFound"


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer abc",
        "TC3-HMAC-SHA1 Credential=AKID/2020-01-01/faceid/tc3_request, SignedHeaders=content-type;host, Signature="
        + "0" * 64,
        "TC3-HMAC-SHA256 Credential=AKID/2020-01-01/cvm/tc3_request, SignedHeaders=content-type;host, Signature="
        + "0" * 64,
        "TC3-HMAC-SHA256 Credential=AKID/20200101/faceid/tc3_request, SignedHeaders=content-type;host, Signature="
        + "0" * 64,
        "TC3-HMAC-SHA256 Credential=AKID/2020-01-01/faceid, SignedHeaders=content-type;host, Signature="
        + "0" * 64,
        "TC3-HMAC-SHA256 Credential=AKID/2020-01-01/faceid/tc3_request, SignedHeaders=host, Signature="
        + "0" * 64,
        "TC3-HMAC-SHA256 Credential=AKID/2020-01-01/faceid/tc3_request, SignedHeaders=host;content-type, Signature="
        + "0" * 64,
        "TC3-HMAC-SHA256 Credential=AKID/2020-01-01/faceid/tc3_request, SignedHeaders=content-type;host, Signature=xyz",
    ],
)
def test_malformed_authorization(emulator: Emulator, authorization: str) -> None:
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY)
    headers["Authorization"] = authorization
    resp = response_of(post(emulator, headers))
    assert resp["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    assert "Authorization" in resp["Error"]["Message"]


def test_missing_authorization_and_timestamp(emulator: Emulator) -> None:
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY)
    del headers["Authorization"]
    assert error_code(post(emulator, headers)) == "MissingParameter"
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY)
    del headers["X-TC-Timestamp"]
    assert error_code(post(emulator, headers)) == "MissingParameter"
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY)
    headers["X-TC-Timestamp"] = "soon"
    assert error_code(post(emulator, headers)) == "InvalidParameterValue"


def test_credential_date_must_be_the_timestamps_utc_date(emulator: Emulator) -> None:
    headers = signed_headers(emulator, "CreateUploadUrl", body=BODY)
    date = signing.utc_date(int(headers["X-TC-Timestamp"]))
    headers["Authorization"] = headers["Authorization"].replace(date, "2001-01-01")
    assert error_code(post(emulator, headers)) == "AuthFailure.SignatureFailure"


def _sign_manually(
    emu: Emulator, *, signed: list[str], extra: dict[str, str], payload_hash: str, body: bytes
) -> dict[str, str]:
    cred = emu.credential
    ts = int(time.time())
    headers = {
        "Host": host_of(emu),
        "Content-Type": "application/json",
        "X-TC-Action": "CreateUploadUrl",
        "X-TC-Version": "2018-03-01",
        "X-TC-Region": "ap-singapore",
        "X-TC-Timestamp": str(ts),
        **extra,
    }
    lower = {k.lower(): v for k, v in headers.items()}
    canonical_headers = "".join(f"{n}:{lower[n]}\n" for n in signed)
    canonical = f"POST\n/\n\n{canonical_headers}\n{';'.join(signed)}\n{payload_hash}"
    date = signing.utc_date(ts)
    to_sign = signing.string_to_sign(canonical, timestamp=ts, service="faceid")
    sig = signing.signature(cred.secret_key, to_sign, date=date, service="faceid")
    headers["Authorization"] = (
        f"TC3-HMAC-SHA256 Credential={cred.secret_id}/{date}/faceid/tc3_request, "
        f"SignedHeaders={';'.join(signed)}, Signature={sig}"
    )
    return headers


def test_more_signed_headers_are_verified(emulator: Emulator) -> None:
    signed = ["content-type", "host", "x-tc-action"]
    headers = _sign_manually(
        emulator, signed=signed, extra={}, payload_hash=hashlib.sha256(BODY).hexdigest(), body=BODY
    )
    assert error_code(post(emulator, headers)) is None
    headers["X-TC-Action"] = "GenerateReflectSequence"  # now a signed header: tampering shows
    assert error_code(post(emulator, headers)) == "AuthFailure.SignatureFailure"


def test_unsigned_payload(emulator: Emulator) -> None:
    unsigned = hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()
    headers = _sign_manually(
        emulator,
        signed=["content-type", "host"],
        extra={"X-TC-Content-SHA256": "UNSIGNED-PAYLOAD"},
        payload_hash=unsigned,
        body=BODY,
    )
    assert error_code(post(emulator, headers)) is None
