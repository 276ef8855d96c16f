"""The official Node.js SDK, installed from npm at a pinned version into a cache outside git.

``node_sdk_dir()`` returns a folder whose ``node_modules`` holds
``tencentcloud-sdk-nodejs-intl-en@NODE_SDK_VERSION`` (installed once per machine under
``$XDG_CACHE_HOME/faceid-tools/node-sdk/<version>``, default ``~/.cache/...``), or skips the
test when ``node`` / ``npm`` are missing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_SDK_PACKAGE = "tencentcloud-sdk-nodejs-intl-en"
NODE_SDK_VERSION = "3.0.1335"
DRIVER = Path(__file__).with_name("node_driver.js")


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip(
            "node is not installed: the Node SDK tests need node and npm (scripts/system-deps)"
        )
    return node


def node_sdk_dir() -> Path:
    node_executable()
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the Node SDK tests install the SDK with it")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "faceid-tools" / "node-sdk" / NODE_SDK_VERSION
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "node_modules" / NODE_SDK_PACKAGE / "package.json"
    with open(folder / ".lock", "a") as lock:  # xdist workers install once between them
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            done = subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(folder),
                    "--no-audit",
                    "--no-fund",
                    "--no-save",
                    "--loglevel=error",
                    f"{NODE_SDK_PACKAGE}@{NODE_SDK_VERSION}",
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0 or not marker.exists():
                pytest.fail(f"npm could not install {NODE_SDK_PACKAGE}: {done.stderr[-2000:]}")
    return folder
