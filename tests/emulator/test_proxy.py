"""The emulator as a proxy: its CA, the hosts it answers for, refusals, and bad clients.

Raw sockets and ``ssl`` speak to it here the way an SDK's HTTP stack does; the official SDKs
themselves run through it in ``tests/sdk``.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import stat
from pathlib import Path

import pytest
import requests
from cryptography import x509

from faceid_tools.emulator import proxy
from faceid_tools.emulator.ca import CertificateAuthority, CertificateAuthorityError
from faceid_tools.emulator.objectstore import bucket_host
from faceid_tools.emulator.server import Emulator
from faceid_tools.errors import FaceIDError

from ._api import response_of, signed_headers, upload

API_HOST = "faceid.intl.tencentcloudapi.com"
SG_BUCKET = bucket_host("ap-singapore")


def connect(emu: Emulator, target: str) -> tuple[socket.socket, bytes]:
    """Open ``CONNECT target``; return the socket and the proxy's answer head."""
    sock = socket.create_connection((emu.host, emu.port), timeout=10)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return sock, head


def tunnel(emu: Emulator, host: str) -> ssl.SSLSocket:
    sock, head = connect(emu, f"{host}:443")
    assert head.startswith(b"HTTP/1.1 200 "), head
    ctx = ssl.create_default_context(cafile=str(emu.ca_path))
    return ctx.wrap_socket(sock, server_hostname=host)


def read_all(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def still_serving(emu: Emulator) -> None:
    assert upload(emu, b"still serving").md5  # a full CreateUploadUrl + PUT, direct


# -- the CA ------------------------------------------------------------------------------------
def test_ca_is_made_on_first_use_private_and_name_constrained(tmp_path: Path) -> None:
    emu = Emulator(ca_dir=tmp_path / "ca")
    assert not (tmp_path / "ca").exists()  # nothing until first used
    ca = emu.certificate_authority()
    assert stat.S_IMODE(ca.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(ca.directory.stat().st_mode) == 0o700
    cert = x509.load_pem_x509_certificate(ca.cert_path.read_bytes())
    constraints = cert.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert [n.value for n in constraints.value.permitted_subtrees or []] == [
        "tencentcloudapi.com",
        "myqcloud.com",
    ]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    # made once: another emulator with the same folder uses the same CA
    assert CertificateAuthority(tmp_path / "ca").cert == ca.cert


def test_ca_defaults_to_the_state_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert Emulator().ca_path == tmp_path / "faceid-tools" / "emulator-ca" / "ca.pem"


def test_ca_refuses_other_names_and_a_readable_key(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    with pytest.raises(CertificateAuthorityError, match="cannot vouch"):
        ca.issue("www.example.com")
    with pytest.raises(CertificateAuthorityError, match="cannot vouch"):
        ca.issue("tencentcloudapi.com.evil.example")
    os.chmod(ca.key_path, 0o644)
    with pytest.raises(CertificateAuthorityError, match="0600") as info:
        CertificateAuthority(tmp_path)
    assert isinstance(info.value, FaceIDError)


def test_sdk_env_has_every_variable(emulator: Emulator) -> None:
    env = emulator.sdk_env
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        assert env[name] == f"http://127.0.0.1:{emulator.port}"
    for name in ("NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        assert env[name] == str(emulator.ca_path) and Path(env[name]).exists()
    assert env["TENCENTCLOUD_SECRET_ID"] == emulator.credential.secret_id
    assert env["TENCENTCLOUD_SECRET_KEY"] == emulator.credential.secret_key
    assert "127.0.0.1" in env["NO_PROXY"]


# -- which hosts -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("faceid.tencentcloudapi.com", "api"),
        ("faceid.intl.tencentcloudapi.com", "api"),
        ("faceid.ap-singapore.tencentcloudapi.com", "api"),
        ("FACEID.AP-BANGKOK.TENCENTCLOUDAPI.COM", "api"),
        (SG_BUCKET, "cos"),
        ("faceid.ap-nowhere.tencentcloudapi.com", None),
        ("cvm.tencentcloudapi.com", None),
        ("evil.faceid.tencentcloudapi.com", None),
        ("faceid.tencentcloudapi.com.example.com", None),
        ("other-1250000000.cos.ap-singapore.myqcloud.com", None),
        ("www.example.com", None),
        ("127.0.0.1", None),
    ],
)
def test_served_hosts(host: str, kind: str | None) -> None:
    assert proxy.served(host) == kind


# -- absolute form -----------------------------------------------------------------------------
def test_absolute_form_api_call_gets_the_service_urls(emulator: Emulator) -> None:
    body = json.dumps({"TargetAction": "GenerateReflectSequence"}).encode()
    headers = signed_headers(emulator, "CreateUploadUrl", body=body, host=API_HOST)
    answer = requests.post(
        f"http://{API_HOST}/",
        data=body,
        headers=headers,
        proxies={"http": emulator.proxy_url},
        timeout=10,
    )
    resp = response_of(answer)
    assert resp["UploadUrl"].startswith(f"https://{SG_BUCKET}/faceid%2FGenerateReflectSequence%2F")
    assert resp["ResourceUrl"].startswith(f"https://{SG_BUCKET}/")


@pytest.mark.parametrize(
    "url",
    ["http://www.example.com/", "http://faceid.intl.tencentcloudapi.com:8080/", "http://10.0.0.1/"],
)
def test_absolute_form_to_other_hosts_is_refused(emulator: Emulator, url: str) -> None:
    answer = requests.get(url, proxies={"http": emulator.proxy_url}, timeout=10)
    assert answer.status_code == 403
    assert answer.text.startswith("faceid-tools emulator proxy: refused")
    assert emulator.stats()["outcomes"] == {}
    still_serving(emulator)


def test_absolute_form_to_the_emulator_itself_is_served(emulator: Emulator) -> None:
    answer = requests.get(
        f"{emulator.endpoint}/_emulator/", proxies={"http": emulator.proxy_url}, timeout=10
    )
    assert answer.status_code == 200


# -- CONNECT -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("www.example.com:443", b"403"),
        (f"{API_HOST}:80", b"403"),
        (f"{API_HOST}:8443", b"403"),
        ("127.0.0.1:443", b"403"),
        ("nonsense", b"400"),
        (":443", b"400"),
        ("a b:443", b"400"),
    ],
)
def test_connect_refusals(emulator: Emulator, target: str, status: bytes) -> None:
    sock, head = connect(emulator, target)
    with sock:
        answer = head + read_all(sock)  # the whole answer, then the connection is closed
        assert answer.split(b" ")[1] == status, answer
        assert answer.split(b"\r\n\r\n", 1)[1].startswith(b"faceid-tools emulator proxy:")
    still_serving(emulator)


def test_tunnel_to_the_api_and_a_bucket(emulator: Emulator) -> None:
    body = json.dumps({"TargetAction": "GenerateReflectSequence"}).encode()
    headers = signed_headers(emulator, "CreateUploadUrl", body=body, host=API_HOST)
    with tunnel(emulator, API_HOST) as tls:
        assert tls.getpeercert()["subjectAltName"] == (("DNS", API_HOST),)  # type: ignore[index]
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        tls.sendall(
            f"POST / HTTP/1.1\r\n{lines}Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        answer = read_all(tls)
    resp = json.loads(answer.split(b"\r\n\r\n", 1)[1])["Response"]
    put_url = resp["UploadUrl"]
    path = put_url.split(SG_BUCKET, 1)[1]
    with tunnel(emulator, SG_BUCKET) as tls:
        tls.sendall(
            f"PUT {path} HTTP/1.1\r\nHost: {SG_BUCKET}\r\nContent-Length: 3\r\n\r\nabc".encode()
        )
        assert read_all(tls).startswith(b"HTTP/1.1 200 ")


def test_client_that_does_not_trust_the_ca(emulator: Emulator, tmp_path: Path) -> None:
    stranger = CertificateAuthority(tmp_path / "other-ca")  # a CA the emulator does not use
    sock, head = connect(emulator, f"{API_HOST}:443")
    assert head.startswith(b"HTTP/1.1 200 ")
    ctx = ssl.create_default_context(cafile=str(stranger.cert_path))
    with pytest.raises(ssl.SSLCertVerificationError):
        ctx.wrap_socket(sock, server_hostname=API_HOST)
    sock.close()
    still_serving(emulator)


@pytest.mark.parametrize(
    "junk",
    [b"", b"\x16\x03\x01\x00", b"GET / HTTP/1.1\r\n\r\n", os.urandom(300)],
    ids=["nothing", "half-hello", "plaintext", "random"],
)
def test_tunnel_dropped_mid_tls(emulator: Emulator, junk: bytes) -> None:
    sock, head = connect(emulator, f"{API_HOST}:443")
    assert head.startswith(b"HTTP/1.1 200 ")
    sock.sendall(junk)
    sock.close()
    still_serving(emulator)


def test_tunnel_dropped_mid_body(emulator: Emulator) -> None:
    with tunnel(emulator, API_HOST) as tls:
        tls.sendall(
            f"POST / HTTP/1.1\r\nHost: {API_HOST}\r\nContent-Type: application/json\r\n"
            'Content-Length: 1000\r\n\r\n{"Target'.encode()
        )
    still_serving(emulator)
    with tunnel(emulator, SG_BUCKET) as tls:
        tls.sendall(
            f"PUT /k HTTP/1.1\r\nHost: {SG_BUCKET}\r\nContent-Length: 99\r\n\r\nab".encode()
        )
    still_serving(emulator)


def test_stop_closes_idle_tunnels(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory()
    idle = [tunnel(emu, API_HOST) for _ in range(3)]
    emu.stop()
    assert emu._server.live_threads() == []
    for tls in idle:
        assert read_all(tls) == b""
        tls.close()
