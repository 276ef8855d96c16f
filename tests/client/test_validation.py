"""Every argument is checked before any I/O: a typed ValueError naming the field and the rule,
and no request leaves the client (the fault server counts what it receives)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from faceid_tools.calllog.store import CallLog
from faceid_tools.client import COS_REGION_RULE, FaceIDClient
from faceid_tools.client.regions import DEFAULT_ENDPOINT
from faceid_tools.errors import ValidationError
from tests.client.conftest import MD5, SG_URL
from tests.fixtures.servers import FIXTURE_CREDENTIAL, FaultServer

PRESIGNED_BK = (
    "https://faceid-demo-1250000000.cos.ap-bangkok.myqcloud.com/device/data.bin"
    "?q-sign-algorithm=sha1&q-ak=AKIDleakme&q-signature=deadbeefcafe0123"
)

# (kwargs for generate_reflect_sequence, field named, words of the rule)
BAD_CALLS: list[tuple[dict[str, Any], str, str]] = [
    ({"device_data_md5": "abc"}, "DeviceDataMd5", "32 hexadecimal"),
    ({"device_data_md5": "g" * 32}, "DeviceDataMd5", "32 hexadecimal"),
    ({"device_data_md5": "0" * 33}, "DeviceDataMd5", "32 hexadecimal"),
    ({"device_data_md5": 123}, "DeviceDataMd5", "32 hexadecimal"),
    ({"security_level": 0}, "SecurityLevel", "1, 2, 3 or 4"),
    ({"security_level": 5}, "SecurityLevel", "1, 2, 3 or 4"),
    ({"security_level": "5"}, "SecurityLevel", "1, 2, 3 or 4"),
    ({"security_level": "04"}, "SecurityLevel", "1, 2, 3 or 4"),
    ({"security_level": True}, "SecurityLevel", "1, 2, 3 or 4"),
    ({"security_level": 4.0}, "SecurityLevel", "1, 2, 3 or 4"),
    ({"device_data_url": "cos/relative/path"}, "DeviceDataUrl", "absolute https://"),
    ({"device_data_url": "ftp://example.com/x"}, "DeviceDataUrl", "absolute https://"),
    ({"device_data_url": "https:///no-host"}, "DeviceDataUrl", "absolute https://"),
    (
        {"device_data_url": "http://example.com/x"},
        "DeviceDataUrl",
        "http:// is accepted only on loopback",
    ),
    ({"device_data_url": "https://exa mple.com/x"}, "DeviceDataUrl", "whitespace"),
    ({"device_data_url": ""}, "DeviceDataUrl", "non-empty"),
    ({"device_data_url": None}, "DeviceDataUrl", "non-empty"),
    ({"device_data_url": PRESIGNED_BK}, "DeviceDataUrl", COS_REGION_RULE),
    ({"campaign_id": 7}, "campaign_id", "non-empty string"),
    ({"call_id": ""}, "call_id", "non-empty string"),
]


@pytest.mark.parametrize(("kwargs", "field", "rule"), BAD_CALLS)
def test_bad_arguments_are_refused_before_any_request(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    call_log: CallLog,
    kwargs: dict[str, Any],
    field: str,
    rule: str,
) -> None:
    client = make_client()
    args = {"device_data_url": SG_URL, "device_data_md5": MD5, **kwargs}
    with pytest.raises(ValidationError) as info:
        client.generate_reflect_sequence(**args)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.field == field
    assert rule in str(err)
    assert str(err).startswith(f"[ClientValidation] {field}: ")
    assert fault_server.count == 0
    assert call_log.count() == 0
    # never the presigned query
    assert "AKIDleakme" not in str(err) and "deadbeefcafe" not in repr(err)


def test_cross_region_refusal_names_both_regions_and_quotes_the_rule(
    make_client: Callable[..., FaceIDClient],
) -> None:
    with pytest.raises(ValidationError) as info:
        make_client().generate_reflect_sequence(PRESIGNED_BK, MD5)
    message = str(info.value)
    assert "ap-bangkok" in message and "ap-singapore" in message
    assert COS_REGION_RULE in message
    assert "allow_cross_region" in message


def test_cross_region_opt_out_sends_it(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer
) -> None:
    seq = make_client(allow_cross_region=True).generate_reflect_sequence(PRESIGNED_BK, MD5)
    assert seq.md5
    assert fault_server.count == 1
    assert fault_server.requests[0].json()["DeviceDataUrl"] == PRESIGNED_BK


def test_md5_is_lower_cased_and_level_sent_as_a_string(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer
) -> None:
    client = make_client()
    client.generate_reflect_sequence(SG_URL, MD5.upper(), security_level=2)
    client.generate_reflect_sequence(SG_URL, MD5, security_level="3")
    client.generate_reflect_sequence(SG_URL, MD5)
    bodies = [r.json() for r in fault_server.requests]
    assert [b["DeviceDataMd5"] for b in bodies] == [MD5] * 3
    assert [b["SecurityLevel"] for b in bodies] == ["2", "3", "4"]


def test_loopback_http_and_non_cos_https_urls_are_accepted(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer
) -> None:
    client = make_client()
    client.generate_reflect_sequence("http://127.0.0.1:9/device", MD5)
    client.generate_reflect_sequence("https://example.com/some/device/data", MD5)
    assert fault_server.count == 2


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        (
            {"region": "ap-guangzhou"},
            "region",
            "must be one of ap-bangkok, ap-hongkong, ap-singapore",
        ),
        ({"region": "AP-SINGAPORE"}, "region", "must be one of"),
        (
            {"endpoint": "http://faceid.example.com"},
            "endpoint",
            "http:// is accepted only on loopback",
        ),
        ({"endpoint": "ftp://127.0.0.1"}, "endpoint", "absolute https://"),
        ({"endpoint": "https://faceid.example.com/api"}, "endpoint", "no path or query"),
        ({"timeout": 0}, "timeout", "positive"),
        ({"retries": -1}, "retries", ">= 0"),
        ({"rate_limit": 0}, "rate_limit", "positive"),
        ({"log": 42}, "log", "CallLog"),
    ],
)
def test_bad_construction_is_refused(kwargs: dict[str, Any], field: str, rule: str) -> None:
    args: dict[str, Any] = {
        "region": "ap-singapore",
        "credential": FIXTURE_CREDENTIAL,
        "log": False,
    }
    args.update(kwargs)
    with pytest.raises(ValidationError) as info:
        FaceIDClient(args.pop("region"), **args)
    assert info.value.field == field
    assert rule in str(info.value)


def test_endpoints() -> None:
    def make(endpoint: str | None) -> FaceIDClient:
        return FaceIDClient(
            "ap-hongkong", endpoint=endpoint, credential=FIXTURE_CREDENTIAL, log=False
        )

    assert make(None).endpoint == DEFAULT_ENDPOINT + "/"
    regional = make("regional")
    assert regional.endpoint == "https://faceid.ap-hongkong.tencentcloudapi.com/"
    assert regional.host == "faceid.ap-hongkong.tencentcloudapi.com"
    given = make("http://127.0.0.1:8080")
    assert (given.endpoint, given.host) == ("http://127.0.0.1:8080/", "127.0.0.1:8080")


@pytest.mark.parametrize(
    ("method", "args", "field"),
    [
        ("create_upload_url", ("generate reflect",), "TargetAction"),
        ("upload_device_data", ("not bytes",), "data"),
        ("download_sequence", ("http://example.com/seq",), "ReflectSequenceUrl"),
        ("download_sequence", (SG_URL, "nothex"), "md5"),
    ],
)
def test_other_operations_validate_too(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    method: str,
    args: tuple[Any, ...],
    field: str,
) -> None:
    with pytest.raises(ValidationError) as info:
        getattr(make_client(), method)(*args)
    assert info.value.field == field
    assert fault_server.count == 0
