"""Control endpoints under /_emulator/: reset, profile, stats, config, clock."""

from __future__ import annotations

import requests

from faceid_tools.emulator.profile import Profile
from faceid_tools.emulator.server import Emulator

from ._api import call, error_code, generate, response_of, upload


def ctl(emu: Emulator, method: str, path: str, **kw: object) -> requests.Response:
    return requests.request(method, f"{emu.endpoint}/_emulator{path}", timeout=10, **kw)  # type: ignore[arg-type]


def test_index_lists_the_endpoints(emulator: Emulator) -> None:
    listed = ctl(emulator, "GET", "/").json()["endpoints"]
    assert set(listed) == {
        "/_emulator/",
        "/_emulator/reset",
        "/_emulator/profile",
        "/_emulator/stats",
        "/_emulator/config",
        "/_emulator/clock",
    }


def test_profile_endpoint_serves_the_active_profile(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory("high-latency")
    answer = ctl(emu, "GET", "/profile")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert answer.json() == Profile.load("high-latency").as_dict()


def test_reset_clears_store_quota_and_counters(emulator: Emulator) -> None:
    device = upload(emulator)
    for _ in range(5):
        generate(emulator, device)
    assert error_code(generate(emulator, device)) == "RequestLimitExceeded"
    assert emulator.stats()["store"]["objects"] > 0
    answer = ctl(emulator, "POST", "/reset")
    assert answer.json() == {"reset": True, "seed": emulator.seed}
    stats = ctl(emulator, "GET", "/stats").json()
    assert stats["store"]["objects"] == 0 and stats["requests"] == 1 and stats["outcomes"] == {}
    assert error_code(generate(emulator, device)) == "FailedOperation.DownLoadError"  # object gone
    device = upload(emulator)
    assert error_code(generate(emulator, device)) is None  # quota window cleared


def test_reset_reseeds_reproducibly(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory("default", quota=False)
    device = upload(emu)

    def codes() -> list[str | None]:
        return [error_code(generate(emu, device, region="ap-bangkok")) for _ in range(16)]

    ctl(emu, "POST", "/reset", json={"seed": 5})
    device = upload(emu)
    first = codes()
    ctl(emu, "POST", "/reset", json={"seed": 5})
    device = upload(emu)
    assert codes() == first
    assert ctl(emu, "POST", "/reset").json()["seed"] == emu.profile.seed


def test_bad_control_requests(emulator: Emulator) -> None:
    assert ctl(emulator, "GET", "/nothing").status_code == 404
    assert ctl(emulator, "GET", "/reset").status_code == 405
    assert ctl(emulator, "POST", "/reset", data=b"not json").status_code == 400
    assert ctl(emulator, "POST", "/reset", json={"seed": -1}).status_code == 400
    assert ctl(emulator, "POST", "/config", json={"time_scale": -1}).status_code == 400
    assert ctl(emulator, "POST", "/config", json={"quota": "no"}).status_code == 400
    assert ctl(emulator, "POST", "/clock", json={"advance_s": -5}).status_code == 400
    assert ctl(emulator, "POST", "/clock", json=[1]).status_code == 400


def test_config_changes_until_reset(emulator: Emulator) -> None:
    answer = ctl(emulator, "POST", "/config", json={"quota": False, "time_scale": 0.5}).json()
    assert answer["quota"] is False and answer["time_scale"] == 0.5
    assert ctl(emulator, "GET", "/stats").json()["config"]["time_scale"] == 0.5
    ctl(emulator, "POST", "/reset")
    config = ctl(emulator, "GET", "/stats").json()["config"]
    assert config["quota"] is True and config["time_scale"] == 0.0


def test_clock_shift(emulator: Emulator) -> None:
    assert ctl(emulator, "POST", "/clock", json={"advance_s": 10}).json() == {"offset_s": 10.0}
    assert ctl(emulator, "POST", "/clock", json={"advance_s": 5.5}).json() == {"offset_s": 15.5}
    ctl(emulator, "POST", "/reset")
    assert ctl(emulator, "GET", "/stats").json()["config"]["clock_offset_s"] == 0.0


def test_stats_count_outcomes_by_action_and_code(emulator: Emulator) -> None:
    device = upload(emulator)
    generate(emulator, device)
    call(emulator, "GenerateReflectSequence", {"DeviceDataUrl": "x", "DeviceDataMd5": "0" * 32})
    stats = ctl(emulator, "GET", "/stats").json()
    assert stats["outcomes"] == {
        "CreateUploadUrl": {"ok": 1},
        "GenerateReflectSequence": {"InvalidParameter": 1, "ok": 1},
    }
    assert stats["sequences"] == {"issued": 1, "duplicate": 0, "corrupt": 0}
    assert stats["cos"] == {"PUT": {"200": 1}}


def test_control_paths_are_not_api_paths(emulator: Emulator) -> None:
    # /_emulatorX is not a control path: it is an API path that does not exist.
    resp = response_of(requests.get(f"{emulator.endpoint}/_emulatorX", timeout=10))
    assert resp["Error"]["Code"] == "UnsupportedOperation"
