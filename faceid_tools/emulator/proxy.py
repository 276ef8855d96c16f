"""The emulator as an HTTP proxy, so that an unmodified SDK reaches it at the service's names.

Clients are given ``HTTP(S)_PROXY=http://127.0.0.1:<port>`` (:attr:`Emulator.sdk_env`).  The
emulator then answers, itself, for exactly these hosts and nothing else:

- the FaceID API: ``faceid.tencentcloudapi.com``, ``faceid.intl.tencentcloudapi.com`` and
  ``faceid.<region>.tencentcloudapi.com`` (any real region name);
- the COS hosts of its own buckets, ``<bucket>.cos.<region>.myqcloud.com``.

Absolute-form requests (``POST http://faceid.intl.tencentcloudapi.com/ HTTP/1.1``) are answered
directly; ``CONNECT <host>:443`` opens a tunnel whose TLS the emulator ends with a certificate
from its own CA (:mod:`.ca`), then answers the request inside.  Every other host, and every other
port, is refused with ``403`` and the connection closed: nothing is ever forwarded anywhere.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
from typing import Any

from ..client.regions import is_known_region
from .ca import CertificateAuthorityError
from .objectstore import BUCKET_HOSTS

logger = logging.getLogger(__name__)

#: Environ key: the host a request came through the proxy for (absent for direct requests).
PROXY_HOST_KEY = "faceid_emulator.proxy_host"
TLS_PORT = 443
_API_HOST = re.compile(r"^faceid\.(?:(?P<region>[a-z]+(?:-[a-z]+)+)\.)?tencentcloudapi\.com$")
_AUTHORITY = re.compile(r"^(?P<host>[A-Za-z0-9.-]{1,253}):(?P<port>[0-9]{1,5})$")
#: Seconds a client gets to complete the TLS handshake inside a tunnel.
HANDSHAKE_TIMEOUT_S = 10.0


def served(host: str) -> str | None:
    """``"api"`` or ``"cos"`` for a host the emulator answers for; None for any other."""
    host = host.lower()
    if host in BUCKET_HOSTS:
        return "cos"
    if host in ("faceid.tencentcloudapi.com", "faceid.intl.tencentcloudapi.com"):
        return "api"
    m = _API_HOST.match(host)
    if m and m["region"] and is_known_region(m["region"]):
        return "api"
    return None


def refusal_text(host: str) -> bytes:
    shown = "".join(c if c.isprintable() else "?" for c in host[:100])
    return (
        f"faceid-tools emulator proxy: refused {shown}: it answers only for the FaceID API hosts "
        "and its own COS buckets, and forwards nothing.\n"
    ).encode("utf-8", "replace")


def refuse(handler: Any, status: int, host: str) -> None:
    """Answer a CONNECT (or a proxied request) the emulator will not serve, and close."""
    handler.close_connection = True
    body = refusal_text(host) if status == 403 else b"faceid-tools emulator proxy: bad request\n"
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "text/plain; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)
    except OSError:
        pass


def connect(handler: Any, certificate_authority: Any) -> None:
    """Handle ``CONNECT host:port`` on ``handler`` (a :class:`~.handler.RequestHandler`)."""
    handler.close_connection = True
    m = _AUTHORITY.match(handler.path or "")
    if m is None:
        logger.debug("proxy: malformed CONNECT target")
        refuse(handler, 400, "")
        return
    host, port = m["host"].lower(), int(m["port"])
    if served(host) is None or port != TLS_PORT:
        logger.debug("proxy: refused CONNECT to %s:%s", host, port)
        refuse(handler, 403, f"{host}:{port}")
        return
    try:
        if certificate_authority is None:
            raise CertificateAuthorityError("this server has no certificate authority")
        context = certificate_authority().server_context(host)
    except CertificateAuthorityError as err:
        logger.error("proxy: %s", err)
        refuse(handler, 502, host)
        return
    try:
        handler.send_response(200, "Connection Established")
        handler.end_headers()
        handler.wfile.flush()
        raw = handler.connection
        raw.settimeout(HANDSHAKE_TIMEOUT_S)
        # small TLS records (tickets, then the answer's head and body) must not wait on Nagle
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as err:  # e.g. a client that does not trust our CA
        logger.debug("proxy: TLS with the client for %s failed: %s", host, err)
        return
    handler.server.serve_tunnel(tls, handler.client_address, host)
