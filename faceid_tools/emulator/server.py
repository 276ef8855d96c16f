"""The emulator as a real HTTP server: werkzeug's threaded WSGI server in a background thread.

::

    with Emulator(profile="default", seed=7, time_scale=0) as emu:
        emu.endpoint          # "http://127.0.0.1:<port>"
        emu.credential        # permanent demo key pair
        emu.session_credential  # temporary pair that needs its token (X-TC-Token)

One thread per connection (werkzeug always closes after the answer), so sleeping latencies never
serialise requests.  :meth:`Emulator.stop` wakes sleeping handlers, stops accepting, lets in-flight
answers go out, shuts down what is left and joins every thread it started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from ..credentials import Credential
from ..redact import redact_text, strip_query
from ..regions import is_loopback_host
from . import control, cosroutes
from . import exceptions as exc
from .auth import KeyRing
from .clock import Clock
from .httpio import (
    ACCEPTED_AT_KEY,
    RAW_HEADERS_KEY,
    StartResponse,
    body_fully_read,
    path_of,
    respond,
)
from .models import Backend
from .profile import Profile
from .responses import ApiApp, envelope_bytes, error_envelope

logger = logging.getLogger(__name__)

#: The permanent demo key pair every emulator accepts unless given ``credentials``.
DEMO_CREDENTIAL = Credential(
    "AKIDfaceidEmulatorDemoPermanent00001",
    "faceidEmulatorDemoSecretKey00001",
    source="faceid-emulator",
)
#: The temporary demo key pair: requests must carry its token in ``X-TC-Token``.
DEMO_SESSION_CREDENTIAL = Credential(
    "AKIDfaceidEmulatorDemoTemporary00002",
    "faceidEmulatorDemoSecretKey00002",
    "faceid-emulator-demo-session-token-0002",
    source="faceid-emulator",
)
#: Seconds in-flight answers get to go out on stop before their connections are shut down.
STOP_GRACE_S = 1.0
#: Socket timeout of one connection (a client that stalls mid-request is dropped after it).
CONNECTION_TIMEOUT_S = 30.0

ProfileLike = Profile | str | os.PathLike[str] | None


def resolve_profile(profile: ProfileLike) -> Profile:
    """A :class:`Profile` from None (the shipped default), a Profile, a path or a shipped name."""
    if profile is None:
        return Profile.default()
    if isinstance(profile, Profile):
        return profile
    return Profile.load(os.fspath(profile))


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, plus: raw headers for byte-exact checks, protocol errors answered in
    the API's envelope (or COS's XML under ``/cos/``), and quiet logs without query strings."""

    timeout = CONNECTION_TIMEOUT_S

    def version_string(self) -> str:
        return "faceid-emulator"

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[RAW_HEADERS_KEY] = list(self.headers.items())
        connection = getattr(self.server, "connection_state", None)
        if connection is not None:  # the first request of a connection arrived when it was accepted
            environ[ACCEPTED_AT_KEY] = getattr(connection, "accepted_at", None)
            connection.accepted_at = None
        return environ

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


class _Server(ThreadedWSGIServer):
    """The threaded server, keeping track of its connection threads so stop can join them."""

    daemon_threads = True

    def __init__(self, host: str, port: int, app: Any):
        self._live: dict[threading.Thread, socket.socket] = {}
        self._live_lock = threading.Lock()
        #: Per connection thread: when its connection was accepted (the quota's arrival time, free
        #: of the delay before the thread runs).
        self.connection_state = threading.local()
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

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)

    def live_threads(self) -> list[threading.Thread]:
        with self._live_lock:
            return list(self._live)

    def drop_connections(self) -> None:
        with self._live_lock:
            sockets = list(self._live.values())
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Router:
    """Sends each request to the API, the object store or the control endpoints."""

    def __init__(self, backend: Backend, api: ApiApp, cos: Any, ctl: Any):
        self.backend = backend
        self.api, self.cos, self.ctl = api, cos, ctl

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.backend.stats.enter()
        try:
            path = path_of(environ)
            if path.startswith(cosroutes.PREFIX):
                answer = self.cos(environ, start_response)
            elif path == control.PREFIX or path.startswith(control.PREFIX + "/"):
                answer = self.ctl(environ, start_response)
            else:
                answer = self.api(environ, start_response)
            _done_reading(environ)
            return answer
        except Exception:  # never a 5xx: the API's envelope even for our own bugs
            logger.exception("emulator bug outside the API pipeline")
            body = envelope_bytes(error_envelope(exc.internal_error(), str(uuid.uuid4())))
            return respond(start_response, 200, body, "application/json")
        finally:
            self.backend.stats.leave()


def _done_reading(environ: dict[str, Any]) -> None:
    """Half-close the read side once the request is fully read.

    werkzeug closes every connection after the answer and first drains the socket, waiting 10 ms
    for bytes that never come; a read side at EOF ends that wait at once.
    """
    sock = environ.get("werkzeug.socket")
    if sock is not None and body_fully_read(environ):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RD)


class Emulator:
    """A local FaceID API (GenerateReflectSequence, CreateUploadUrl) with a COS stand-in.

    ``profile``: None (shipped default), a :class:`Profile`, a TOML path or a shipped name.
    ``seed``: the behaviour model's seed (default the profile's).  ``quota=False`` lifts the
    per-second quota.  ``time_scale`` multiplies drawn latencies before sleeping (0 = answer at
    once).  ``credentials``: the key pairs accepted (a Credential with ``token`` is temporary and
    needs it); default :data:`DEMO_CREDENTIAL` and :data:`DEMO_SESSION_CREDENTIAL`.  ``clock``: the
    store/quota clock (tests inject a :class:`~.clock.ManualClock`).
    """

    def __init__(
        self,
        profile: ProfileLike = None,
        seed: int | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        quota: bool = True,
        time_scale: float = 1.0,
        credentials: Iterable[Credential] | None = None,
        clock: Clock | None = None,
    ):
        if not is_loopback_host(host):
            raise ValueError(f"the emulator binds loopback only, not {host!r}")
        if not time_scale >= 0:
            raise ValueError("time_scale must be >= 0")
        self.profile = resolve_profile(profile)
        self.host, self._port = host, int(port)
        creds = (
            [DEMO_CREDENTIAL, DEMO_SESSION_CREDENTIAL] if credentials is None else list(credentials)
        )
        self.keys = KeyRing(creds)
        permanent = [c for c in creds if not c.token]
        temporary = [c for c in creds if c.token]
        #: The permanent key pair to sign with (the first one given).
        self.credential: Credential = (permanent or creds)[0]
        #: A temporary key pair (needs ``X-TC-Token``), or None if none was given.
        self.session_credential: Credential | None = temporary[0] if temporary else None
        self.backend = Backend(self.profile, seed, clock=clock, quota=quota, time_scale=time_scale)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._state = "new"
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = self.endpoint if self._state == "running" else self._state
        return f"Emulator({where}, profile={self.profile.name!r}, seed={self.seed})"

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Emulator:
        """Bind and serve in a background thread (idempotent while running)."""
        with self._lock:
            if self._state == "running":
                return self
            if self._state == "stopped":
                raise RuntimeError("a stopped Emulator cannot restart; create a new one")
            app = Router(
                self.backend,
                ApiApp(self.backend, self.keys, wait_factory=self._wait_factory),
                cosroutes.CosApp(self.backend),
                control.ControlApp(self.backend, describe=self._describe),
            )
            try:
                server = _Server(self.host, self._port, app)
            except SystemExit:  # werkzeug exits on bind errors; a library must not
                raise OSError(f"cannot bind {self.host}:{self._port}") from None
            self._server = server
            self.backend.store.endpoint = self.endpoint
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"faceid-emulator-{server.port}",
                daemon=True,
            )
            self._thread.start()
            self._state = "running"
        logger.info("emulator serving at %s (profile %s)", self.endpoint, self.profile.name)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and join every thread; leaves no socket open.  Idempotent."""
        with self._lock:
            if self._state != "running":
                self._state = "stopped"
                return
            self._state = "stopped"
        server, thread = self._server, self._thread
        assert server is not None and thread is not None
        self._stopping.set()  # wake handlers sleeping a drawn latency
        server.shutdown()  # no more accepts; serve_forever closes the listening socket
        thread.join(timeout)
        deadline = time.monotonic() + STOP_GRACE_S
        for t in server.live_threads():
            t.join(max(0.0, deadline - time.monotonic()))
        server.drop_connections()
        deadline = time.monotonic() + timeout
        for t in server.live_threads():
            t.join(max(0.0, deadline - time.monotonic()))
        server.server_close()
        left = server.live_threads()
        if left:
            logger.warning("emulator stopped with %d connection thread(s) still running", len(left))
        logger.info("emulator at %s stopped", self.endpoint)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._state == "running"

    # -- what clients need ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return int(self._server.port)

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>`` (what clients take as their endpoint)."""
        host = f"[{self.host.strip('[]')}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def seed(self) -> int:
        return self.backend.seed

    # -- control (in process; the same as the /_emulator/ endpoints) ----------------------------
    def reset(self, seed: int | None = None) -> int:
        """Clear objects, quota windows, counters and clock shift; reseed.  Returns the seed."""
        return self.backend.reset(seed)

    def configure(self, *, quota: bool | None = None, time_scale: float | None = None) -> None:
        """Change quota enforcement or the latency scale until the next reset."""
        self.backend.configure(quota=quota, time_scale=time_scale)

    def stats(self) -> dict[str, Any]:
        return {
            **self.backend.stats.as_dict(),
            "store": self.backend.store.stats(),
        }

    # -- internals -------------------------------------------------------------------------------
    def _describe(self) -> dict[str, Any]:
        return {"profile": self.profile.name, "endpoint": self.endpoint}

    def _wait_factory(self, arrival: float) -> Callable[[float], object]:
        def wait(seconds: float) -> object:
            remaining = arrival + seconds - time.monotonic()
            if remaining > 0:
                self._stopping.wait(remaining)
            return None

        return wait
