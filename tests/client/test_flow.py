"""The upload-link flow (CreateUploadUrl + PUT), sequence downloads with MD5 checks, log choices."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from faceid_tools import errors as e
from faceid_tools.calllog.load import load_calls
from faceid_tools.calllog.store import CallLog
from faceid_tools.client import FaceIDClient
from faceid_tools.client.results import ReflectSequence
from tests.client.conftest import Sleeps, rows
from tests.fixtures import servers as s
from tests.fixtures.servers import FIXTURE_CREDENTIAL, FaultServer

DATA = b"\x00sdk device data package\xff" * 10


def test_upload_device_data(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer, call_log: CallLog
) -> None:
    data = make_client().upload_device_data(DATA, campaign_id="camp")
    assert data.md5 == hashlib.md5(DATA).hexdigest()
    assert "?" not in data.url and "/uploads/" in data.url
    assert fault_server.objects[urlsplit(data.url).path] == DATA
    create, put = fault_server.requests
    assert create.action == "CreateUploadUrl" and create.json() == {
        "TargetAction": "GenerateReflectSequence"
    }
    assert create.signature_ok
    assert put.method == "PUT" and put.body == DATA
    assert "q-signature=" in put.path  # the presigned query went to the store...
    df = rows(call_log)  # ...and nowhere into the log
    assert df["action"].tolist() == ["CreateUploadUrl", "UploadDeviceData"]
    assert df["call_id"].nunique() == 1 and df["campaign_id"].tolist() == ["camp", "camp"]
    assert df["outcome"].tolist() == ["ok", "ok"]
    assert df["device_data_url"].tolist() == [data.url, data.url]
    up = df.iloc[1]
    assert up["request_bytes"] == len(DATA) and up["http_status"] == 200
    assert up["device_data_md5"] == data.md5
    assert str(up["request_id"]).startswith("fixture-put-")
    assert pd_isna(up["security_level"])


def pd_isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_create_upload_url(make_client: Callable[..., FaceIDClient]) -> None:
    link = make_client().create_upload_url()
    assert link.expired_timestamp == 1900000000
    assert "q-signature=" in link.upload_url
    assert "q-signature" not in repr(link)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (
            {
                "UploadUrl": "ftp://x/y",
                "ResourceUrl": "https://b.cos.ap-singapore.myqcloud.com/k",
                "ExpiredTimestamp": 1,
            },
            "UploadUrl",
        ),
        (
            {
                "UploadUrl": "https://b.cos.ap-singapore.myqcloud.com/k",
                "ResourceUrl": "https://b.cos.ap-singapore.myqcloud.com/k",
            },
            "ExpiredTimestamp",
        ),
        (
            {
                "UploadUrl": "https://b.cos.ap-singapore.myqcloud.com/k",
                "ResourceUrl": "https://b.cos.ap-singapore.myqcloud.com/k",
                "ExpiredTimestamp": "1900000000",
            },
            "ExpiredTimestamp",
        ),
        (
            {"ResourceUrl": "https://b.cos.ap-singapore.myqcloud.com/k", "ExpiredTimestamp": 1},
            "UploadUrl",
        ),
    ],
)
def test_create_upload_url_bad_answers(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    fields: dict[str, object],
    field: str,
) -> None:
    fault_server.script(s.envelope(**fields))
    with pytest.raises(e.MissingFieldError) as info:
        make_client().create_upload_url()
    assert info.value.field == field


def test_a_failed_put_is_retried_then_typed(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    call_log: CallLog,
    sleeps: Sleeps,
) -> None:
    is_put = lambda r: r.method == "PUT"  # noqa: E731
    fault_server.script(s.html_error(503), when=is_put)
    client = make_client(retries=1)
    assert client.upload_device_data(DATA).md5
    fault_server.script(
        s.raw(403, "<Error><Code>AccessDenied</Code></Error>", "application/xml"), when=is_put
    )
    with pytest.raises(e.HTTPStatusError) as info:
        client.upload_device_data(DATA)
    assert info.value.status == 403
    assert rows(call_log)["outcome"].tolist() == ["ok", "http_error", "ok", "ok", "http_error"]
    assert len(sleeps) == 1


def test_the_whole_flow_and_the_sequence_properties(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer, call_log: CallLog
) -> None:
    client = make_client()
    data = client.upload_device_data(DATA)
    seq = client.generate_reflect_sequence(data.url, data.md5, security_level=2)
    blob = client.download_sequence(seq)
    assert hashlib.md5(blob).hexdigest() == seq.md5
    df = rows(call_log)
    assert df["action"].tolist() == [
        "CreateUploadUrl",
        "UploadDeviceData",
        "GenerateReflectSequence",
        "DownloadSequence",
    ]
    down = df.iloc[3]
    assert down["call_id"] == seq.call_id  # the download joins its generate call
    assert down["outcome"] == "ok" and down["http_status"] == 200
    assert down["sequence_url"] == seq.url.split("?")[0]
    assert down["sequence_md5"] == seq.md5
    assert down["seq_md5_ok"] is True or bool(down["seq_md5_ok"])
    assert down["seq_size"] == len(blob) and down["response_bytes"] == len(blob)
    assert down["seq_format"] == "FRSQ1" and down["seq_level"] == 2
    assert down["seq_sha256"] == hashlib.sha256(blob).hexdigest()
    assert 0 < down["seq_entropy"] <= 8


def test_integrity_error_is_logged_with_the_properties_then_raised(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer, call_log: CallLog
) -> None:
    fault_server.corrupt_sequences = True
    client = make_client()
    seq = client.generate_reflect_sequence("https://b-1.cos.ap-singapore.myqcloud.com/k", "0" * 32)
    with pytest.raises(e.IntegrityError) as info:
        client.download_sequence(seq)
    err = info.value
    assert err.expected_md5 == seq.md5 and err.actual_md5 != seq.md5
    down = rows(call_log).iloc[1]
    assert down["outcome"] == "integrity_error" and down["error_code"] == "IntegrityError"
    assert not bool(down["seq_md5_ok"]) and down["seq_size"] > 0


def test_download_by_url(make_client: Callable[..., FaceIDClient], call_log: CallLog) -> None:
    client = make_client()
    seq = client.generate_reflect_sequence("https://b-1.cos.ap-singapore.myqcloud.com/k", "0" * 32)
    assert client.download_sequence(seq.url, seq.md5.upper())
    assert client.download_sequence(seq.url)  # nothing to check against
    with pytest.raises(e.IntegrityError):
        client.download_sequence(seq.url, "f" * 32)
    ok = rows(call_log)["seq_md5_ok"].tolist()
    assert ok[1] is True and pd_isna(ok[2]) and ok[3] is False
    missing = ReflectSequence(seq.url.replace(".bin?", "-gone.bin?"), seq.md5, "r", "4", "c")
    with pytest.raises(e.HTTPStatusError) as info:
        client.download_sequence(missing)
    assert info.value.status == 404


def test_log_none_writes_data_calls_sqlite_under_the_working_directory(
    fault_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with FaceIDClient(
        "ap-singapore", endpoint=fault_server.endpoint, credential=FIXTURE_CREDENTIAL
    ) as client:
        client.create_upload_url()
    assert len(load_calls(tmp_path / "data" / "calls.sqlite")) == 1


def test_log_false_writes_nothing_and_a_path_is_opened(
    fault_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with FaceIDClient(
        "ap-singapore", endpoint=fault_server.endpoint, credential=FIXTURE_CREDENTIAL, log=False
    ) as client:
        assert client.log is None
        client.create_upload_url()
    assert not (tmp_path / "data").exists()
    with FaceIDClient(
        "ap-singapore",
        endpoint=fault_server.endpoint,
        credential=FIXTURE_CREDENTIAL,
        log=str(tmp_path / "x" / "mine.sqlite"),
    ) as client:
        client.create_upload_url()
    assert len(load_calls(tmp_path / "x" / "mine.sqlite")) == 1


def test_credential_from_the_environment(
    fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", FIXTURE_CREDENTIAL.secret_id)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", FIXTURE_CREDENTIAL.secret_key)
    monkeypatch.delenv("TENCENTCLOUD_TOKEN", raising=False)
    with FaceIDClient("ap-bangkok", endpoint=fault_server.endpoint, log=False) as client:
        assert client.credential.source == "environment"
        client.create_upload_url()
    assert fault_server.requests[0].signature_ok


def test_loopback_is_never_sent_through_a_proxy(
    fault_server: FaultServer, refused_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, refused_url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with FaceIDClient(
        "ap-singapore", endpoint=fault_server.endpoint, credential=FIXTURE_CREDENTIAL, log=False
    ) as client:
        data = client.upload_device_data(DATA)
        seq = client.generate_reflect_sequence(data.url, data.md5)
        assert client.download_sequence(seq)
    assert fault_server.count == 4


def test_a_non_ascii_upload_link_is_percent_encoded(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer
) -> None:
    link = fault_server.cos_url("ap-singapore", "uploads/données ü.bin")
    fault_server.script(
        s.envelope(
            UploadUrl=link.replace(" ", "%20"),
            ResourceUrl=link.split("?")[0].replace(" ", "%20"),
            ExpiredTimestamp=1,
        )
    )
    make_client().upload_device_data(DATA)
    put = fault_server.requests[1]
    assert put.method == "PUT" and "/uploads/donn%C3%A9es%20%C3%BC.bin?" in put.path


def test_a_session_of_your_own_and_an_unexpected_failure_in_it(
    fault_server: FaultServer, call_log: CallLog
) -> None:
    import requests
    from requests.adapters import HTTPAdapter

    class Exploding(HTTPAdapter):
        def send(self, *args: object, **kwargs: object) -> requests.Response:
            raise RuntimeError("adapter bug")

    session = requests.Session()
    session.mount("http://127.0.0.1", Exploding())
    with (
        FaceIDClient(
            "ap-singapore",
            endpoint=fault_server.endpoint,
            credential=FIXTURE_CREDENTIAL,
            log=call_log,
            session=session,
            retries=3,
        ) as client,
        pytest.raises(RuntimeError, match="adapter bug"),
    ):
        client.create_upload_url()
    row = rows(call_log).iloc[0]
    assert row["outcome"] == "network_error" and row["error_code"] == "RuntimeError"
    assert fault_server.count == 0 and call_log.count() == 1  # not retried: not a known failure
    session.get_adapter("http://127.0.0.1/").close()
