"""5b. Hostile input to the emulator at the HTTP layer: raw-socket junk, broken framing, floods.

The emulator's own fuzz tests work at the API level (parameters, signatures, actions).  These
work below it, over a raw TCP socket: random bytes, request lines that are not HTTP, malformed
or conflicting framing (``Content-Length``, ``Transfer-Encoding: chunked``), header floods (too
many, too long, not UTF-8, without a colon, folded), bodies that end early.  Whatever comes back
to an API path must be one HTTP response: status 200, ``Content-Type: application/json``, and a
valid API 3.0 error envelope (``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``).
After it all the emulator still answers a real signed call.
"""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from faceid_tools.client import FaceIDClient
from faceid_tools.emulator.server import Emulator
from tests.reliability.conftest import Recorder
from tests.reliability.settings import SEED, count

EXAMPLES = count(150, 1500)
READ_TIMEOUT_S = 20.0
_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3}) [^\r\n]*\r\n")
_CODE = re.compile(r"^[A-Z][A-Za-z]*(\.[A-Za-z]+)*$")


@dataclass
class Tally:
    sent: int = 0
    answered: int = 0
    silent: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    bad: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator("reliable", seed=SEED, quota=False, time_scale=0.0) as emulator:
        yield emulator


def exchange(emu: Emulator, data: bytes) -> bytes:
    """Send ``data`` on a fresh connection, close our side, read everything until EOF."""
    with socket.create_connection(("127.0.0.1", emu.port), timeout=READ_TIMEOUT_S) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server may close on us mid-send: read what it said
            pass
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def envelope_problem(answer: bytes, *, head: bool = False) -> str | None:
    """Why ``answer`` is not one HTTP response carrying a valid error envelope (None if it is).

    ``head``: the answer to a HEAD request, which has the headers of one and no body.
    """
    status = _STATUS.match(answer)
    if status is None:
        return f"not an HTTP/1.x status line: {answer[:80]!r}"
    top, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        return "no end of headers"
    headers: dict[str, str] = {}
    for line in top.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            return f"bad header line {line[:60]!r}"
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    if status.group(1) != b"200":
        return f"HTTP {status.group(1).decode()} (the API answers 200): {body[:80]!r}"
    if headers.get("content-type") != "application/json":
        return f"Content-Type {headers.get('content-type')!r}"
    length = headers.get("content-length")
    if head:
        return None if not body and length is not None and length.isdigit() else "HEAD body"
    if length is None or not length.isdigit() or int(length) != len(body):
        return f"Content-Length {length!r} but {len(body)} body bytes"
    try:
        doc = json.loads(body)
        resp = doc["Response"]
        err = resp["Error"]
        code, message, rid = err["Code"], err["Message"], resp["RequestId"]
    except (ValueError, KeyError, TypeError) as exc:
        return f"not an error envelope ({type(exc).__name__}): {body[:120]!r}"
    if set(doc) != {"Response"} or set(resp) != {"Error", "RequestId"}:
        return f"extra fields: {body[:120]!r}"
    if not isinstance(code, str) or not _CODE.match(code) or not isinstance(message, str):
        return f"bad Code/Message: {body[:120]!r}"
    try:
        uuid.UUID(rid)
    except (ValueError, TypeError, AttributeError):
        return f"RequestId {rid!r} is not a UUID"
    return None


# --- strategies: what arrives on the socket ------------------------------------------------

_TOKEN = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20
)
_JUNK = st.binary(max_size=200)
_API_HEADERS = [
    b"Host: 127.0.0.1",
    b"Content-Type: application/json",
    b"X-TC-Action: GenerateReflectSequence",
    b"X-TC-Version: 2018-03-01",
    b"X-TC-Region: ap-singapore",
    b"X-TC-Timestamp: 1700000000",
    b"Authorization: TC3-HMAC-SHA256 Credential=AKIDx/2023-11-14/faceid/tc3_request, "
    b"SignedHeaders=content-type;host, Signature=" + b"0" * 64,
]
_BODY = b'{"DeviceDataUrl":"https://b-1250000000.cos.ap-singapore.myqcloud.com/x","DeviceDataMd5":"0123456789abcdef0123456789abcdef","SecurityLevel":"4"}'

methods = st.one_of(
    st.sampled_from([b"POST", b"GET", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH", b"TRACE"]),
    _TOKEN.map(str.encode),
    st.binary(min_size=1, max_size=12).filter(lambda b: b" " not in b and b"\n" not in b),
)
targets = st.one_of(
    st.just(b"/"),
    st.sampled_from([b"/?Action=GenerateReflectSequence", b"//", b"/%00", b"/..%2f..", b"*"]),
    st.binary(max_size=60).filter(lambda b: not b.startswith((b"/cos", b"/_emulator"))),
    st.integers(66_000, 200_000).map(lambda n: b"/" + b"a" * n),
)
versions = st.one_of(
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/9.9", b"HTTP/1", b"HTTP/", b""]),
    st.binary(max_size=10),
)


@st.composite
def headers(draw: st.DrawFn) -> list[bytes]:
    lines = list(draw(st.sampled_from([_API_HEADERS, _API_HEADERS[:3], []])))
    kind = draw(
        st.sampled_from(["none", "many", "long", "binary", "nocolon", "folded", "dupe", "junk"])
    )
    if kind == "many":
        lines += [b"X-Flood-%d: %d" % (i, i) for i in range(draw(st.integers(90, 3000)))]
    elif kind == "long":
        lines.append(b"X-Long: " + b"v" * draw(st.integers(8_000, 300_000)))
    elif kind == "binary":
        lines.append(b"X-Bin: " + draw(st.binary(min_size=1, max_size=100)).replace(b"\n", b""))
    elif kind == "nocolon":
        lines.append(draw(_TOKEN).encode())
    elif kind == "folded":
        lines += [b"X-Folded: a", b" continued", b"\tagain"]
    elif kind == "dupe":
        lines += [b"X-TC-Action: CreateUploadUrl", b"Authorization: x", b"Host: evil.example"]
    elif kind == "junk":
        lines += draw(st.lists(_JUNK.map(lambda b: b.replace(b"\n", b"")), max_size=5))
    return lines


@st.composite
def framing(draw: st.DrawFn) -> tuple[list[bytes], bytes]:
    """Body framing headers and the body that follows (often disagreeing)."""
    body = draw(st.one_of(st.just(_BODY), _JUNK, st.just(b"")))
    kind = draw(
        st.sampled_from(["exact", "short", "long", "huge", "negative", "text", "twice", "chunked"])
    )
    if kind == "exact":
        return [b"Content-Length: %d" % len(body)], body
    if kind == "short":
        return [b"Content-Length: %d" % max(0, len(body) - 5)], body
    if kind == "long":
        return [b"Content-Length: %d" % (len(body) + draw(st.integers(1, 5000)))], body
    if kind == "huge":
        return [b"Content-Length: %d" % draw(st.integers(10**7, 10**19))], body
    if kind == "negative":
        return [b"Content-Length: -%d" % draw(st.integers(1, 10**6))], body
    if kind == "text":
        return [b"Content-Length: " + draw(_TOKEN).encode()], body
    if kind == "twice":
        return [b"Content-Length: %d" % len(body), b"Content-Length: 3"], body
    size = draw(
        st.one_of(
            st.just(b"%x" % len(body)), st.sampled_from([b"zz", b"-1", b"ffffffffffffffffff", b""])
        )
    )
    end = draw(st.sampled_from([b"\r\n0\r\n\r\n", b"", b"\r\n"]))
    return [b"Transfer-Encoding: chunked"], size + b"\r\n" + body + end


@st.composite
def http_like(draw: st.DrawFn) -> bytes:
    line = draw(methods) + b" " + draw(targets) + b" " + draw(versions)
    head = draw(headers())
    frame, body = draw(framing())
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))
    return eol.join([line, *head, *frame]) + eol + eol + body


raw_junk = st.one_of(
    st.binary(min_size=1, max_size=2000),
    http_like(),
    st.binary(min_size=1, max_size=50).map(lambda b: b + b"\r\n\r\n"),
)


def request_words(data: bytes) -> list[str]:
    """The request line's words as ``http.server`` splits them (latin-1, any whitespace)."""
    return str(data.split(b"\n", 1)[0], "iso-8859-1").rstrip("\r\n").split()


def target_of(data: bytes) -> str:
    words = request_words(data)
    return words[1] if len(words) > 1 else ""


@pytest.mark.timeout(900)
def test_every_answer_to_junk_is_an_error_envelope(emu: Emulator, figures: Recorder) -> None:
    tally = Tally()

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=raw_junk)
    def check(data: bytes) -> None:
        tally.sent += 1
        answer = exchange(emu, data)
        if not answer:
            tally.silent += 1
            return
        tally.answered += 1
        if target_of(data).startswith(("/cos", "/_emulator")):
            return  # not an API path (never drawn on purpose)
        problem = envelope_problem(answer)
        head_only = False
        if problem is not None and request_words(data)[:1] == ["HEAD"]:
            # a HEAD request gets the headers of the answer without its body
            head_only = envelope_problem(answer, head=True) is None
            problem = None if head_only else problem
        if problem is None and not head_only:
            code = json.loads(answer.partition(b"\r\n\r\n")[2])["Response"]["Error"]["Code"]
            tally.codes[code] = tally.codes.get(code, 0) + 1
        elif problem is not None:
            tally.bad.append(f"{data[:100]!r} -> {problem}")
        assert problem is None, problem

    try:
        check()
    finally:
        alive = _still_answers(emu)
        figures.add(
            "raw-socket junk, broken framing, header floods",
            tally.sent,
            detail={
                "answered": tally.answered,
                "closed without answer": tally.silent,
                "not a valid error envelope": len(tally.bad),
                "error codes": ", ".join(f"{c} {n}" for c, n in sorted(tally.codes.items())),
                "signed call answered afterwards": "yes" if alive else "NO",
            },
        )
    assert alive


def _still_answers(emu: Emulator) -> bool:
    with FaceIDClient(
        "ap-singapore", endpoint=emu.endpoint, credential=emu.credential, log=False, rate_limit=None
    ) as client:
        data = client.upload_device_data(b"still alive?")
        seq = client.generate_reflect_sequence(data.url, data.md5, 4)
        return bool(client.download_sequence(seq))


def test_idle_and_stalled_connections_do_not_block_others(emu: Emulator, figures: Recorder) -> None:
    """Connections that send nothing, or half a request, and hold on: others are still served."""
    held: list[socket.socket] = []
    try:
        for i in range(count(64, 256)):
            sock = socket.create_connection(("127.0.0.1", emu.port), timeout=10)
            if i % 2:
                sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
            held.append(sock)
        answer = exchange(emu, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        problem = envelope_problem(answer)
        alive = _still_answers(emu)
    finally:
        for sock in held:
            sock.close()
    figures.add(
        "idle and half-sent connections held open",
        len(held),
        detail={
            "not a valid error envelope": int(problem is not None),
            "signed call answered afterwards": "yes" if alive else "NO",
        },
    )
    assert problem is None, problem
    assert alive
