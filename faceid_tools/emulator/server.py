"""The emulator as a real HTTP server: werkzeug's threaded WSGI server in a background thread.

::

    with Emulator(profile="default", seed=7, time_scale=0) as emu:
        emu.endpoint          # "http://127.0.0.1:<port>"
        emu.credential        # permanent demo key pair
        emu.session_credential  # temporary pair that needs its token (X-TC-Token)

One thread per connection (werkzeug always closes after the answer), so sleeping latencies never
serialise requests.  The same port is also an HTTP proxy for the service's own host names
(:mod:`.proxy`); :attr:`Emulator.sdk_env` is the environment an unmodified SDK needs to use it.  :meth:`Emulator.stop` wakes sleeping handlers, stops accepting, lets in-flight
answers go out, shuts down what is left and joins every thread it started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..client.credentials import Credential
from ..client.regions import is_loopback_host
from ..errors import InputError, ResourceError
from . import control, cosroutes, proxy
from . import exceptions as exc
from .auth import KeyRing
from .ca import CertificateAuthority
from .clock import Clock
from .handler import ConnectionServer, skip_werkzeug_drain, tunnel_state
from .httpio import StartResponse, body_fully_read, path_of, respond
from .models import Backend
from .profile import Profile
from .responses import PUBLIC_URLS_KEY, ApiApp, envelope_bytes, error_envelope

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
#: Hosts an SDK given :attr:`Emulator.sdk_env` still reaches directly (the emulator's own URLs).
NO_PROXY = "127.0.0.1,localhost,::1"

ProfileLike = Profile | str | os.PathLike[str] | None


def resolve_profile(profile: ProfileLike) -> Profile:
    """A :class:`Profile` from None (the shipped default), a Profile, a path or a shipped name."""
    if profile is None:
        return Profile.default()
    if isinstance(profile, Profile):
        return profile
    return Profile.load(os.fspath(profile))


class Router:
    """Sends each request to the API, the object store or the control endpoints."""

    def __init__(self, backend: Backend, api: ApiApp, cos: Any, ctl: Any):
        self.backend = backend
        self.api, self.cos, self.ctl = api, cos, ctl

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.backend.stats.enter()
        try:
            path = path_of(environ)
            proxied = environ.get(proxy.PROXY_HOST_KEY)
            if proxied is not None:
                answer = self.proxied(proxied, environ, start_response)
            elif path.startswith(cosroutes.PREFIX):
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

    def proxied(
        self, host: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """A request that came through the proxy: a bucket, the API with the service's URLs,
        or refused."""
        kind = proxy.served(host)
        if kind == "cos":
            environ["PATH_INFO"] = (
                f"{cosroutes.PREFIX}{host.lower()}{environ.get('PATH_INFO') or '/'}"
            )
            return self.cos(environ, start_response)
        if kind == "api":
            environ[PUBLIC_URLS_KEY] = True
            return self.api(environ, start_response)
        body = proxy.refusal_text(host)
        return respond(
            start_response, 403, body, "text/plain; charset=utf-8", extra=[("Connection", "close")]
        )


def _done_reading(environ: dict[str, Any]) -> None:
    """Half-close the read side once the request is fully read.

    werkzeug closes every connection after the answer and first drains the socket, waiting 10 ms
    for bytes that never come; a read side at EOF ends that wait at once.
    """
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, ssl.SSLSocket):  # its shutdown would drop TLS before the answer
        tunnel_state.request_read = body_fully_read(environ)
        if tunnel_state.request_read:
            skip_werkzeug_drain(environ)
        return
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
    store/quota clock (tests inject a :class:`~.clock.ManualClock`).  ``ca_dir``: where the
    proxy's CA lives (default ``$XDG_STATE_HOME/faceid-tools/emulator-ca``); it is created on
    first use (:attr:`sdk_env`, :attr:`ca_path` or the first ``CONNECT``).
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
        ca_dir: str | os.PathLike[str] | None = None,
    ):
        if not is_loopback_host(host):
            raise InputError(f"the emulator binds loopback only, not {host!r}")
        if not time_scale >= 0:
            raise InputError("time_scale must be >= 0")
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
        self._ca_dir = ca_dir
        self._ca: CertificateAuthority | None = None
        self._ca_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ConnectionServer | None = None
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
                server = ConnectionServer(
                    self.host, self._port, app, certificate_authority=self.certificate_authority
                )
            except SystemExit:  # werkzeug exits on bind errors; a library must not
                raise ResourceError(f"cannot bind {self.host}:{self._port}") from None
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

    # -- the proxy ---------------------------------------------------------------------------------
    def certificate_authority(self) -> CertificateAuthority:
        """The proxy's CA, loaded or created on first use (thread-safe)."""
        with self._ca_lock:
            if self._ca is None:
                self._ca = CertificateAuthority(self._ca_dir)
            return self._ca

    @property
    def ca_path(self) -> Path:
        """The CA certificate clients must trust to reach the emulator through its proxy."""
        return self.certificate_authority().cert_path

    @property
    def proxy_url(self) -> str:
        """``http://127.0.0.1:<port>``: the proxy (the same port as :attr:`endpoint`)."""
        return self.endpoint

    @property
    def sdk_env(self) -> dict[str, str]:
        """The environment an unmodified SDK process needs to use the emulator as the service:
        the proxy (both spellings), the CA bundle for Node, ``requests`` and OpenSSL, the demo
        credentials, and ``NO_PROXY`` for the emulator's own address."""
        ca = str(self.ca_path)
        env = {
            "HTTP_PROXY": self.proxy_url,
            "HTTPS_PROXY": self.proxy_url,
            "http_proxy": self.proxy_url,
            "https_proxy": self.proxy_url,
            "NO_PROXY": NO_PROXY,
            "no_proxy": NO_PROXY,
            "NODE_EXTRA_CA_CERTS": ca,
            "REQUESTS_CA_BUNDLE": ca,
            "SSL_CERT_FILE": ca,
            "TENCENTCLOUD_SECRET_ID": self.credential.secret_id,
            "TENCENTCLOUD_SECRET_KEY": self.credential.secret_key,
        }
        if self.credential.token:
            env["TENCENTCLOUD_TOKEN"] = self.credential.token
        return env

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
