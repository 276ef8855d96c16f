"""The server's life: start, serve concurrently, stop without leaving a thread or a socket."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from faceid_tools.emulator.profile import BehaviourModel, Profile, ProfileError
from faceid_tools.emulator.server import DEMO_CREDENTIAL, Emulator

from ._api import call, error_code, generate, response_of, upload


def emulator_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("faceid-emulator")}


def open_sockets_on(port: int) -> list[object]:
    return [
        c for c in psutil.Process().net_connections(kind="tcp") if c.laddr and c.laddr.port == port
    ]


def refuses(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_context_manager_serves_and_cleans_up() -> None:
    before = emulator_threads()
    emu = Emulator(time_scale=0)
    with pytest.raises(RuntimeError):
        _ = emu.endpoint
    with emu:
        assert emu.running
        assert emu.endpoint == f"http://127.0.0.1:{emu.port}"
        assert emu.credential == DEMO_CREDENTIAL
        assert (
            error_code(call(emu, "CreateUploadUrl", {"TargetAction": "GenerateReflectSequence"}))
            is None
        )
        port = emu.port
    assert not emu.running
    assert emulator_threads() == before
    assert refuses(port)
    assert open_sockets_on(port) == []


def test_stop_is_idempotent_and_final() -> None:
    emu = Emulator(time_scale=0).start()
    assert emu.start() is emu  # idempotent while running
    emu.stop()
    emu.stop()
    with pytest.raises(RuntimeError):
        emu.start()


def test_binds_loopback_only() -> None:
    with pytest.raises(ValueError):
        Emulator(host="0.0.0.0")
    with pytest.raises(ValueError):
        Emulator(host="192.168.1.10")


def test_port_in_use_is_an_oserror() -> None:
    with Emulator(time_scale=0) as first, pytest.raises(OSError):
        Emulator(port=first.port).start()


@pytest.mark.parametrize("profile", [None, "default", "high-latency", "reliable"])
def test_profile_by_name(profile: str | None) -> None:
    emu = Emulator(profile)
    assert emu.profile.name == (profile or "default")


def test_profile_by_path_and_object(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    text = (
        Path(__file__)
        .resolve()
        .parents[2]
        .joinpath("faceid_tools/emulator/profiles/default.toml")
        .read_text()
    )
    path.write_text(text.replace('name = "default"', 'name = "mine"'))
    assert Emulator(path).profile.name == "mine"
    assert Emulator(str(path)).profile.name == "mine"
    prof = Profile.load("reliable")
    assert Emulator(prof).profile is prof
    with pytest.raises(ProfileError):
        (tmp_path / "bad.toml").write_text("[regions")
        Emulator(tmp_path / "bad.toml")


def test_seed_defaults_to_the_profiles() -> None:
    assert Emulator("default").seed == Profile.default().seed
    assert Emulator("default", seed=3).seed == 3


def test_time_scale_sleeps_at_least_the_drawn_latency(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory("reliable", seed=11, time_scale=1.0, quota=False)
    device = upload(emu)
    expected = BehaviourModel(emu.profile, 11).draw("ap-singapore", "4").latency_ms / 1000
    t0 = time.monotonic()
    assert error_code(generate(emu, device)) is None
    assert time.monotonic() - t0 >= expected * 0.99


def _slow_profile() -> Profile:
    raw = dict(Profile.load("reliable").raw)
    raw["regions"] = {r: {"median_ms": 20_000, "p99_ms": 40_000} for r in raw["regions"]}
    return Profile.from_dict(raw, name="slow")


def test_fifty_concurrent_requests_are_in_flight_at_once() -> None:
    """Fifty callers each wait a drawn ~20 s latency; all fifty are in the server at the same
    time (sleeps do not serialise them).  Stopping wakes them and every one gets its answer."""
    before = emulator_threads()
    emu = Emulator(_slow_profile(), seed=1, quota=False, time_scale=1.0).start()
    device = upload(emu)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def one() -> None:
        answer = generate(emu, device)
        with lock:
            answers.append(answer)

    clients = [threading.Thread(target=one) for _ in range(50)]
    for c in clients:
        c.start()
    deadline = time.monotonic() + 60
    in_flight = 0
    while time.monotonic() < deadline:
        in_flight = requests.get(f"{emu.endpoint}/_emulator/stats", timeout=10).json()["in_flight"]
        if in_flight >= 51:  # fifty sleeping callers + this stats request
            break
        time.sleep(0.05)
    assert in_flight >= 51
    emu.stop()
    for c in clients:
        c.join(10)
    assert len(answers) == 50
    assert all(error_code(a) is None for a in answers)
    assert emulator_threads() == before


def test_stop_drops_idle_and_half_sent_connections() -> None:
    before = emulator_threads()
    emu = Emulator(time_scale=0).start()
    idle = socket.create_connection(("127.0.0.1", emu.port))
    half = socket.create_connection(("127.0.0.1", emu.port))
    half.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and emu.stats()["in_flight"] < 1:
        time.sleep(0.01)
    emu.stop()  # joins for ~6 s at most: a thread still blocked on its socket would remain
    assert emulator_threads() == before
    idle.close()
    half.close()


def test_the_server_survives_clients_that_hang_up(emulator: Emulator) -> None:
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", emulator.port))
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        s.close()
    resp = response_of(requests.get(f"{emulator.endpoint}/", timeout=10))
    assert resp["Error"]["Code"] == "MissingParameter"
