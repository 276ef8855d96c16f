import hashlib
import os
import signal
import threading

import pytest

from faceid_tools.campaign.device import (
    UPLOAD_ATTEMPTS,
    DeviceRef,
    given,
    synthetic_package,
    upload,
)
from faceid_tools.campaign.interrupt import StopControl, sigint_stops
from faceid_tools.client.results import DeviceData
from faceid_tools.errors import api_error

MD5 = "0123456789abcdef0123456789ABCDEF"


def test_given_device_data_per_region() -> None:
    class Uploaded:
        url = "https://b-1.cos.ap-hongkong.myqcloud.com/k?q-signature=abc"
        md5 = MD5

    refs = given(
        {
            "ap-bangkok": ("https://b-1.cos.ap-bangkok.myqcloud.com/k", MD5),
            "ap-hongkong": Uploaded(),
        },
        ("ap-bangkok", "ap-hongkong"),
    )
    assert refs["ap-bangkok"] == DeviceRef("https://b-1.cos.ap-bangkok.myqcloud.com/k", MD5.lower())
    assert "q-signature" not in repr(refs["ap-hongkong"])


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({}, "no entry for region"),
        ({"ap-bangkok": "just a url"}, r"\(url, md5\)"),
        ({"ap-bangkok": ("ftp://x/y", MD5)}, "http"),
        ({"ap-bangkok": ("https://x/y", "nothex")}, "32 hex"),
        ({"ap-bangkok": ("https://b.cos.ap-singapore.myqcloud.com/k", MD5)}, "request's region"),
    ],
)
def test_given_device_data_is_checked(data: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        given(data, ("ap-bangkok",))


def test_synthetic_packages_differ_and_name_their_region() -> None:
    a, b = synthetic_package("ap-bangkok"), synthetic_package("ap-bangkok")
    assert len(a) == 4096 and a != b and b"region=ap-bangkok" in a


def test_first_press_stops_second_abandons_third_raises() -> None:
    c = StopControl()
    assert not c.stopped
    c.press()
    assert c.stopped and not c.abandon.is_set()
    c.press()
    assert c.abandon.is_set()
    with pytest.raises(KeyboardInterrupt):
        c.press()


def test_an_external_event_is_the_stop() -> None:
    ev = threading.Event()
    c = StopControl(ev)
    ev.set()
    assert c.stopped


def test_sigint_goes_to_the_control_and_the_old_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    c = StopControl()
    with sigint_stops(c) as installed:
        assert installed
        os.kill(os.getpid(), signal.SIGINT)
        assert c.stop.wait(5)
    assert signal.getsignal(signal.SIGINT) is before


def test_no_handler_outside_the_main_thread() -> None:
    seen: list[bool] = []

    def body() -> None:
        with sigint_stops(StopControl()) as installed:
            seen.append(installed)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert seen == [False]


class ScriptedUploader:
    """Answers upload_device_data from a script: an exception to raise, or None to succeed."""

    def __init__(self, script: list[Exception | None], md5_ok: bool = True) -> None:
        self.script = script
        self.md5_ok = md5_ok
        self.call_ids: list[str] = []

    def upload_device_data(self, data: bytes, *, campaign_id: str, call_id: str) -> DeviceData:
        self.call_ids.append(call_id)
        step = self.script.pop(0)
        if step is not None:
            raise step
        md5 = hashlib.md5(data).hexdigest() if self.md5_ok else "0" * 32
        return DeviceData(
            url=f"https://b.cos.x.myqcloud.com/{campaign_id}", md5=md5, request_id="r"
        )


def test_upload_retries_what_is_worth_retrying_and_skips_a_region_that_fails() -> None:
    flaky = ScriptedUploader([api_error("InternalError", "boom", "r1"), None])
    denied = ScriptedUploader([api_error("AuthFailure.SignatureFailure", "no", "r2")])
    broken = ScriptedUploader([None], md5_ok=False)
    refs, failures = upload(
        {"ap-bangkok": flaky, "ap-hongkong": denied, "ap-singapore": broken}, "c9", 2
    )
    assert set(refs) == {"ap-bangkok"}
    assert flaky.call_ids == ["c9-upload-2-ap-bangkok-1", "c9-upload-2-ap-bangkok-2"]
    assert denied.call_ids == ["c9-upload-2-ap-hongkong-1"]  # not retried
    assert "SignatureFailure" in failures["ap-hongkong"] and "MD5" in failures["ap-singapore"]


def test_upload_gives_up_after_three_attempts() -> None:
    always = ScriptedUploader([api_error("ServiceUnavailable", "busy", None)] * 3)
    refs, failures = upload({"ap-bangkok": always}, "c1", 1)
    assert refs == {} and len(always.call_ids) == UPLOAD_ATTEMPTS == 3
    assert "ServiceUnavailable" in failures["ap-bangkok"]
