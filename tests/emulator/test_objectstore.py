"""The COS stand-in: presigned PUT/GET, expiry, retention, regions, COS-style errors, device data."""

from __future__ import annotations

import base64
import hashlib
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
import requests

from faceid_tools.client.regions import cos_region_of
from faceid_tools.emulator.clock import ManualClock
from faceid_tools.emulator.objectstore import bucket_host
from faceid_tools.emulator.server import Emulator

from ._api import call, error_code, generate, response_of, upload


def cos_error(answer: requests.Response) -> tuple[int, str]:
    assert answer.headers["Content-Type"] == "application/xml"
    root = ET.fromstring(answer.content)
    assert root.tag == "Error"
    assert (
        root.findtext("Message")
        and root.findtext("RequestId")
        and root.findtext("Resource") is not None
    )
    assert answer.headers["x-cos-request-id"] == root.findtext("RequestId")
    return answer.status_code, root.findtext("Code") or ""


def test_put_then_get_through_a_sequence_url(emulator: Emulator) -> None:
    device = upload(emulator, b"payload")
    seq = response_of(generate(emulator, device))
    got = requests.get(seq["ReflectSequenceUrl"], timeout=10)
    assert got.status_code == 200
    assert got.headers["ETag"] == f'"{seq["ReflectSequenceMd5"]}"'
    assert got.headers["Content-Type"] == "application/octet-stream"


def test_urls_are_cos_shaped_and_region_tagged(emulator: Emulator) -> None:
    for region in ("ap-singapore", "ap-hongkong", "ap-bangkok"):
        device = upload(emulator, region=region)
        assert cos_region_of(device.url) == region
        assert cos_region_of(device.upload_url) == region
        assert "q-sign-time=" in device.upload_url and "q-signature=" in device.upload_url


def test_unsigned_get_is_denied(emulator: Emulator) -> None:
    device = upload(emulator)
    unsigned = device.url.partition("?")[0]  # ResourceUrl is presigned for GET; drop it
    assert cos_error(requests.get(unsigned, timeout=10)) == (403, "AccessDenied")


def test_put_url_cannot_be_used_to_get(emulator: Emulator) -> None:
    device = upload(emulator)
    assert cos_error(requests.get(device.upload_url, timeout=10)) == (403, "SignatureDoesNotMatch")


def test_tampered_signature_and_access_key(emulator: Emulator) -> None:
    resp = response_of(
        call(emulator, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"})
    )
    url = resp["UploadUrl"]
    sig = url.rsplit("q-signature=", 1)[1]
    flipped = url[: -len(sig)] + ("0" if sig[0] != "0" else "1") + sig[1:]
    assert cos_error(requests.put(flipped, data=b"x", timeout=10)) == (403, "SignatureDoesNotMatch")
    other_key = url.replace("%2F1250000000%2F", "%2F1250000001%2F")
    assert cos_error(requests.put(other_key, data=b"x", timeout=10)) == (
        403,
        "SignatureDoesNotMatch",
    )
    wrong_ak = url.replace("q-ak=AKIDcosEmulator", "q-ak=AKIDsomeoneElse")
    assert cos_error(requests.put(wrong_ak, data=b"x", timeout=10)) == (403, "InvalidAccessKeyId")
    incomplete = url.split("&q-signature=")[0]
    assert cos_error(requests.put(incomplete, data=b"x", timeout=10)) == (403, "AccessDenied")


def test_upload_link_expires(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    emu = emulator_factory(clock=clock)
    resp = response_of(call(emu, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"}))
    assert resp["ExpiredTimestamp"] == int(clock.time()) + 7200
    clock.set(resp["ExpiredTimestamp"] + 1)
    status, code = cos_error(requests.put(resp["UploadUrl"], data=b"late", timeout=10))
    assert (status, code) == (403, "AccessDenied")
    root = ET.fromstring(requests.put(resp["UploadUrl"], data=b"late", timeout=10).content)
    assert root.findtext("Message") == "Request has expired"


def test_objects_are_kept_two_hours(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    emu = emulator_factory(clock=clock)
    device = upload(emu, b"kept for two hours")
    start = clock.time()
    clock.set(start + 7199)
    assert error_code(generate(emu, device)) is None
    clock.set(start + 7200)
    assert error_code(generate(emu, device)) == "FailedOperation.DownLoadError"
    # ResourceUrl is presigned for the object's two hours: the link and the object end together
    assert emu.stats()["download_failures"] == {"expired-link": 1}
    unsigned = type(device)(device.url.partition("?")[0], device.md5, device.upload_url)
    assert error_code(generate(emu, unsigned)) == "FailedOperation.DownLoadError"
    assert emu.stats()["download_failures"] == {"expired-link": 1, "missing-or-expired": 1}
    assert emu.stats()["store"]["objects"] == 1  # the sequence issued at 7199 s


def test_retention_frees_memory(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    emu = emulator_factory(clock=clock)
    store = emu.backend.store
    for i in range(50):
        store.put("ap-singapore", f"k{i}", b"x" * 1000)
    assert store.stats()["bytes"] == 50_000
    clock.set(clock.time() + 7200)
    store.put("ap-singapore", "fresh", b"y")
    assert store.stats() == {
        "objects": 1,
        "bytes": 1,
        "ap-bangkok": 0,
        "ap-hongkong": 0,
        "ap-singapore": 1,
    }


def test_control_clock_shift_expires_objects(emulator: Emulator) -> None:
    device = upload(emulator)
    requests.post(
        f"{emulator.endpoint}/_emulator/clock", json={"advance_s": 7300}, timeout=10
    ).raise_for_status()
    assert error_code(generate(emulator, device)) == "FailedOperation.DownLoadError"


def test_missing_key_and_bucket_and_method(emulator: Emulator) -> None:
    now = int(time.time())
    store = emulator.backend.store
    url = store.presign("GET", "ap-hongkong", "faceid/none", start=now - 10, end=now + 100)
    assert cos_error(requests.get(url, timeout=10)) == (404, "NoSuchKey")
    bogus = f"{emulator.endpoint}/cos/other-bucket.cos.ap-hongkong.myqcloud.com/key"
    assert cos_error(requests.get(bogus, timeout=10)) == (404, "NoSuchBucket")
    device = upload(emulator)
    assert cos_error(requests.delete(device.upload_url, timeout=10)) == (405, "MethodNotAllowed")


def test_content_md5_is_checked(emulator: Emulator) -> None:
    resp = response_of(
        call(emulator, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"})
    )
    good = base64.b64encode(hashlib.md5(b"abc").digest()).decode()
    bad = base64.b64encode(hashlib.md5(b"abd").digest()).decode()
    assert cos_error(
        requests.put(resp["UploadUrl"], data=b"abc", headers={"Content-MD5": bad}, timeout=10)
    ) == (400, "BadDigest")
    assert cos_error(
        requests.put(resp["UploadUrl"], data=b"abc", headers={"Content-MD5": "!!"}, timeout=10)
    ) == (400, "InvalidDigest")
    ok = requests.put(resp["UploadUrl"], data=b"abc", headers={"Content-MD5": good}, timeout=10)
    assert ok.status_code == 200 and ok.headers["ETag"] == f'"{hashlib.md5(b"abc").hexdigest()}"'


def test_object_size_limit(emulator: Emulator) -> None:
    emulator.backend.store.max_object_bytes = 100
    try:
        resp = response_of(
            call(emulator, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"})
        )
        answer = requests.put(resp["UploadUrl"], data=b"x" * 101, timeout=10)
        assert cos_error(answer) == (400, "EntityTooLarge")
    finally:
        emulator.backend.store.max_object_bytes = 16 * 1024 * 1024


def test_head_needs_its_own_signature(emulator: Emulator) -> None:
    device = upload(emulator)
    seq = response_of(generate(emulator, device))
    head = requests.head(seq["ReflectSequenceUrl"], timeout=10)
    assert head.status_code == 403 and head.content == b""
    now = int(time.time())
    loc = emulator.backend.store.locate(seq["ReflectSequenceUrl"])
    assert loc is not None
    signed = emulator.backend.store.presign(
        "HEAD", loc.region, loc.key, start=now - 5, end=now + 60
    )
    head = requests.head(signed, timeout=10)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) > 0


# --- device data as GenerateReflectSequence reads it ---------------------------------------------


def test_device_data_in_another_regions_bucket(emulator: Emulator) -> None:
    device = upload(emulator, region="ap-hongkong")
    assert (
        error_code(generate(emulator, device, region="ap-singapore"))
        == "FailedOperation.DownLoadError"
    )
    assert emulator.stats()["download_failures"] == {"other-region": 1}


def test_device_data_md5_mismatch(emulator: Emulator) -> None:
    device = upload(emulator, b"abc")
    params = {"DeviceDataUrl": device.url, "DeviceDataMd5": hashlib.md5(b"abd").hexdigest()}
    resp = response_of(call(emulator, "GenerateReflectSequence", params))
    assert resp["Error"] == {
        "Code": "FailedOperation.DownLoadError",
        "Message": "File download failed.",
    }
    assert emulator.stats()["download_failures"] == {"md5-mismatch": 1}


def test_device_data_md5_is_case_insensitive(emulator: Emulator) -> None:
    device = upload(emulator, b"abc")
    params = {"DeviceDataUrl": device.url, "DeviceDataMd5": device.md5.upper()}
    assert error_code(call(emulator, "GenerateReflectSequence", params)) is None


def test_device_data_never_uploaded(emulator: Emulator) -> None:
    url = f"{emulator.endpoint}/cos/{bucket_host('ap-singapore')}/{quote('faceid/never', safe='')}"
    params = {"DeviceDataUrl": url, "DeviceDataMd5": "0" * 32}
    assert (
        error_code(call(emulator, "GenerateReflectSequence", params))
        == "FailedOperation.DownLoadError"
    )
    assert emulator.stats()["download_failures"] == {"missing-or-expired": 1}


@pytest.mark.parametrize(
    "url",
    [
        "https://faceid-resource-sg-1254418846.cos.ap-singapore.myqcloud.com/faceid%2Fx",
        "https://example.com/device.dat",
        "http://127.0.0.1:1/cos/faceid-emulator-sg-1250000000.cos.ap-singapore.myqcloud.com/k",
    ],
)
def test_device_data_not_an_emulator_object(emulator: Emulator, url: str) -> None:
    params = {"DeviceDataUrl": url, "DeviceDataMd5": "0" * 32}
    assert (
        error_code(call(emulator, "GenerateReflectSequence", params))
        == "FailedOperation.DownLoadError"
    )
    assert emulator.stats()["download_failures"] == {"not-an-emulator-object": 1}


def test_device_data_through_an_expired_link(emulator: Emulator) -> None:
    device = upload(emulator, b"abc")
    loc = emulator.backend.store.locate(device.url)
    assert loc is not None
    now = int(time.time())
    stale = emulator.backend.store.presign("GET", loc.region, loc.key, start=now - 100, end=now - 1)
    params = {"DeviceDataUrl": stale, "DeviceDataMd5": device.md5}
    assert (
        error_code(call(emulator, "GenerateReflectSequence", params))
        == "FailedOperation.DownLoadError"
    )
    fresh = emulator.backend.store.presign(
        "GET", loc.region, loc.key, start=now - 100, end=now + 100
    )
    params = {"DeviceDataUrl": fresh, "DeviceDataMd5": device.md5}
    assert error_code(call(emulator, "GenerateReflectSequence", params)) is None
    params = {"DeviceDataUrl": device.upload_url, "DeviceDataMd5": device.md5}  # signed for PUT
    assert (
        error_code(call(emulator, "GenerateReflectSequence", params))
        == "FailedOperation.DownLoadError"
    )
    assert emulator.stats()["download_failures"] == {"expired-link": 1, "bad-link": 1}


def test_device_data_by_virtual_host_url(emulator: Emulator) -> None:
    device = upload(emulator, b"abc")
    key = device.url.split(".myqcloud.com/", 1)[1]
    url = f"https://{bucket_host('ap-singapore')}/{key}"
    params = {"DeviceDataUrl": url, "DeviceDataMd5": device.md5}
    assert error_code(call(emulator, "GenerateReflectSequence", params)) is None
