import os
import signal
import threading

import pytest

from faceid_tools.campaign.device import DeviceRef, given, synthetic_package
from faceid_tools.campaign.interrupt import StopControl, sigint_stops

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
