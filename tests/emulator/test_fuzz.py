"""Bad input never breaks the emulator: hypothesis throws junk at it over real sockets.

Three generators: raw bytes; HTTP-shaped requests with random methods, paths, missing /
repeated / huge / non-UTF-8 headers, wrong lengths and junk bodies; and correctly signed requests
whose parameters are random JSON.  Every answer must be HTTP 200, ``Content-Type:
application/json`` exactly, a well-formed API 3.0 envelope with a UUID RequestId — and never
``InternalError`` (the profile draws no faults, so InternalError would be an emulator bug).
Afterwards the server still answers a valid call.

The proxy entry point gets its own: ``CONNECT`` lines with random targets, versions and headers
followed by junk where the TLS handshake should be; absolute-form requests to random hosts; and
junk sent inside a real TLS tunnel.  Each is answered by the proxy (200 to open a tunnel, 400 /
403 in plain text) or by the API / COS answer for a served host, or simply closed — never 5xx.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faceid_tools.client import signing
from faceid_tools.emulator.server import Emulator

from ._api import UUID_RE, error_code, generate, upload

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_LONG = settings(FUZZ, max_examples=1500)


@pytest.fixture(scope="module")
def fuzz_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    ca_dir = tmp_path_factory.mktemp("fuzz-ca")
    with Emulator("reliable", seed=1, quota=False, time_scale=0.0, ca_dir=ca_dir) as emu:
        yield emu


# --- talking HTTP by hand ----------------------------------------------------------------------


def exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        try:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before reading everything
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def parse_answer(raw: bytes, *, head: bool = False) -> tuple[int, dict[str, list[str]], bytes]:
    while True:
        assert b"\r\n\r\n" in raw, f"no complete answer: {raw[:200]!r}"
        header_block, _, rest = raw.partition(b"\r\n\r\n")
        lines = header_block.decode("latin-1").split("\r\n")
        version, status, *_ = lines[0].split(" ", 2)
        assert version in ("HTTP/1.0", "HTTP/1.1"), lines[0]
        if status.startswith("1"):  # 100 Continue before the answer
            raw = rest
            continue
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        length = int(headers["content-length"][0])
        body = b"" if head else rest[:length]
        assert head or len(body) == length
        return int(status), headers, body


def assert_envelope(raw: bytes, *, head: bool = False) -> dict[str, Any] | None:
    status, headers, body = parse_answer(raw, head=head)
    assert status == 200
    assert headers["content-type"] == ["application/json"]
    if head:
        return None
    payload = json.loads(body)
    assert set(payload) == {"Response"}
    resp = payload["Response"]
    assert isinstance(resp, dict) and UUID_RE.match(resp["RequestId"])
    if "Error" in resp:
        err = resp["Error"]
        assert set(err) == {"Code", "Message"}
        assert isinstance(err["Code"], str) and err["Code"]
        assert isinstance(err["Message"], str) and err["Message"]
        assert err["Code"] != "InternalError", err
    return resp  # type: ignore[no-any-return]


# --- strategies ----------------------------------------------------------------------------------

HEADER_NAMES = [
    "Host",
    "Content-Type",
    "Content-Length",
    "Transfer-Encoding",
    "Authorization",
    "X-TC-Action",
    "X-TC-Version",
    "X-TC-Region",
    "X-TC-Timestamp",
    "X-TC-Token",
    "X-TC-Language",
    "X-TC-Content-SHA256",
    "Expect",
    "X-Custom",
]
header_text = st.one_of(
    st.sampled_from(
        [
            "",
            "GenerateReflectSequence",
            "CreateUploadUrl",
            "2018-03-01",
            "ap-singapore",
            "application/json",
            "chunked",
            "100-continue",
            "UNSIGNED-PAYLOAD",
            "-1",
            "99999999999999999999",
            "TC3-HMAC-SHA256 Credential=a/b/c/tc3_request, SignedHeaders=content-type;host, Signature=00",
        ]
    ),
    st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.integers(min_value=2000, max_value=70000).map(lambda n: b"a" * n),
)
header = st.tuples(
    st.one_of(
        st.sampled_from(HEADER_NAMES), st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True)
    ),
    header_text,
)
bodies = st.one_of(
    st.binary(max_size=2000),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=50),
        lambda inner: (
            st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5)
        ),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode()),
)


@st.composite
def http_requests(draw: st.DrawFn) -> tuple[bytes, bool]:
    method = draw(
        st.one_of(
            st.just("POST"),
            st.just("GET"),
            st.sampled_from(["PUT", "DELETE", "OPTIONS", "PATCH", "HEAD", "BREW", "G\xc9T"]),
        )
    )
    path = draw(
        st.one_of(
            st.just("/"),
            st.sampled_from(["/?a=b&a=c", "/?%ff%fe=1", "//", "/x", "/?" + "q" * 40000]),
            st.from_regex(r"/[A-Za-z0-9%._~?&=/-]{0,60}", fullmatch=True).filter(
                lambda p: not p.startswith(("/cos/", "/_emulator"))  # not API paths
            ),
        )
    )
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
    headers = draw(st.lists(header, max_size=12))
    body = draw(bodies)
    lines = [f"{method} {path} {version}".encode()]
    has_length = any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers)
    for name, value in headers:
        lines.append(
            name.encode() + b": " + (value if isinstance(value, bytes) else value.encode())
        )
    if not has_length and draw(st.booleans()):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body, method == "HEAD"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)
param_values = st.one_of(
    st.sampled_from(
        [
            "http://127.0.0.1:1/x",
            "https://a.cos.ap-singapore.myqcloud.com/k",
            "0" * 32,
            "1",
            "4",
            "GenerateReflectSequence",
            "",
        ]
    ),
    st.text(max_size=80),
    json_values,
)
ACTION_PARAMS = {
    "GenerateReflectSequence": ("DeviceDataUrl", "DeviceDataMd5", "SecurityLevel"),
    "CreateUploadUrl": ("TargetAction",),
}


@st.composite
def signed_calls(draw: st.DrawFn) -> tuple[str, Any]:
    """An action and its parameters: mostly its own names with odd values, sometimes extras."""
    action = draw(st.sampled_from(sorted(ACTION_PARAMS)))
    own = draw(st.fixed_dictionaries({}, optional={n: param_values for n in ACTION_PARAMS[action]}))
    kind = draw(st.integers(min_value=0, max_value=5))
    if kind == 0:
        return action, draw(json_values)
    if kind == 1:
        return action, {
            **draw(st.dictionaries(st.text(max_size=12), json_values, max_size=2)),
            **own,
        }
    return action, own


def signed_raw(emu: Emulator, action: str, body: bytes, region: str, method: str) -> bytes:
    host = f"127.0.0.1:{emu.port}"
    ts = int(time.time())
    query = ""
    if method == "GET":
        try:
            params = json.loads(body)
        except ValueError:
            params = {}
        query = (
            urlencode(
                {str(k): json.dumps(v) if not isinstance(v, str) else v for k, v in params.items()}
            )
            if isinstance(params, dict)
            else ""
        )
        body = b""
    ct = signing.POST_CONTENT_TYPE if method == "POST" else signing.GET_CONTENT_TYPE
    auth = signing.sign(
        secret_id=emu.credential.secret_id,
        secret_key=emu.credential.secret_key,
        service="faceid",
        host=host,
        method=method,
        timestamp=ts,
        payload=body,
        query=query,
        content_type=ct,
    ).authorization
    head = [
        f"{method} /{'?' + query if query else ''} HTTP/1.1",
        f"Host: {host}",
        f"Content-Type: {ct}",
        f"X-TC-Action: {action}",
        "X-TC-Version: 2018-03-01",
        f"X-TC-Region: {region}",
        f"X-TC-Timestamp: {ts}",
        f"Authorization: {auth}",
        f"Content-Length: {len(body)}",
    ]
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


# --- the properties ------------------------------------------------------------------------------


@FUZZ
@given(junk=st.binary(min_size=1, max_size=3000))
def test_raw_junk_gets_an_envelope(fuzz_emulator: Emulator, junk: bytes) -> None:
    assert_envelope(exchange(fuzz_emulator.port, junk))


@FUZZ
@given(request=http_requests())
def test_malformed_http_requests_get_an_envelope(
    fuzz_emulator: Emulator, request: tuple[bytes, bool]
) -> None:
    raw, head = request
    assert_envelope(exchange(fuzz_emulator.port, raw), head=head)


@FUZZ
@given(
    call=signed_calls(),
    region=st.sampled_from(["ap-singapore", "ap-bangkok", "ap-hongkong"]),
    method=st.sampled_from(["POST", "GET"]),
)
def test_signed_requests_with_junk_parameters_get_an_envelope(
    fuzz_emulator: Emulator, call: tuple[str, Any], region: str, method: str
) -> None:
    action, params = call
    raw = signed_raw(fuzz_emulator, action, json.dumps(params).encode(), region, method)
    resp = assert_envelope(exchange(fuzz_emulator.port, raw))
    assert resp is not None
    if "Error" in resp:
        assert not resp["Error"]["Code"].startswith("AuthFailure"), resp  # the signing is right


def test_still_serving_after_the_junk(fuzz_emulator: Emulator) -> None:
    device = upload(fuzz_emulator)
    assert error_code(generate(fuzz_emulator, device)) is None
    assert fuzz_emulator.stats()["in_flight"] <= 1


@pytest.mark.slow
@FUZZ_LONG
@given(request=http_requests())
def test_malformed_http_requests_long_run(
    fuzz_emulator: Emulator, request: tuple[bytes, bool]
) -> None:
    raw, head = request
    assert_envelope(exchange(fuzz_emulator.port, raw), head=head)


# --- the proxy entry point ------------------------------------------------------------------------

PROXY_HOSTS = st.one_of(
    st.sampled_from(
        [
            "faceid.intl.tencentcloudapi.com",
            "faceid.tencentcloudapi.com",
            "faceid.ap-singapore.tencentcloudapi.com",
            "faceid.ap-nowhere.tencentcloudapi.com",
            "faceid-emulator-sg-1250000000.cos.ap-singapore.myqcloud.com",
            "cvm.tencentcloudapi.com",
            "www.example.com",
            "127.0.0.1",
            "[::1]",
            "",
        ]
    ),
    st.from_regex(r"[A-Za-z0-9.:\[\]%@_-]{0,40}", fullmatch=True),
    st.text(max_size=30).filter(lambda t: "\r" not in t and "\n" not in t),
)
PORTS = st.one_of(
    st.sampled_from(["443", "80", "0", "65536", "", "-1", "443x"]), st.text(max_size=6)
)


def assert_proxy_answer(raw: bytes) -> None:
    """A proxy answer (tunnel opened, 400/403 in plain text), an API/COS answer, or a close."""
    if not raw:
        return
    head = raw.split(b"\r\n", 1)[0]
    if head == b"HTTP/1.1 200 Connection Established":
        return
    status, headers, _ = parse_answer(raw)
    assert status < 500, raw[:300]
    content_type = headers["content-type"][0]
    if status in (400, 403) and content_type.startswith("text/plain"):
        return
    if content_type == "application/xml":  # COS's answer for a bucket host
        return
    assert_envelope(raw)


@FUZZ
@given(
    host=PROXY_HOSTS,
    port=PORTS,
    version=st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "", "junk"]),
    headers=st.lists(header, max_size=4),
    after=st.one_of(st.just(b""), st.just(b"\x16\x03\x01\x02\x00\x01"), st.binary(max_size=600)),
)
def test_connect_junk_is_refused_or_closed(
    fuzz_emulator: Emulator,
    host: str,
    port: str,
    version: str,
    headers: list[tuple[str, Any]],
    after: bytes,
) -> None:
    target = f"{host}:{port}" if port else host
    lines = [f"CONNECT {target} {version}".rstrip().encode("utf-8", "surrogateescape")]
    for name, value in headers:
        lines.append(
            name.encode() + b": " + (value if isinstance(value, bytes) else value.encode())
        )
    raw = b"\r\n".join(lines) + b"\r\n\r\n" + after
    assert_proxy_answer(exchange(fuzz_emulator.port, raw))


@FUZZ
@given(
    scheme=st.sampled_from(["http", "https", "ftp", "HTTP"]),
    host=PROXY_HOSTS,
    port=st.one_of(st.just(""), PORTS.map(lambda p: ":" + p)),
    path=st.from_regex(r"/[A-Za-z0-9%._~?&=/-]{0,40}", fullmatch=True),
    method=st.sampled_from(["GET", "POST", "PUT", "HEAD", "DELETE"]),
    body=bodies,
)
def test_absolute_form_junk_gets_an_answer(
    fuzz_emulator: Emulator, scheme: str, host: str, port: str, path: str, method: str, body: bytes
) -> None:
    target = f"{scheme}://{host}{port}{path}"
    raw = (
        f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n".encode("utf-8", "surrogateescape")
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )
    answer = exchange(fuzz_emulator.port, raw)
    if method == "HEAD" and answer:
        assert parse_answer(answer, head=True)[0] < 500
    else:
        assert_proxy_answer(answer)


@FUZZ
@given(
    host=st.sampled_from(
        [
            "faceid.intl.tencentcloudapi.com",
            "faceid-emulator-sg-1250000000.cos.ap-singapore.myqcloud.com",
        ]
    ),
    request=http_requests(),
)
def test_junk_inside_a_tunnel_gets_an_answer(
    fuzz_emulator: Emulator, host: str, request: tuple[bytes, bool]
) -> None:
    raw, head = request
    ctx = ssl.create_default_context(cafile=str(fuzz_emulator.ca_path))
    with socket.create_connection(("127.0.0.1", fuzz_emulator.port), timeout=20) as sock:
        sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        with ctx.wrap_socket(sock, server_hostname=host) as tls:
            with contextlib.suppress(OSError):
                tls.sendall(raw)
            chunks = []
            while True:
                try:
                    chunk = tls.recv(65536)
                except (OSError, ssl.SSLError):
                    break
                if not chunk:
                    break
                chunks.append(chunk)
    answer = b"".join(chunks)
    assert answer, "the tunnel closed without an answer"
    status, _headers, _ = parse_answer(answer, head=head)
    assert status < 500
    if "cos" not in host and not head:
        assert_envelope(answer)


def test_still_serving_after_the_proxy_junk(fuzz_emulator: Emulator) -> None:
    device = upload(fuzz_emulator)
    assert error_code(generate(fuzz_emulator, device)) is None
