"""Secrets never leave: not into the SQLite file, a log line, an exception or a repr.

One credential with a key and a session token, presigned URLs (``q-ak``/``q-signature``) for the
device data, the upload link and the light sequence, and the signatures actually sent are pushed
through every path -- success, API error, HTTP error, network error, timeout, integrity error,
validation error -- with stdlib logging at DEBUG for every logger (urllib3 prints request paths
with their query at DEBUG).  Then every byte written is searched for every secret.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from faceid_tools import errors as e
from faceid_tools.calllog.store import CallLog
from faceid_tools.client import FaceIDClient
from faceid_tools.client.credentials import Credential
from tests.fixtures import servers as s
from tests.fixtures.servers import PRESIGN_AK, PRESIGN_SIGNATURE, FaultServer

KEY = "SeCrEtKeY0must0never0leak0123456789"
TOKEN = "ToKeN0must0never0leak0abcdef0123456"
CREDENTIAL = Credential("AKIDsecretsTESTid000000000000000000", KEY, TOKEN)
DD_AK = "AKIDdeviceDATApresignLEAK0000000"
DD_SIG = "d1e2a3d4b5e6e7f8a9d0c1a2f3e4b5a6c7d8e9f0"
DD_URL = (
    "https://faceid-x-1250000000.cos.ap-singapore.myqcloud.com/device/data.bin"
    f"?q-sign-algorithm=sha1&q-ak={DD_AK}&q-sign-time=1700000000;1900000000"
    f"&q-key-time=1700000000;1900000000&q-header-list=host&q-url-param-list=&q-signature={DD_SIG}"
)
DD_MD5 = "0123456789abcdef0123456789abcdef"
FIXED_SECRETS = (KEY, TOKEN, DD_AK, DD_SIG, PRESIGN_AK, PRESIGN_SIGNATURE)


def _leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    return [x for x in secrets if x in text]


def test_no_secret_reaches_the_log_file_log_lines_exceptions_or_reprs(
    fault_server: FaultServer,
    refused_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 included
    fault_server.credential = CREDENTIAL
    log_dir = tmp_path / "log"
    log = CallLog(log_dir / "calls.sqlite")
    texts: list[str] = []
    raised: list[BaseException] = []

    def make(**kw: object) -> FaceIDClient:
        args: dict[str, object] = {
            "endpoint": fault_server.endpoint,
            "credential": CREDENTIAL,
            "log": log,
            "rate_limit": None,
            "retries": 0,
            "timeout": 0.5,
            "sleep": lambda _: None,
        }
        args.update(kw)
        return FaceIDClient("ap-singapore", **args)  # type: ignore[arg-type]

    def expect(exc_type: type[BaseException], fn: Callable[[], object]) -> None:
        with pytest.raises(exc_type) as info:
            fn()
        raised.append(info.value)

    client = make()
    texts += [repr(client), str(client), repr(CREDENTIAL), str(CREDENTIAL), repr(log)]

    # success: upload (presigned PUT), generate (presigned device data), download (presigned GET)
    data = client.upload_device_data(b"device data")
    seq = client.generate_reflect_sequence(DD_URL, DD_MD5, 4)
    client.download_sequence(seq)
    link = client.create_upload_url()
    texts += [repr(data), str(seq), repr(seq), repr(link), str(link)]

    # an API error whose message echoes the URL, the key and the token
    fault_server.script(
        s.api_error("FailedOperation.DownLoadError", f"cannot fetch {DD_URL} key={KEY} {TOKEN}")
    )
    expect(e.DownloadError, lambda: client.generate_reflect_sequence(DD_URL, DD_MD5))
    # an HTTP error page that echoes them too (and would be cut in the middle of one)
    page = f"<html><body><p>{'x' * 90} {TOKEN} {DD_URL} {KEY}</p></body></html>"
    fault_server.script(s.raw(502, page, "text/html"))
    expect(e.HTTPStatusError, lambda: client.generate_reflect_sequence(DD_URL, DD_MD5))
    # a download that fails with a page echoing its presigned query
    fault_server.script(s.raw(403, f"<Error>{seq.url}</Error>", "application/xml"))
    expect(e.HTTPStatusError, lambda: client.download_sequence(seq))
    # network errors: a refused endpoint, and a presigned upload link on a refused port
    expect(
        e.NetworkError, lambda: make(endpoint=refused_url).generate_reflect_sequence(DD_URL, DD_MD5)
    )
    bad_link = (
        refused_url + "/cos/b-1.cos.ap-singapore.myqcloud.com/k" + DD_URL[DD_URL.index("?") :]
    )
    fault_server.script(
        s.envelope(UploadUrl=bad_link, ResourceUrl=refused_url + "/cos/x/k", ExpiredTimestamp=1)
    )
    expect(e.NetworkError, lambda: client.upload_device_data(b"x"))
    # a timeout on a presigned download, a reset in the middle of one
    fault_server.script(s.hang())
    expect(e.RequestTimeoutError, lambda: client.download_sequence(seq))
    fault_server.script(s.reset_mid_body())
    expect(e.NetworkError, lambda: client.download_sequence(seq))
    # an integrity error on a presigned download
    fault_server.corrupt_sequences = True
    bad_seq = client.generate_reflect_sequence(DD_URL, DD_MD5)
    expect(e.IntegrityError, lambda: client.download_sequence(bad_seq))
    # a validation error on a presigned URL of another region
    expect(
        e.ValidationError,
        lambda: client.generate_reflect_sequence(
            DD_URL.replace("ap-singapore", "ap-bangkok"), DD_MD5
        ),
    )

    for exc in raised:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]

    # the signatures the client actually sent are secrets too
    sent = [r.headers.get("Authorization", "") for r in fault_server.requests]
    signatures = tuple(m.group(1) for a in sent if (m := re.search(r"Signature=([0-9a-f]{64})", a)))
    assert len(signatures) >= 6
    assert any(r.headers.get("X-TC-Token") == TOKEN for r in fault_server.requests)
    secrets = FIXED_SECRETS + signatures

    # the presigned values really went over the wire (so their absence below means something)
    assert any(PRESIGN_SIGNATURE in r.path for r in fault_server.requests)
    assert any(DD_SIG in r.body.decode() for r in fault_server.requests if r.method == "POST")
    # urllib3 printed request lines at DEBUG (with their query, before redaction)
    assert "/cos/" in caplog.text and "q-signature=***" in caplog.text

    assert _leaks("\n".join(texts), secrets) == []
    assert _leaks(caplog.text, secrets) == []
    assert _leaks("\n".join(r.getMessage() for r in caplog.records), secrets) == []

    def file_bytes() -> bytes:
        return b"".join(p.read_bytes() for p in sorted(log_dir.iterdir()) if p.is_file())

    assert log.count() >= 12
    live = file_bytes()  # the database and its WAL while the log is open
    log.close()
    closed = file_bytes()  # after the checkpoint on close
    for blob in (live, closed):
        assert [x for x in secrets if x.encode() in blob] == []
    assert b"faceid-x-1250000000.cos.ap-singapore.myqcloud.com/device/data.bin" in closed


def test_the_redacting_filter_is_on_the_http_loggers() -> None:
    import faceid_tools.client  # noqa: F401  (installs the filter)
    from faceid_tools.client.redact import HTTP_LOGGERS, RedactingFilter

    for name in HTTP_LOGGERS:
        assert any(isinstance(f, RedactingFilter) for f in logging.getLogger(name).filters)
    record = logging.LogRecord(
        "urllib3.connectionpool",
        logging.DEBUG,
        __file__,
        1,
        '"%s %s" %s',
        ("PUT", DD_URL, 200),
        None,
    )
    assert RedactingFilter().filter(record)
    assert DD_SIG not in record.getMessage() and DD_AK not in record.getMessage()
