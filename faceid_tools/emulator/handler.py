"""The emulator's HTTP connection handling: werkzeug's threaded server and request handler.

One thread per connection (werkzeug closes every connection after its answer).  Requests come
three ways: straight to ``http://127.0.0.1:<port>/`` (the emulator's own URLs), in absolute form
through the proxy (``POST http://faceid.intl.tencentcloudapi.com/``) or inside a ``CONNECT``
tunnel whose TLS the emulator ends itself (:mod:`.proxy`).  The environ says which:
:data:`~.proxy.PROXY_HOST_KEY` holds the host a proxied request was for.
"""

from __future__ import annotations

import contextlib
import io
import logging
import selectors
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import urlsplit

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from ..client.redact import redact_text, strip_query
from ..client.regions import is_loopback_host
from . import cosroutes, proxy
from . import exceptions as exc
from .httpio import ACCEPTED_AT_KEY, RAW_HEADERS_KEY
from .responses import envelope_bytes, error_envelope

logger = logging.getLogger(__name__)

#: Socket timeout of one connection (a client that stalls mid-request is dropped after it).
CONNECTION_TIMEOUT_S = 30.0
#: Per connection thread: set once the request inside a tunnel has been read to its end.
tunnel_state = threading.local()
#: Environ key holding the handler of a request inside a tunnel.
HANDLER_KEY = "faceid_emulator.handler"
_DRAIN_WAIT_S = 0.01
_DRAIN_MAX_READS = 1000


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, plus: raw headers for byte-exact checks, protocol errors answered in
    the API's envelope (or COS's XML under ``/cos/``), and quiet logs without query strings."""

    timeout = CONNECTION_TIMEOUT_S

    def version_string(self) -> str:
        return "faceid-emulator"

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[RAW_HEADERS_KEY] = list(self.headers.items())
        state = getattr(self.server, "connection_state", None)
        tunnel_host = getattr(state, "tunnel_host", None)
        if tunnel_host is not None:
            environ[proxy.PROXY_HOST_KEY] = tunnel_host
            environ["wsgi.url_scheme"] = "https"
            environ[HANDLER_KEY] = self
        else:
            target = self._absolute_target()
            if target is not None:
                environ[proxy.PROXY_HOST_KEY] = target
        if state is not None:  # the first request of a connection arrived when it was accepted
            environ[ACCEPTED_AT_KEY] = getattr(state, "accepted_at", None)
            state.accepted_at = None
        return environ

    def _absolute_target(self) -> str | None:
        """For an absolute-form request to anything but this emulator: the host it names
        (``host:port`` when the port is not 80, so that it is refused)."""
        if "://" not in self.path[:16]:
            return None
        try:
            parts = urlsplit(self.path)
            host, port = (parts.hostname or ""), parts.port
        except ValueError:
            return "(malformed)"
        if is_loopback_host(host) and port == self.server.server_port:
            return None  # the emulator's own address, asked through itself
        if parts.scheme != "http" or port not in (None, 80):
            return f"{parts.scheme}://{host}:{port}"
        return host

    def do_CONNECT(self) -> None:
        """A tunnel: to a FaceID API host or one of the buckets, with our TLS; else refused."""
        proxy.connect(self, getattr(self.server, "certificate_authority", None))

    def parse_request(self) -> bool:
        if not str(self.raw_requestline, "iso-8859-1").split():  # as http.server splits it
            self.request_version = "HTTP/1.0"
            self.send_error(400, "empty request line")
            return False
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
            self.send_error(400, "HTTP/0.9 is not supported")
            return False
        return True

    _REASONS: ClassVar[dict[int, str]] = {
        400: "The request is malformed and could not be parsed as HTTP/1.x.",
        414: "The request line is too long.",
        431: "The request header fields are too large or too many.",
    }

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer a request the HTTP layer could not parse (never echoes the request)."""
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        if (getattr(self, "requestline", "") or "").startswith("CONNECT "):
            proxy.refuse(self, 400, "")  # a proxy request: the proxy's plain refusal
            return
        text = self._REASONS.get(int(code), "The request could not be processed.")
        path = getattr(self, "path", "") or ""
        if path.startswith(cosroutes.PREFIX):
            status, content_type = int(code), "application/xml"
            body = cosroutes.error_xml(exc.CosError(int(code), "InvalidRequest", text), "", "-")
        else:
            status, content_type = 200, "application/json"
            body = envelope_bytes(error_envelope(exc.invalid_parameter(text), str(uuid.uuid4())))
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(body)
        except OSError:
            pass
        logger.debug("protocol error %s: %s", code, message)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = strip_query(getattr(self, "path", "")) or ""
        logger.debug("%s %s -> %s", getattr(self, "command", "-"), path, code)

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug("http: %s", redact_text(format % args))

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("http: %s", redact_text(format % args))


class ConnectionServer(ThreadedWSGIServer):
    """The threaded server, keeping track of its connection threads so stop can join them.

    ``certificate_authority`` returns the proxy's CA (made on first use).
    """

    daemon_threads = True

    def __init__(self, host: str, port: int, app: Any, certificate_authority: Callable[[], Any]):
        self._live: dict[threading.Thread, socket.socket] = {}
        self._live_lock = threading.Lock()
        #: Per connection thread: when its connection was accepted (the quota's arrival time, free
        #: of the delay before the thread runs) and, inside a tunnel, the host it was opened to.
        self.connection_state = threading.local()
        self.certificate_authority = certificate_authority
        super().__init__(host, port, app, handler=RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        accepted_at = time.monotonic()
        thread = threading.Thread(
            target=self._serve_one,
            args=(request, client_address, accepted_at),
            name=f"faceid-emulator-{self.port}-conn",
            daemon=True,
        )
        with self._live_lock:
            self._live[thread] = request
        thread.start()

    def _serve_one(self, request: Any, client_address: Any, accepted_at: float) -> None:
        self.connection_state.accepted_at = accepted_at
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._live_lock:
                self._live.pop(threading.current_thread(), None)

    def serve_tunnel(self, tls: ssl.SSLSocket, client_address: Any, host: str) -> None:
        """Serve the request inside an established TLS tunnel to ``host``, then close it."""
        state = self.connection_state
        with self._live_lock:
            self._live[threading.current_thread()] = tls
        state.tunnel_host = host
        state.accepted_at = time.monotonic()
        tunnel_state.request_read = False
        try:
            RequestHandler(tls, client_address, self)
            if not tunnel_state.request_read:
                _drain(tls)  # so that closing does not reset the answer away (as werkzeug does)
        except (OSError, ValueError):
            logger.debug("tunnel to %s dropped", host, exc_info=True)
        finally:
            state.tunnel_host = None
            eof_socket = getattr(tunnel_state, "eof_socket", None)
            if eof_socket is not None:
                eof_socket.close()
                tunnel_state.eof_socket = None
            with contextlib.suppress(OSError, ValueError):
                tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)

    def live_threads(self) -> list[threading.Thread]:
        with self._live_lock:
            return list(self._live)

    def drop_connections(self) -> None:
        with self._live_lock:
            sockets = list(self._live.values())
        for sock in sockets:
            with contextlib.suppress(OSError, ValueError):
                sock.shutdown(socket.SHUT_RDWR)


def _drain(tls: ssl.SSLSocket) -> None:
    """Read what the client still sends (briefly) before the tunnel is closed."""
    with selectors.DefaultSelector() as selector:
        selector.register(tls, selectors.EVENT_READ)
        for _ in range(_DRAIN_MAX_READS):
            if not tls.pending() and not selector.select(timeout=_DRAIN_WAIT_S):
                return
            if not tls.recv(1024 * 1024):
                return


def skip_werkzeug_drain(environ: dict[str, Any]) -> None:
    """Inside a tunnel whose request is fully read: let werkzeug's after-answer drain see EOF at
    once instead of waiting 10 ms on the TLS socket (a plain socket gets ``SHUT_RD``, but on TLS
    that would end the session).  The handler reads from an empty buffer and selects on a socket
    whose peer is closed; the TLS socket itself is closed by :meth:`ConnectionServer.serve_tunnel`.
    """
    handler = environ.get(HANDLER_KEY)
    if handler is None:
        return
    at_eof, peer = socket.socketpair()
    peer.close()
    tunnel_state.eof_socket = at_eof
    handler.connection = at_eof
    handler.rfile.close()  # (it holds a reference that would keep the TLS socket open)
    handler.rfile = io.BytesIO()
