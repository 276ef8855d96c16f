"""Every answer, good or bad, becomes a value or a distinct typed error, and one logged row."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from faceid_tools import __version__
from faceid_tools import errors as e
from faceid_tools.calllog.store import CallLog
from faceid_tools.client import FaceIDClient
from faceid_tools.client.credentials import Credential
from tests.client.conftest import MD5, SG_URL, rows
from tests.fixtures import servers as s
from tests.fixtures.servers import FaultServer

SEQ_URL = "https://faceid-seq-1250000000.cos.ap-singapore.myqcloud.com/seq/abc.bin"
SEQ_MD5 = "c4ca4238a0b923820dcc509a6f75849b"


def _only_row(log: CallLog) -> dict[str, object]:
    df = rows(log)
    assert len(df) == 1
    return df.iloc[0].to_dict()


def test_success_is_parsed_exactly_and_logged(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer, call_log: CallLog
) -> None:
    fault_server.script(
        s.envelope(ReflectSequenceUrl=SEQ_URL, ReflectSequenceMd5=SEQ_MD5, RequestId="req-1")
    )
    seq = make_client().generate_reflect_sequence(
        SG_URL, MD5, 1, campaign_id="camp", call_id="call-1"
    )
    assert (seq.url, seq.md5, seq.request_id, seq.security_level, seq.call_id) == (
        SEQ_URL,
        SEQ_MD5,
        "req-1",
        "1",
        "call-1",
    )
    row = _only_row(call_log)
    sent = fault_server.requests[0]
    assert row["call_id"] == "call-1" and row["campaign_id"] == "camp" and row["attempt"] == 1
    assert row["action"] == "GenerateReflectSequence" and row["outcome"] == "ok"
    assert row["region"] == "ap-singapore" and row["security_level"] == "1"
    assert row["endpoint"] == f"127.0.0.1:{fault_server.port}"
    assert row["http_status"] == 200 and row["request_id"] == "req-1"
    assert row["request_bytes"] == len(sent.body)
    assert row["response_bytes"] > 100
    assert row["device_data_url"] == SG_URL and row["device_data_md5"] == MD5
    assert row["sequence_url"] == SEQ_URL and row["sequence_md5"] == SEQ_MD5
    assert row["latency_ms"] > 0 and row["queued_ms"] == 0
    assert row["client_version"] == __version__ and row["simulated"] is False
    assert str(row["started_at"].tz) == "UTC"  # type: ignore[union-attr]


def test_request_shape(make_client: Callable[..., FaceIDClient], fault_server: FaultServer) -> None:
    make_client().generate_reflect_sequence(SG_URL, MD5, 3)
    sent = fault_server.requests[0]
    assert sent.method == "POST" and sent.path == "/"
    assert (
        sent.body
        == json.dumps(
            {"DeviceDataUrl": SG_URL, "DeviceDataMd5": MD5, "SecurityLevel": "3"},
            separators=(",", ":"),
        ).encode()
    )
    h = sent.headers
    assert h["Content-Type"] == "application/json"
    assert h["Host"] == f"127.0.0.1:{fault_server.port}"
    assert h["X-TC-Action"] == "GenerateReflectSequence"
    assert h["X-TC-Version"] == "2018-03-01"
    assert h["X-TC-Region"] == "ap-singapore"
    assert h["X-TC-Timestamp"].isdigit()
    assert h["Authorization"].startswith(
        f"TC3-HMAC-SHA256 Credential={s.FIXTURE_CREDENTIAL.secret_id}/"
    )
    assert "X-TC-Token" not in h
    assert sent.signature_ok is True


def test_session_token_is_sent(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer
) -> None:
    temp = Credential("AKIDtempTEMPORARY000000000000000", "tempSECRETkey00000000000000", "tok-123")
    fault_server.credential = temp
    make_client(credential=temp).generate_reflect_sequence(SG_URL, MD5)
    assert fault_server.requests[0].headers["X-TC-Token"] == "tok-123"
    assert fault_server.requests[0].signature_ok is True


@pytest.mark.parametrize(
    ("code", "cls", "builtin"),
    [
        ("AuthFailure.SignatureFailure", e.AuthError, None),
        ("AuthFailure.SignatureExpire", e.AuthError, None),
        ("RequestLimitExceeded", e.QuotaError, None),
        ("InvalidParameterValue", e.InvalidInputError, ValueError),
        ("UnsupportedRegion", e.InvalidInputError, ValueError),
        ("FailedOperation.DownLoadError", e.DownloadError, None),
        ("FailedOperation.DownLoadTimeoutError", e.DownloadError, None),
        ("InternalError", e.ServerError, None),
        ("ServiceUnavailable", e.ServerError, None),
        ("FailedOperation.SomethingNew", e.APIError, None),
    ],
)
def test_api_errors_are_typed(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    call_log: CallLog,
    code: str,
    cls: type[e.APIError],
    builtin: type[Exception] | None,
) -> None:
    fault_server.script(s.api_error(code, "the service says no"))
    with pytest.raises(cls) as info:
        make_client().generate_reflect_sequence(SG_URL, MD5)
    err = info.value
    assert isinstance(err, e.APIError) and type(err) is cls
    if builtin is not None:
        assert isinstance(err, builtin)
    assert err.code == code and err.message == "the service says no"
    assert err.request_id and len(err.request_id) == 36
    assert err.attempts == 1 and err.call_id
    row = _only_row(call_log)
    assert row["outcome"] == "api_error" and row["error_code"] == code
    assert row["error_message"] == "the service says no"
    assert row["request_id"] == err.request_id and row["http_status"] == 200
    assert row["call_id"] == err.call_id
    assert fault_server.count == 1


BAD_ANSWERS = [
    (s.html_error(500), e.HTTPStatusError, "http_error"),
    (s.html_error(502), e.HTTPStatusError, "http_error"),
    (s.html_error(503), e.HTTPStatusError, "http_error"),
    (
        s.raw(200, json.dumps({"Response": {"RequestId": "x"}}), "text/html"),
        e.ContentTypeError,
        "bad_response",
    ),
    (
        s.raw(200, json.dumps({"Response": {"RequestId": "x"}}), "text/plain"),
        e.ContentTypeError,
        "bad_response",
    ),
    (
        s.raw(200, json.dumps({"Response": {"RequestId": "x"}}), None),
        e.ContentTypeError,
        "bad_response",
    ),
    (s.raw(200, "<html>not json</html>"), e.NotJSONError, "bad_response"),
    (s.raw(200, "[1, 2, 3]"), e.NotJSONError, "bad_response"),
    (s.raw(200, b"\xff\xfe\x00garbage"), e.NotJSONError, "bad_response"),
    (s.truncated_json(), e.NotJSONError, "bad_response"),
    (s.json_reply({"Reply": {}}), e.MissingResponseError, "bad_response"),
    (s.json_reply({"Response": "ok"}), e.MissingResponseError, "bad_response"),
    (
        s.json_reply({"Response": {"Error": {"Message": "no code"}, "RequestId": "r"}}),
        e.MissingFieldError,
        "bad_response",
    ),
    (s.oversized(2 << 20), e.ResponseTooLargeError, "bad_response"),
    (s.oversized(2 << 20, chunked=True), e.ResponseTooLargeError, "bad_response"),
]


@pytest.mark.parametrize(("reply", "cls", "outcome"), BAD_ANSWERS)
def test_bad_answers_are_typed(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    call_log: CallLog,
    reply: s.Reply,
    cls: type[e.FaceIDError],
    outcome: str,
) -> None:
    fault_server.script(reply)
    with pytest.raises(cls) as info:
        make_client().generate_reflect_sequence(SG_URL, MD5)
    assert type(info.value) is cls
    assert isinstance(info.value, e.BadResponseError)
    row = _only_row(call_log)
    assert row["outcome"] == outcome and row["error_code"] == cls.code
    if isinstance(info.value, e.HTTPStatusError):
        assert info.value.status == row["http_status"]
        assert "Bad Gateway-ish" in info.value.message  # a readable snippet of the page


@pytest.mark.parametrize("field", ["ReflectSequenceUrl", "ReflectSequenceMd5", "RequestId"])
@pytest.mark.parametrize("how", ["missing", "empty", "wrong type"])
def test_missing_fields(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    call_log: CallLog,
    field: str,
    how: str,
) -> None:
    fields: dict[str, object] = {
        "ReflectSequenceUrl": SEQ_URL,
        "ReflectSequenceMd5": SEQ_MD5,
        "RequestId": "req-9",
    }
    if how == "missing":
        del fields[field]
    else:
        fields[field] = "" if how == "empty" else 12345
    fault_server.script(s.json_reply({"Response": fields}))
    with pytest.raises(e.MissingFieldError) as info:
        make_client().generate_reflect_sequence(SG_URL, MD5)
    assert info.value.field == field
    assert field in str(info.value)
    assert _only_row(call_log)["outcome"] == "bad_response"


def test_charset_parameter_is_accepted(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer
) -> None:
    body = json.dumps(
        {
            "Response": {
                "ReflectSequenceUrl": SEQ_URL,
                "ReflectSequenceMd5": SEQ_MD5,
                "RequestId": "r",
            }
        }
    )
    fault_server.script(s.raw(200, body, "Application/JSON; charset=utf-8"))
    assert make_client().generate_reflect_sequence(SG_URL, MD5).md5 == SEQ_MD5


def test_connection_refused(
    make_client: Callable[..., FaceIDClient], refused_url: str, call_log: CallLog
) -> None:
    with pytest.raises(e.NetworkError) as info:
        make_client(endpoint=refused_url).generate_reflect_sequence(SG_URL, MD5)
    assert isinstance(info.value, ConnectionError)
    assert "refused" in str(info.value).lower()
    row = _only_row(call_log)
    assert row["outcome"] == "network_error" and row["error_code"] == "NetworkError"
    assert row["http_status"] is None or str(row["http_status"]) == "<NA>"


def test_connect_timeout(
    make_client: Callable[..., FaceIDClient], blackhole_url: str, call_log: CallLog
) -> None:
    with pytest.raises(e.RequestTimeoutError) as info:
        make_client(endpoint=blackhole_url, timeout=0.3).generate_reflect_sequence(SG_URL, MD5)
    assert isinstance(info.value, TimeoutError)
    assert "connect" in str(info.value)
    row = _only_row(call_log)
    assert row["outcome"] == "timeout" and row["latency_ms"] >= 300


def test_read_timeout(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer, call_log: CallLog
) -> None:
    fault_server.script(s.hang())
    with pytest.raises(e.RequestTimeoutError, match="read timeout"):
        make_client(timeout=0.3).generate_reflect_sequence(SG_URL, MD5)
    assert _only_row(call_log)["outcome"] == "timeout"


def test_a_body_dripping_slower_than_the_timeout_times_out(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer, call_log: CallLog
) -> None:
    body = json.dumps({"Response": {"RequestId": "r" * 40}}).encode()
    fault_server.script(s.drip(body, every=0.03))  # each byte well within the 0.3 s read timeout
    with pytest.raises(e.RequestTimeoutError, match="still arriving"):
        make_client(timeout=0.3).generate_reflect_sequence(SG_URL, MD5)
    row = _only_row(call_log)
    assert row["outcome"] == "timeout" and row["latency_ms"] >= 300


@pytest.mark.parametrize("reply", [s.reset_mid_body(), s.close_silently()], ids=["reset", "close"])
def test_connection_broken_mid_answer(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    call_log: CallLog,
    reply: s.Reply,
) -> None:
    fault_server.script(reply)
    client = make_client()
    with pytest.raises(e.NetworkError):
        client.generate_reflect_sequence(SG_URL, MD5)
    assert _only_row(call_log)["outcome"] == "network_error"
    # the broken connection is not reused: the next call works
    assert client.generate_reflect_sequence(SG_URL, MD5).md5


def test_connections_are_kept_alive(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer
) -> None:
    client = make_client()
    for _ in range(5):
        client.generate_reflect_sequence(SG_URL, MD5)
    fault_server.script(s.api_error("InvalidParameterValue"), s.html_error(502))
    for _ in range(2):
        with pytest.raises(e.FaceIDError):
            client.generate_reflect_sequence(SG_URL, MD5)
    client.generate_reflect_sequence(SG_URL, MD5)
    assert fault_server.count == 8
    assert fault_server.connections == 1
