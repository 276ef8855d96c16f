"""``faceid-tools emulator`` runs standalone, prints what a client needs, stops cleanly on signals."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from faceid_tools.cli import build_parser, main
from faceid_tools.client.credentials import Credential
from faceid_tools.emulator.server import Emulator

from ._api import Remote, error_code, generate, upload

ROOT = Path(__file__).resolve().parents[2]


class Running:
    """A ``faceid-tools emulator`` subprocess and its stdout lines."""

    def __init__(self, *args: str):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "faceid_tools", "emulator", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        threading.Thread(target=lambda: [self.lines.put(x) for x in stdout], daemon=True).start()

    def read_until(self, marker: str, timeout: float = 60) -> str:
        seen = []
        while True:
            line = self.lines.get(timeout=timeout)
            seen.append(line)
            if marker in line:
                return "".join(seen)


def _banner_credential(banner: str) -> Credential:
    sid = re.search(r"TENCENTCLOUD_SECRET_ID=(\S+)", banner)
    key = re.search(r"TENCENTCLOUD_SECRET_KEY=(\S+)", banner)
    assert sid and key
    return Credential(sid.group(1), key.group(1))


@pytest.mark.parametrize(
    ("sig", "quota"),
    [
        pytest.param(signal.SIGINT, True, id="SIGINT"),
        # the same stop path by another signal; slow-marked because a start costs ~10 s on CI
        pytest.param(signal.SIGTERM, False, id="SIGTERM", marks=pytest.mark.slow),
    ],
)
def test_standalone_serves_and_stops_on_signal(sig: signal.Signals, quota: bool) -> None:
    flags = () if quota else ("--no-quota",)
    run = Running(
        "--port", "0", "--profile", "reliable", "--seed", "3", "--time-scale", "0", *flags
    )
    try:
        banner = run.read_until("Ctrl-C to stop.")
        endpoint = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
        assert endpoint, banner
        assert "profile: reliable (seed 3; time scale 0)" in banner
        assert ("GenerateReflectSequence 5/s" in banner) == quota
        assert ("quota: off" in banner) == (not quota)
        for name in ("HTTPS_PROXY", "https_proxy", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE"):
            assert re.search(rf"^  {name}=\S+$", banner, re.M), banner
        ca = re.search(r"NODE_EXTRA_CA_CERTS=(\S+)", banner)
        assert ca and Path(ca.group(1)).is_relative_to(os.environ["XDG_STATE_HOME"])
        remote = Remote(endpoint.group(1), _banner_credential(banner))
        device = upload(remote, b"device data")
        assert error_code(generate(remote, device)) is None
        profile = requests.get(f"{endpoint.group(1)}/_emulator/profile", timeout=10).json()
        assert profile["name"] == "reliable"
    finally:
        run.proc.send_signal(sig)
        code = run.proc.wait(timeout=60)
    assert code == 0
    assert "emulator stopped" in run.read_until("emulator stopped")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{endpoint.group(1)}/_emulator/", timeout=5)


def test_bad_profile_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[regions.ap-singapore]\nmedian_ms = 10\np99_ms = 5\n")
    assert main(["emulator", "--port", "0", "--profile", str(bad)]) == 2
    assert "faceid-tools emulator: regions." in capsys.readouterr().err


def test_port_in_use_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with Emulator(time_scale=0) as busy:
        assert main(["emulator", "--port", str(busy.port)]) == 2
    assert f"cannot bind 127.0.0.1:{busy.port}" in capsys.readouterr().err


def test_every_option_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.dest == "command")  # type: ignore[union-attr]
    emu = sub.choices["emulator"]
    assert emu.description
    options = {o for a in emu._actions for o in a.option_strings}
    assert {"--port", "--profile", "--seed", "--no-quota", "--time-scale"} <= options
    assert all(a.help for a in emu._actions)
