"""The official Node.js SDK, unmodified and with its defaults, accepts the emulator as the service.

The SDK (``tencentcloud-sdk-nodejs-intl-en``, pinned, from npm) runs in a process whose whole
environment is :attr:`Emulator.sdk_env`: it signs with v1 ``HmacSHA256`` by default, sends
form-encoded POSTs over https to ``faceid.intl.tencentcloudapi.com``, and reaches the emulator
through its proxy (``http_proxy``), trusting its CA through ``NODE_EXTRA_CA_CERTS``.  The driver
(``node_driver.js``) runs every case once; each test checks one row of its table.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from faceid_tools.emulator.server import Emulator

from .nodesdk import DRIVER, node_executable, node_sdk_dir

#: case -> the code the service answers (``ok`` for success).
EXPECTED = {
    "upload_flow": "ok",  # defaults: v1 HmacSHA256, POST form, https, default endpoint
    "tc3": "ok",
    "get": "ok",
    "hmac_sha1": "ok",
    "tc3_get": "ok",
    "wrong_type_tc3": "InvalidParameter",  # SecurityLevel: 4 as a JSON number
    "level_out_of_range": "InvalidParameterValue",  # SecurityLevel "7"
    "wrong_key": "AuthFailure.SignatureFailure",
    "unknown_secret_id": "AuthFailure.SecretIdNotFound",
    "refused_host": "ok",  # the fetch itself resolves: with the proxy's 403
}


@pytest.fixture(scope="module")
def node_results(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, dict[str, object]]]:
    node = node_executable()
    sdk = node_sdk_dir()
    ca_dir = tmp_path_factory.mktemp("node-ca")
    with Emulator(profile="reliable", time_scale=0.0, quota=False, ca_dir=ca_dir) as emu:
        done = subprocess.run(
            [node, str(DRIVER), str(sdk)],
            env=emu.sdk_env,  # nothing else: no PATH, no HOME
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        stats = emu.stats()
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {row["case"]: row for row in map(json.loads, done.stdout.splitlines())}
    rows["_stats"] = stats
    yield rows


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_node_sdk_case(node_results: dict[str, dict[str, object]], case: str) -> None:
    row = node_results[case]
    assert row["code"] == EXPECTED[case], row


def test_node_sdk_download_uses_the_service_urls(
    node_results: dict[str, dict[str, object]],
) -> None:
    detail = str(node_results["upload_flow"]["detail"])
    assert "MD5 matches" in detail
    assert "URL host faceid-emulator-sg-1250000000.cos.ap-singapore.myqcloud.com" in detail


def test_node_sdk_refused_host_is_never_contacted(
    node_results: dict[str, dict[str, object]],
) -> None:
    assert str(node_results["refused_host"]["detail"]).startswith("HTTP 403"), node_results
    stats = node_results["_stats"]
    assert isinstance(stats, dict) and stats["outcomes"]["GenerateReflectSequence"]["ok"] == 5
