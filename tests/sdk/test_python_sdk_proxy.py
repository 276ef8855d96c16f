"""The official Python SDK reaches the emulator through its proxy, at the service's own names.

The SDK runs in a subprocess whose whole environment is :attr:`Emulator.sdk_env`, with its
defaults but for one setting: ``HttpProfile(certification=os.environ["REQUESTS_CA_BUNDLE"])``
(the SDK hands ``requests`` certifi's bundle itself, so ``REQUESTS_CA_BUNDLE`` alone is not
read).  ``python_driver.py`` runs every case once; each test checks one row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from faceid_tools.emulator.server import Emulator

DRIVER = Path(__file__).with_name("python_driver.py")
#: case -> the code the service answers (``ok`` for success).
EXPECTED = {
    "upload_flow": "ok",  # defaults: TC3, POST, https, faceid.intl.tencentcloudapi.com
    "get": "ok",
    "hmac_sha256": "ok",
    "hmac_sha1": "ok",
    "hmac_sha256_get": "ok",
    "wrong_type": "InvalidParameter",  # SecurityLevel=4, a JSON number
    "level_out_of_range": "InvalidParameterValue",  # SecurityLevel "7"
    "wrong_key": "AuthFailure.SignatureFailure",
    "refused_host": "ok",  # requests raises ProxyError on the proxy's 403: see below
}


@pytest.fixture(scope="module")
def python_results(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, dict[str, object]]]:
    ca_dir = tmp_path_factory.mktemp("python-ca")
    with Emulator(profile="reliable", time_scale=0.0, quota=False, ca_dir=ca_dir) as emu:
        done = subprocess.run(
            [sys.executable, str(DRIVER)],
            env=emu.sdk_env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    yield {row["case"]: row for row in map(json.loads, done.stdout.splitlines())}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_python_sdk_case(python_results: dict[str, dict[str, object]], case: str) -> None:
    row = python_results[case]
    assert row["code"] == EXPECTED[case], row


def test_python_sdk_download_uses_the_service_urls(
    python_results: dict[str, dict[str, object]],
) -> None:
    for case in ("upload_flow", "hmac_sha1"):
        detail = str(python_results[case]["detail"])
        assert "MD5 matches" in detail
        assert detail.endswith("faceid-emulator-sg-1250000000.cos.ap-singapore.myqcloud.com")


def test_python_refused_host(python_results: dict[str, dict[str, object]]) -> None:
    assert python_results["refused_host"]["detail"] == "ProxyError: 403"
