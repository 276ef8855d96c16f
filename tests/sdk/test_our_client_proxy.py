"""Our own client needs nothing beyond ``sdk_env``: the default endpoint, through the proxy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from faceid_tools.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
CODE = """
from faceid_tools import FaceIDClient
client = FaceIDClient(region="ap-singapore", log=False)  # https://faceid.intl.tencentcloudapi.com
data = client.upload_device_data(b"our client through the proxy")
seq = client.generate_reflect_sequence(data.url, data.md5, security_level=3)
blob = client.download_sequence(seq)  # checks the MD5
print(data.url.partition("?")[0])
print(len(blob))
"""


def test_our_client_with_only_sdk_env(tmp_path: Path) -> None:
    with Emulator(profile="reliable", time_scale=0.0, ca_dir=tmp_path / "ca") as emu:
        env = {**emu.sdk_env, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", CODE],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        outcomes = emu.stats()["outcomes"]
    assert done.returncode == 0, done.stderr[-2000:]
    url, size = done.stdout.split()
    assert url.startswith("https://faceid-emulator-sg-1250000000.cos.ap-singapore.myqcloud.com/")
    assert int(size) > 0
    assert outcomes == {"CreateUploadUrl": {"ok": 1}, "GenerateReflectSequence": {"ok": 1}}
