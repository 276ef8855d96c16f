"""Quota: 5/s GenerateReflectSequence, 20/s CreateUploadUrl, per SecretId and action, any 1-s window."""

from __future__ import annotations

import re

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from faceid_tools.emulator.clock import ManualClock
from faceid_tools.emulator.models import QuotaWindows
from faceid_tools.emulator.profile import Profile
from faceid_tools.emulator.server import Emulator

from ._api import call, error_code, response_of

# passes quota, fails after it (a SecurityLevel out of its set)
BAD_PARAMS = {"DeviceDataUrl": "http://x/y", "DeviceDataMd5": "0" * 32, "SecurityLevel": "9"}


def grs(emu: Emulator, **kw: object) -> str | None:
    return error_code(call(emu, "GenerateReflectSequence", BAD_PARAMS, **kw))  # type: ignore[arg-type]


def cuu(emu: Emulator, **kw: object) -> str | None:
    return error_code(
        call(emu, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"}, **kw)
    )  # type: ignore[arg-type]


def test_five_per_second_for_generate(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory(clock=ManualClock())
    codes = [grs(emu) for _ in range(5)]
    assert codes == ["InvalidParameterValue"] * 5
    resp = response_of(call(emu, "GenerateReflectSequence", BAD_PARAMS))
    assert resp["Error"]["Code"] == "RequestLimitExceeded"
    assert re.fullmatch(
        r"Your current request times equals to `6` in a second, which exceeds the frequency "
        r"limit `5` for a second\. Please reduce the frequency of calls\.",
        resp["Error"]["Message"],
    )


def test_twenty_per_second_for_create_upload_url(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory(clock=ManualClock())
    assert [cuu(emu) for _ in range(20)] == [None] * 20
    assert cuu(emu) == "RequestLimitExceeded"


def test_the_window_slides(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(start=1000.0)
    emu = emulator_factory(clock=clock)
    assert [grs(emu) for _ in range(3)] == ["InvalidParameterValue"] * 3  # t = 0
    clock.set(1000.6)
    assert [grs(emu) for _ in range(2)] == ["InvalidParameterValue"] * 2  # t = 0.6: 5 in window
    clock.set(1000.99)
    assert grs(emu) == "RequestLimitExceeded"
    clock.set(1001.0)  # the three from t = 0 have left the window (0, 1]
    assert [grs(emu) for _ in range(4)] == ["InvalidParameterValue"] * 3 + ["RequestLimitExceeded"]
    clock.set(1001.6)  # the two from t = 0.6 left too
    assert [grs(emu) for _ in range(3)] == ["InvalidParameterValue"] * 2 + ["RequestLimitExceeded"]


def test_per_secret_id_and_per_action(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory(clock=ManualClock())
    for _ in range(5):
        grs(emu)
    assert grs(emu) == "RequestLimitExceeded"
    assert grs(emu, credential=emu.session_credential) == "InvalidParameterValue"
    assert cuu(emu) is None


def test_quota_counts_across_regions(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory(clock=ManualClock())
    for region in ("ap-singapore", "ap-hongkong", "ap-bangkok", "ap-singapore", "ap-hongkong"):
        assert grs(emu, region=region) == "InvalidParameterValue"
    assert grs(emu, region="ap-bangkok") == "RequestLimitExceeded"


def test_rejected_requests_do_not_use_up_the_quota_but_are_counted(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(start=50.0)
    emu = emulator_factory(clock=clock)
    for _ in range(5):
        grs(emu)
    for _ in range(3):
        assert grs(emu) == "RequestLimitExceeded"
    resp = response_of(call(emu, "GenerateReflectSequence", BAD_PARAMS))
    assert "equals to `9`" in resp["Error"]["Message"]
    clock.set(51.0)
    assert grs(emu) == "InvalidParameterValue"


def test_quota_lifted(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory(quota=False)
    assert all(grs(emu) == "InvalidParameterValue" for _ in range(12))


def test_quota_lifted_at_runtime_until_reset(emulator: Emulator) -> None:
    requests.post(
        f"{emulator.endpoint}/_emulator/config", json={"quota": False}, timeout=10
    ).raise_for_status()
    assert all(grs(emulator) == "InvalidParameterValue" for _ in range(8))
    requests.post(f"{emulator.endpoint}/_emulator/reset", timeout=10).raise_for_status()
    codes = [grs(emulator) for _ in range(6)]
    assert codes[-1] == "RequestLimitExceeded"


def test_profile_quota_values_and_switch(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    raw = dict(Profile.load("reliable").raw)
    raw["quota"] = {"GenerateReflectSequence": 2, "CreateUploadUrl": 20, "enabled": True}
    emu = emulator_factory(Profile.from_dict(raw), clock=ManualClock())
    assert [grs(emu) for _ in range(3)] == ["InvalidParameterValue"] * 2 + ["RequestLimitExceeded"]
    raw["quota"] = {"enabled": False}
    emu2 = emulator_factory(Profile.from_dict(raw))
    assert all(grs(emu2) == "InvalidParameterValue" for _ in range(8))


def test_auth_failures_are_not_counted(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory(clock=ManualClock())
    for _ in range(8):
        assert (
            error_code(call(emu, "GenerateReflectSequence", BAD_PARAMS, timestamp=1))
            == "AuthFailure.SignatureExpire"
        )
    assert grs(emu) == "InvalidParameterValue"


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(
        st.floats(min_value=0.0, max_value=0.7, allow_nan=False), min_size=1, max_size=60
    ),
    limit=st.integers(min_value=1, max_value=7),
)
def test_no_one_second_window_ever_admits_more_than_the_limit(
    gaps: list[float], limit: int
) -> None:
    """Property: admitted requests never exceed ``limit`` in any window (t-1, t]; and the
    limiter is not stricter than that (a request is refused only when the window is full)."""
    clock = ManualClock(start=0.0)
    windows = QuotaWindows(clock)
    now = 0.0
    admitted: list[float] = []
    for gap in gaps:
        now += gap
        clock.set(now)
        in_window = sum(1 for t in admitted if t > now - 1.0)
        ok = windows.admit("AKID", "GenerateReflectSequence", limit) is None
        assert ok == (in_window < limit)
        if ok:
            admitted.append(now)
    for t in admitted:
        assert sum(1 for u in admitted if t - 1.0 < u <= t) <= limit


def test_windows_count_arrival_stamps_even_when_checked_out_of_order() -> None:
    """The server stamps a request when its connection is accepted; threads may check them later
    and in another order, so the window must go by the stamps."""
    windows = QuotaWindows(ManualClock(0.0))
    for at in (0.8, 0.0, 0.4, 0.2, 0.6):  # five arrivals within one second, checked shuffled
        assert windows.admit("AKID", "GenerateReflectSequence", 5, at=at) is None
    assert windows.admit("AKID", "GenerateReflectSequence", 5, at=0.95) == 6
    assert windows.admit("AKID", "GenerateReflectSequence", 5, at=1.05) is None  # 0.0 has left


def test_a_late_checked_earlier_stamp_cannot_overfill_a_window() -> None:
    windows = QuotaWindows(ManualClock(0.0))
    for at in (0.1, 0.2, 0.3, 0.4, 0.5):
        assert windows.admit("AKID", "GenerateReflectSequence", 5, at=at) is None
    # checked last, stamped first: [0.05, 1.05) would hold six
    assert windows.admit("AKID", "GenerateReflectSequence", 5, at=0.05) is not None
    assert windows.admit("AKID", "GenerateReflectSequence", 5, at=1.1) is None


def test_the_quota_counts_when_the_connection_was_accepted(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    """A request whose handler runs late is still counted at its accept instant."""
    import time as _time

    emu = emulator_factory("reliable", quota=True, time_scale=0)
    backend = emu.backend
    accepted = _time.monotonic() - 0.5  # as if the connection thread started half a second late
    backend.check_quota("AKID-late", "GenerateReflectSequence", arrival=accepted)
    stamp = backend.quotas._admitted[("AKID-late", "GenerateReflectSequence")][0]
    assert abs(stamp - (backend.clock.monotonic() - 0.5)) < 0.05
