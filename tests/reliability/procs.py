"""The emulator as a subprocess (``faceid-tools emulator --port 0``), so its memory is its own.

:class:`EmulatorProcess` starts it, reads its endpoint from its first line of output, samples its
resident set size (RSS) in a background thread, and stops it with SIGTERM (the CLI's clean stop).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
START_TIMEOUT_S = 60.0


class EmulatorProcess:
    """``python -m faceid_tools emulator --port 0 ...`` with RSS sampling every ``every`` seconds."""

    def __init__(self, workdir: Path, *args: str, every: float = 0.2) -> None:
        self.workdir = workdir
        self.args = args
        self.every = every
        self.endpoint = ""
        self.samples: list[tuple[float, int]] = []  #: (monotonic time, RSS bytes)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self.stdout_path = workdir / "emulator.out"
        self.stderr_path = workdir / "emulator.err"
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def start(self) -> EmulatorProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        cmd = [sys.executable, "-m", "faceid_tools", "emulator", "--port", "0", *self.args]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self._proc = subprocess.Popen(cmd, cwd=self.workdir, env=env, stdout=out, stderr=err)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.endpoint:
            found = _LISTENING.search(self.stdout_path.read_text("utf-8", "replace"))
            if found:
                self.endpoint = found.group(1)
                break
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start: {self.stderr_path.read_text()}")
            time.sleep(0.02)
        self.sample()
        self._sampler = threading.Thread(target=self._sample_loop, daemon=True)
        self._sampler.start()
        return self

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def sample(self) -> int:
        """Record and return the RSS now."""
        rss = int(psutil.Process(self.pid).memory_info().rss)
        self.samples.append((time.monotonic(), rss))
        return rss

    def _sample_loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.sample()
            except psutil.Error:
                return

    def stats(self) -> dict[str, object]:
        answer = requests.get(f"{self.endpoint}/_emulator/stats", timeout=30)
        answer.raise_for_status()
        data: dict[str, object] = answer.json()
        return data

    def configure(self, **config: object) -> None:
        answer = requests.post(f"{self.endpoint}/_emulator/config", json=config, timeout=30)
        answer.raise_for_status()

    def stop(self) -> int | None:
        """SIGTERM, wait for the clean exit (SIGKILL after 30 s); return the exit status."""
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join(5)
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)
        self.returncode = proc.returncode
        return self.returncode

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
