"""tccli (tccli-intl-en) accepts the emulator: ``--endpoint http://127.0.0.1:PORT``.

tccli signs with the endpoint string as its Host header (``http://127.0.0.1:PORT``), which the
emulator verifies exactly as received.  Every run gets its own HOME, so tccli's config and log
(which records ``--secretKey``) never touch the real home.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from faceid_tools.client.credentials import Credential
from faceid_tools.emulator.server import Emulator
from faceid_tools.seqformat import decode

from ._api import upload

TCCLI = Path(sys.executable).with_name("tccli")
pytestmark = pytest.mark.skipif(
    not TCCLI.exists() and shutil.which("tccli") is None, reason="tccli-intl-en is not installed"
)


def tccli(
    emu: Emulator,
    home: Path,
    action: str,
    *args: str,
    cred: Credential | None = None,
    region: str = "ap-singapore",
) -> subprocess.CompletedProcess[str]:
    c = cred or emu.credential
    exe = str(TCCLI) if TCCLI.exists() else "tccli"
    argv = [exe, "faceid", action, "--secretId", c.secret_id, "--secretKey", c.secret_key]
    if c.token:
        argv += ["--token", c.token]
    argv += ["--region", region, "--endpoint", emu.endpoint, *args]
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "NO_PROXY": "127.0.0.1"}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_tccli_generate_prints_the_fields(emulator: Emulator, tmp_path: Path) -> None:
    device = upload(emulator, b"device data for tccli")
    done = tccli(
        emulator,
        tmp_path,
        "GenerateReflectSequence",
        "--DeviceDataUrl",
        device.url,
        "--DeviceDataMd5",
        device.md5,
        "--SecurityLevel",
        "4",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) >= {"ReflectSequenceUrl", "ReflectSequenceMd5", "RequestId"}
    blob = requests.get(out["ReflectSequenceUrl"], timeout=10).content
    assert hashlib.md5(blob).hexdigest() == out["ReflectSequenceMd5"]
    assert decode(blob).security_level == 4


def test_tccli_with_a_session_token(emulator: Emulator, tmp_path: Path) -> None:
    done = tccli(
        emulator,
        tmp_path,
        "CreateUploadUrl",
        "--TargetAction",
        "GenerateReflectSequence",
        cred=emulator.session_credential,
    )
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) >= {"UploadUrl", "ResourceUrl", "ExpiredTimestamp"}


@pytest.mark.parametrize(
    ("kwargs", "args", "code"),
    [
        (
            {"cred": Credential("AKIDfaceidEmulatorDemoPermanent00001", "wrong" * 6)},
            (),
            "AuthFailure.SignatureFailure",
        ),
        ({"region": "ap-guangzhou"}, (), "UnsupportedRegion"),
        ({}, ("--SecurityLevel", "9"), "InvalidParameterValue"),
        ({}, (), "FailedOperation.DownLoadError"),
    ],
)
def test_tccli_errors_exit_non_zero_with_the_code(
    emulator: Emulator, tmp_path: Path, kwargs: dict[str, object], args: tuple[str, ...], code: str
) -> None:
    done = tccli(
        emulator,
        tmp_path,
        "GenerateReflectSequence",
        "--DeviceDataUrl",
        "http://127.0.0.1:1/none",
        "--DeviceDataMd5",
        "0" * 32,
        *args,
        **kwargs,  # type: ignore[arg-type]
    )
    assert done.returncode != 0
    assert f"code:{code}" in done.stderr
    assert "requestId:" in done.stderr


def test_tccli_through_the_proxy(emulator: Emulator, tmp_path: Path) -> None:
    """With ``sdk_env``, tccli's one setting is ``--endpoint http://faceid.intl.tencentcloudapi.com``:
    it goes to the proxy in absolute form (tccli's SDK trusts only certifi's CAs over https)."""
    exe = str(TCCLI) if TCCLI.exists() else "tccli"
    cred = emulator.credential
    argv = [exe, "faceid", "CreateUploadUrl", "--secretId", cred.secret_id]
    argv += ["--secretKey", cred.secret_key, "--region", "ap-singapore"]
    argv += ["--endpoint", "http://faceid.intl.tencentcloudapi.com"]
    argv += ["--TargetAction", "GenerateReflectSequence"]
    env = {**emulator.sdk_env, "HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    host = "faceid-emulator-sg-1250000000.cos.ap-singapore.myqcloud.com"
    assert out["UploadUrl"].startswith(f"https://{host}/faceid%2FGenerateReflectSequence%2F")
    assert emulator.stats()["outcomes"] == {"CreateUploadUrl": {"ok": 1}}
