"""End to end against the offline twin: the public-contract example, tokens, quota, regions."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceid_tools import CallLog, FaceIDClient, load_calls
from faceid_tools import errors as e
from faceid_tools.emulator.server import Emulator


def test_the_public_contract_example(emulator: Emulator, tmp_path: Path) -> None:
    log_path = tmp_path / "data" / "calls.sqlite"
    # the five lines of DESIGN.md's public contract
    client = FaceIDClient(region="ap-singapore", endpoint=emulator.endpoint,
                          credential=emulator.credential, log=CallLog(log_path))  # fmt: skip
    data = client.upload_device_data(b"...sdk data package...")
    seq = client.generate_reflect_sequence(data.url, data.md5, security_level=4)
    blob = client.download_sequence(seq)
    calls = load_calls(log_path)

    assert blob and seq.security_level == "4"
    assert calls["action"].tolist() == [
        "CreateUploadUrl",
        "UploadDeviceData",
        "GenerateReflectSequence",
        "DownloadSequence",
    ]
    assert (calls["outcome"] == "ok").all()
    assert (calls["http_status"] == 200).all()
    assert calls["request_id"].notna().all()
    down = calls.iloc[3]
    assert bool(down["seq_md5_ok"]) and down["seq_format"] == "FRSQ1" and down["seq_level"] == 4
    assert down["call_id"] == seq.call_id
    assert calls["call_id"].iloc[0] == calls["call_id"].iloc[1]  # upload: one logical call
    client.close()


def test_a_temporary_credential_with_its_token(emulator: Emulator) -> None:
    assert emulator.session_credential is not None
    with FaceIDClient(
        "ap-hongkong",
        endpoint=emulator.endpoint,
        credential=emulator.session_credential,
        log=False,
    ) as client:
        data = client.upload_device_data(b"token path")
        assert client.generate_reflect_sequence(data.url, data.md5, 1).md5


def test_quota_errors_are_typed_retried_and_logged(emulator: Emulator, tmp_path: Path) -> None:
    # no client-side limit and a sleep that does not wait: the service's quota must answer
    with (
        CallLog(tmp_path / "c.sqlite") as log,
        FaceIDClient(
            "ap-bangkok",
            endpoint=emulator.endpoint,
            credential=emulator.credential,
            log=log,
            rate_limit=None,
            retries=2,
            sleep=lambda _: None,
        ) as client,
    ):
        data = client.upload_device_data(b"quota")
        limited: e.QuotaError | None = None
        for _ in range(60):  # far more than 5/s can absorb, however slow the machine
            try:
                client.generate_reflect_sequence(data.url, data.md5)
            except e.QuotaError as exc:
                limited = exc
                break
        calls = load_calls(log)
    assert limited is not None and limited.code.startswith("RequestLimitExceeded")
    assert limited.attempts == 3 and limited.request_id
    mine = calls[calls["call_id"] == limited.call_id]
    assert mine["attempt"].tolist() == [1, 2, 3]
    assert set(mine["error_code"]) == {limited.code}
    assert (mine["outcome"] == "api_error").all()
    grs = calls[calls["action"] == "GenerateReflectSequence"]
    assert (grs["outcome"] == "ok").sum() >= 5


def test_cross_region_device_data(emulator: Emulator) -> None:
    common = {"endpoint": emulator.endpoint, "credential": emulator.credential, "log": False}
    with FaceIDClient("ap-singapore", **common) as sg:  # type: ignore[arg-type]
        data = sg.upload_device_data(b"stored in Singapore")
    bk = FaceIDClient("ap-bangkok", **common)  # type: ignore[arg-type]
    with pytest.raises(e.ValidationError, match="must be same as that of requests"):
        bk.generate_reflect_sequence(data.url, data.md5)
    bk.close()
    with FaceIDClient("ap-bangkok", allow_cross_region=True, **common) as bk:  # type: ignore[arg-type]
        with pytest.raises(e.DownloadError) as info:
            bk.generate_reflect_sequence(data.url, data.md5)
        assert info.value.code == "FailedOperation.DownLoadError"
        assert info.value.request_id
