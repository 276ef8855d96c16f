"""API 3.0 at / : the envelope, the common headers, regions, sizes and the action's parameters."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from faceid_tools.emulator.server import Emulator
from faceid_tools.seqformat import decode

from ._api import call, error_code, generate, response_of, signed_headers, upload


def test_success_post_full_round_trip(emulator: Emulator) -> None:
    device = upload(emulator, b"sdk device data")
    resp = response_of(generate(emulator, device, "4"))
    assert set(resp) == {"ReflectSequenceUrl", "ReflectSequenceMd5", "RequestId"}
    blob = requests.get(resp["ReflectSequenceUrl"], timeout=10).content
    assert hashlib.md5(blob).hexdigest() == resp["ReflectSequenceMd5"]
    assert decode(blob).security_level == 4


def test_success_get_signs_the_query_as_sent(emulator: Emulator) -> None:
    device = upload(emulator)
    params = {"DeviceDataUrl": device.url, "DeviceDataMd5": device.md5, "SecurityLevel": "2"}
    resp = response_of(call(emulator, "GenerateReflectSequence", params, method="GET"))
    assert "Error" not in resp, resp
    blob = requests.get(resp["ReflectSequenceUrl"], timeout=10).content
    assert decode(blob).security_level == 2


def test_create_upload_url_fields(emulator: Emulator) -> None:
    resp = response_of(
        call(emulator, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"})
    )
    # both presigned, for PUT and for GET, on the same object (as tccli's example shows)
    upload, _, put_query = resp["UploadUrl"].partition("?")
    resource, _, get_query = resp["ResourceUrl"].partition("?")
    assert upload == resource
    assert put_query.startswith("q-sign-algorithm=sha1&q-ak=")
    assert get_query.startswith("q-sign-algorithm=sha1&q-ak=") and get_query != put_query
    assert "/cos/faceid-emulator-sg-1250000000.cos.ap-singapore.myqcloud.com/" in resource
    # the key ends with the call's RequestId, as in tccli's example
    assert resource.endswith("%2F" + resp["RequestId"])
    assert isinstance(resp["ExpiredTimestamp"], int) and len(str(resp["ExpiredTimestamp"])) == 10


def test_security_level_defaults_to_4(emulator: Emulator) -> None:
    device = upload(emulator)
    params = {"DeviceDataUrl": device.url, "DeviceDataMd5": device.md5}
    resp = response_of(call(emulator, "GenerateReflectSequence", params))
    assert decode(requests.get(resp["ReflectSequenceUrl"], timeout=10).content).security_level == 4


def test_every_answer_is_http_200_json_with_uuid(emulator: Emulator) -> None:
    for answer in (
        requests.post(f"{emulator.endpoint}/", data=b"junk", timeout=10),
        requests.get(f"{emulator.endpoint}/", timeout=10),
        requests.get(f"{emulator.endpoint}/nowhere", timeout=10),
        requests.delete(f"{emulator.endpoint}/", timeout=10),
    ):
        resp = response_of(answer)
        assert resp["Error"]["Code"] and resp["Error"]["Message"]


def test_request_ids_are_unique(emulator: Emulator) -> None:
    ids = {
        response_of(requests.get(f"{emulator.endpoint}/", timeout=10))["RequestId"]
        for _ in range(5)
    }
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("headers", "code", "named"),
    [
        ({"X-TC-Action": ""}, "MissingParameter", "X-TC-Action"),
        ({"X-TC-Action": "DescribeInstances"}, "InvalidAction", "DescribeInstances"),
        ({"X-TC-Version": ""}, "MissingParameter", "X-TC-Version"),
        ({"X-TC-Version": "2017-03-12"}, "NoSuchVersion", "2017-03-12"),
        ({"X-TC-Language": "fr-FR"}, "InvalidParameterValue", "X-TC-Language"),
    ],
)
def test_common_header_checks(
    emulator: Emulator, headers: dict[str, str], code: str, named: str
) -> None:
    answer = call(
        emulator, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"}, headers=headers
    )
    resp = response_of(answer)
    assert resp["Error"]["Code"] == code
    assert named in resp["Error"]["Message"]


def test_language_en_us_and_zh_cn_are_accepted(emulator: Emulator) -> None:
    for lang in ("en-US", "zh-CN"):
        answer = call(
            emulator,
            "CreateUploadUrl",
            {"TargetAction": "GenerateReflectSequence"},
            headers={"X-TC-Language": lang},
        )
        assert error_code(answer) is None


@pytest.mark.parametrize(
    ("region", "code"),
    [
        ("ap-guangzhou", "UnsupportedRegion"),
        ("na-ashburn", "UnsupportedRegion"),
        ("ap-nowhere", "InvalidParameterValue"),
        ("SINGAPORE", "InvalidParameterValue"),
        ("ap-singapore ", "InvalidParameterValue"),
    ],
)
def test_regions(emulator: Emulator, region: str, code: str) -> None:
    resp = response_of(
        call(
            emulator, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"}, region=region
        )
    )
    assert resp["Error"]["Code"] == code
    if code == "UnsupportedRegion":
        assert resp["Error"]["Message"] == "The action not support this region."
    else:
        assert "X-TC-Region" in resp["Error"]["Message"]


def test_missing_region(emulator: Emulator) -> None:
    resp = response_of(
        call(emulator, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"}, region=None)
    )
    assert resp["Error"] == {
        "Code": "MissingParameter",
        "Message": "The request is missing a required parameter `X-TC-Region`.",
    }


@pytest.mark.parametrize("region", ["ap-bangkok", "ap-hongkong", "ap-singapore"])
def test_each_supported_region_has_its_bucket(emulator: Emulator, region: str) -> None:
    device = upload(emulator, region=region)
    assert f".cos.{region}.myqcloud.com/" in device.url
    resp = response_of(generate(emulator, device, region=region))
    assert "Error" not in resp
    assert f".cos.{region}.myqcloud.com/" in resp["ReflectSequenceUrl"]


@pytest.mark.parametrize(
    ("params", "code", "named"),
    [
        ({"DeviceDataMd5": "0" * 32}, "MissingParameter", "DeviceDataUrl"),
        ({"DeviceDataUrl": "http://x/y"}, "MissingParameter", "DeviceDataMd5"),
        ({"DeviceDataUrl": None, "DeviceDataMd5": "0" * 32}, "MissingParameter", "DeviceDataUrl"),
        (
            {"DeviceDataUrl": "http://x/y", "DeviceDataMd5": "0" * 32, "Extra": 1},
            "UnknownParameter",
            "Extra",
        ),
        # a wrong type is InvalidParameter, as the service answers it
        ({"DeviceDataUrl": 5, "DeviceDataMd5": "0" * 32}, "InvalidParameter", "DeviceDataUrl"),
        (
            {"DeviceDataUrl": "http://x/y", "DeviceDataMd5": ["a"]},
            "InvalidParameter",
            "DeviceDataMd5",
        ),
        (
            {"DeviceDataUrl": "http://x/y", "DeviceDataMd5": "0" * 32, "SecurityLevel": 4},
            "InvalidParameter",
            "SecurityLevel",
        ),
        (
            {"DeviceDataUrl": "http://x/y", "DeviceDataMd5": "0" * 32, "SecurityLevel": "5"},
            "InvalidParameterValue",
            "SecurityLevel",
        ),
        (
            {"DeviceDataUrl": "http://x/y", "DeviceDataMd5": "0" * 32, "SecurityLevel": ""},
            "InvalidParameterValue",
            "SecurityLevel",
        ),
        (
            {"DeviceDataUrl": "not a url", "DeviceDataMd5": "0" * 32},
            "InvalidParameter",
            "DeviceDataUrl",
        ),
        (
            {"DeviceDataUrl": "ftp://x/y", "DeviceDataMd5": "0" * 32},
            "InvalidParameter",
            "DeviceDataUrl",
        ),
        (
            {"DeviceDataUrl": "http://x/" + "a" * 3000, "DeviceDataMd5": "0" * 32},
            "InvalidParameter",
            "DeviceDataUrl",
        ),
        (
            {"DeviceDataUrl": "http://x/y", "DeviceDataMd5": "xyz"},
            "InvalidParameter",
            "DeviceDataMd5",
        ),
    ],
)
def test_generate_parameter_checks(
    emulator: Emulator, params: dict[str, object], code: str, named: str
) -> None:
    resp = response_of(call(emulator, "GenerateReflectSequence", params))
    assert resp["Error"]["Code"] == code
    assert f"`{named}`" in resp["Error"]["Message"]


def test_parameter_errors_do_not_draw_or_sleep(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory(time_scale=1000.0)  # a drawn latency would sleep for minutes
    resp = response_of(
        call(emu, "GenerateReflectSequence", {"DeviceDataUrl": "x", "DeviceDataMd5": "0" * 32})
    )
    assert resp["Error"]["Code"] == "InvalidParameter"
    assert emu.stats()["sequences"]["issued"] == 0


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("GenerateReflectSequence", None),
        ("ApplyWebVerificationToken", None),  # tccli's own example
        ("DetectReflectLivenessAndCompare", None),
        ("LivenessCompare", None),
        ("DescribeInstances", "InvalidParameterValue"),
        ("CreateUploadUrl", "InvalidParameterValue"),
    ],
)
def test_create_upload_url_target(emulator: Emulator, target: str, code: str | None) -> None:
    assert error_code(call(emulator, "CreateUploadUrl", {"TargetAction": target})) == code


def test_create_upload_url_needs_target(emulator: Emulator) -> None:
    resp = response_of(call(emulator, "CreateUploadUrl", {}))
    assert resp["Error"]["Code"] == "MissingParameter"
    assert "`TargetAction`" in resp["Error"]["Message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "InvalidParameter"),
        (b"[1, 2]", "InvalidParameter"),
        (b"\xff\xfe\x00", "InvalidParameter"),
        (b'{"TargetAction": "GenerateReflectSequence", "TargetAction": "x"}', "InvalidParameter"),
        (b"[" * 100000 + b"]" * 100000, "InvalidParameter"),
        (b'{"TargetAction": ' + b"9" * 10000 + b"}", "InvalidParameter"),
    ],
)
def test_malformed_bodies(emulator: Emulator, body: bytes, code: str) -> None:
    assert error_code(call(emulator, "CreateUploadUrl", raw_body=body)) == code


def test_post_content_type_must_be_json(emulator: Emulator) -> None:
    answer = call(
        emulator,
        "CreateUploadUrl",
        {"TargetAction": "GenerateReflectSequence"},
        content_type="text/plain",
    )
    resp = response_of(answer)
    assert resp["Error"]["Code"] == "InvalidParameter"
    assert "Content-Type" in resp["Error"]["Message"]


def test_json_with_charset_is_accepted_when_signed(emulator: Emulator) -> None:
    answer = call(
        emulator,
        "CreateUploadUrl",
        {"TargetAction": "GenerateReflectSequence"},
        content_type="application/json; charset=utf-8",
    )
    assert error_code(answer) is None


def test_body_over_10_mb(emulator: Emulator) -> None:
    body = b'{"TargetAction": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    resp = response_of(call(emulator, "CreateUploadUrl", raw_body=body))
    assert resp["Error"]["Code"] == "RequestSizeLimitExceeded"


def test_body_just_under_10_mb_is_read(emulator: Emulator) -> None:
    body = json.dumps({"TargetAction": "x" * (10 * 1024 * 1024 - 100)}).encode()
    resp = response_of(call(emulator, "CreateUploadUrl", raw_body=body))
    assert resp["Error"]["Code"] == "InvalidParameterValue"


def test_get_query_over_32_kb(emulator: Emulator) -> None:
    params = {"DeviceDataUrl": "http://x/" + "a" * 40000, "DeviceDataMd5": "0" * 32}
    resp = response_of(call(emulator, "GenerateReflectSequence", params, method="GET"))
    assert resp["Error"]["Code"] == "RequestSizeLimitExceeded"


def test_get_duplicate_query_parameter(emulator: Emulator) -> None:
    query = "TargetAction=GenerateReflectSequence&TargetAction=GenerateReflectSequence"
    headers = signed_headers(emulator, "CreateUploadUrl", query=query, method="GET")
    answer = requests.get(f"{emulator.endpoint}/?{query}", headers=headers, timeout=10)
    assert error_code(answer) == "InvalidParameter"


def test_repeated_protocol_header(emulator: Emulator) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    body = b'{"TargetAction": "GenerateReflectSequence"}'
    headers = signed_headers(emulator, "CreateUploadUrl", body=body)
    conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.putheader("X-TC-Action", "CreateUploadUrl")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    answer = conn.getresponse()
    payload = json.loads(answer.read())
    conn.close()
    assert answer.status == 200
    assert payload["Response"]["Error"]["Code"] == "InvalidParameter"
    assert "x-tc-action" in payload["Response"]["Error"]["Message"]
