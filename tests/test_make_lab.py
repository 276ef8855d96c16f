"""``make lab`` as an analyst runs it: JupyterLab on loopback, the URL printed, the notebooks served.

Run as whoever runs the suite (root in CI and in containers, where JupyterLab refuses to start
without ``--allow-root``) and, when the suite runs as root, once more as the unprivileged user
``nobody`` with a home of its own, as an analyst on a shared machine would.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
STAMP = ROOT / ".venv" / ".installed"
URL = re.compile(r"(http://127\.0\.0\.1:(\d+)/lab\?token=[0-9a-f]+)")
NOTEBOOKS = {"01-latency.ipynb", "02-errors.ipynb", "03-sequences.ipynb", "04-product-review.ipynb"}

pytestmark = [
    pytest.mark.skipif(
        not STAMP.exists(), reason="needs the Makefile's venv (make test builds it)"
    ),
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_lab(prefix: list[str], env: dict[str, str]) -> tuple[str, list[str]]:
    """Start ``make lab``, wait for the URL it prints; return it and the notebooks it serves."""
    port = _free_port()
    proc = subprocess.Popen(
        [*prefix, "make", "--no-print-directory", "lab", f"LAB_PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        url = None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = URL.search(line)
            if found and int(found.group(2)) == port:
                url = found.group(1)
        assert url, "make lab printed no URL:\n" + "".join(lines[-30:])
        token = url.split("token=", 1)[1]
        while True:  # the URL may be printed a moment before the socket accepts
            try:
                listing = requests.get(
                    f"http://127.0.0.1:{port}/api/contents", params={"token": token}, timeout=30
                )
                break
            except requests.ConnectionError:
                assert proc.poll() is None, "JupyterLab exited:\n" + "".join(lines[-30:])
                assert time.monotonic() < deadline, f"nothing listens on {port}"
                time.sleep(0.2)
        listing.raise_for_status()
        return "".join(lines), sorted(item["name"] for item in listing.json()["content"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def test_make_lab_prints_the_url_and_serves_the_notebooks() -> None:
    out, names = _run_lab([], dict(os.environ))
    assert "open the http://127.0.0.1:" in out  # the Makefile says what to open before Jupyter does
    assert "JupyterLab on notebooks/" in out
    assert set(names) == NOTEBOOKS  # the server's root is notebooks/, the four and nothing else
    assert not (ROOT / "faceid_tools" / "data").exists()  # no link inside the package


def _readable_by_others(path: Path) -> bool:
    for part in [path, *path.parents]:
        mode = part.stat().st_mode
        if not mode & 0o001:  # a directory nobody else may enter
            return False
    return True


@pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0, reason="switching users needs root"
)
def test_make_lab_works_as_an_unprivileged_user() -> None:
    runuser = shutil.which("setpriv")
    if runuser is None:
        pytest.skip("needs setpriv (util-linux)")
    for needed in (
        ROOT / ".venv" / "bin" / "jupyter",
        (ROOT / ".venv" / "bin" / "python").resolve(),
    ):
        if not _readable_by_others(needed.parent):
            pytest.skip(f"{needed.parent} is not open to other users on this machine")
    with tempfile.TemporaryDirectory() as tmp:  # pytest's tmp_path is closed to other users
        home = Path(tmp) / "home"
        home.mkdir()
        os.chmod(tmp, 0o755)
        os.chown(home, 65534, 65534)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LANG": "C.UTF-8",
        }
        prefix = [runuser, "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        _, names = _run_lab(prefix, env)
    assert set(names) >= NOTEBOOKS
