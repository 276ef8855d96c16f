"""One HTTP exchange: send a request, read a bounded body before a deadline, map failures to types.

This is the only module that talks to ``requests``.  It sends a ready :class:`PreparedRequest`
straight to the session's transport adapter (the session's connection pool, TLS settings, mounted
adapters and proxies are used; per-request cookie, hook and redirect handling is not needed by API
3.0 and is skipped, which keeps the per-call cost low).  Environment settings (proxies, CA bundle)
are resolved once per origin.

Timeouts: ``timeout`` seconds to connect, ``timeout`` seconds for each wait on the socket, and a
deadline of ``timeout`` seconds for the whole answer, checked as data arrives, so a body dripping in
slower than the timeout fails as a timeout too.

Failures become :class:`~faceid_tools.errors.RequestTimeoutError`,
:class:`~faceid_tools.errors.NetworkError` or :class:`~faceid_tools.errors.ResponseTooLargeError`
with a short message naming the host (never the URL's query, never a header).
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.utils import requote_uri

from ..errors import FaceIDError, NetworkError, RequestTimeoutError, ResponseTooLargeError
from .regions import is_loopback_host

__all__ = ["Reply", "Transport"]

_READ_CHUNK = 65536
_MAX_ORIGINS = 64


@dataclass(slots=True)
class Reply:
    """What came back: status, media type header, the full body, and COS's request id if any."""

    status: int
    content_type: str | None
    body: bytes
    request_id: str | None = None


def _describe(exc: BaseException) -> str:
    """A short cause: the innermost OS error's text where there is one, else the class name."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    found: str | None = None
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.strerror:
            found = e.strerror
        elif isinstance(e, http.client.IncompleteRead):
            found = f"incomplete body ({len(e.partial)} bytes read, {e.expected} more expected)"
        elif isinstance(e, urllib3.exceptions.IncompleteRead):
            found = f"incomplete body ({e.partial} bytes read, {e.expected} more expected)"
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None)):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
        stack.extend(a for a in e.args if isinstance(a, BaseException))
    return found or type(exc).__name__


class Transport:
    """Sends exchanges over one ``requests.Session`` (created and owned here when not given)."""

    def __init__(self, session: requests.Session | None = None, *, pool_maxsize: int = 32) -> None:
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=8, pool_maxsize=pool_maxsize)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session
        self._origins: dict[str, tuple[BaseAdapter, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the session if this transport created it."""
        if self._owns_session:
            self.session.close()

    def _route(self, url: str) -> tuple[BaseAdapter, dict[str, Any]]:
        """The adapter and the environment settings (proxies, verify, cert) for ``url``'s origin."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        route = self._origins.get(origin)
        if route is None:
            env = self.session.merge_environment_settings(origin + "/", {}, None, None, None)
            proxies = (
                {} if is_loopback_host(parts.hostname) else env["proxies"]
            )  # never proxy loopback
            kwargs = {"proxies": proxies, "verify": env["verify"], "cert": env["cert"]}
            route = (self.session.get_adapter(url), kwargs)
            with self._lock:
                if len(self._origins) >= _MAX_ORIGINS:
                    self._origins.clear()
                self._origins[origin] = route
        return route

    def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        timeout: float,
        max_bytes: int,
        host: str,
        clock: Callable[[], float] = perf_counter,
    ) -> Reply:
        """One request and its whole answer (at most ``max_bytes``), within ``timeout``.

        ``host`` is what error messages name (pass the netloc, never the full URL).
        """
        deadline = clock() + timeout
        if not url.isascii():
            url = requote_uri(url)  # http.client sends ASCII only: percent-encode the rest
        request = requests.PreparedRequest()
        request.method = method
        request.url = url
        request.headers = headers  # type: ignore[assignment]
        request.body = body
        adapter, kwargs = self._route(url)
        try:
            response = adapter.send(request, stream=True, timeout=(timeout, timeout), **kwargs)
        except requests.ConnectTimeout as exc:
            raise RequestTimeoutError(
                f"connect to {host} timed out after {timeout:g} s ({_describe(exc)})"
            ) from None
        except requests.ReadTimeout:
            raise RequestTimeoutError(
                f"no answer from {host} within {timeout:g} s (read timeout)"
            ) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise NetworkError(f"{method} to {host} failed: {_describe(exc)}") from None

        headers_in = response.headers
        raw = response.raw
        complete = False
        try:
            length = headers_in.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > max_bytes:
                raise ResponseTooLargeError(
                    f"answer from {host} announces {int(length)} bytes, over the {max_bytes}-byte limit"
                )
            chunks: list[bytes] = []
            size = 0
            while True:
                data = raw.read1(_READ_CHUNK, decode_content=True)
                if not data:
                    break
                size += len(data)
                if size > max_bytes:
                    raise ResponseTooLargeError(
                        f"answer from {host} exceeds the {max_bytes}-byte limit"
                    )
                chunks.append(data)
                if clock() > deadline:
                    raise RequestTimeoutError(
                        f"answer from {host} still arriving after {timeout:g} s ({size} bytes so far)"
                    )
            complete = True
        except FaceIDError:  # ours (RequestTimeoutError is also an OSError): as raised
            raise
        except urllib3.exceptions.ReadTimeoutError:
            raise RequestTimeoutError(
                f"answer from {host} stalled for {timeout:g} s (read timeout)"
            ) from None
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise NetworkError(
                f"connection to {host} broke while reading the answer: {_describe(exc)}"
            ) from None
        finally:
            if not complete:
                response.close()
        return Reply(
            status=response.status_code,
            content_type=headers_in.get("Content-Type"),
            body=chunks[0] if len(chunks) == 1 else b"".join(chunks),
            request_id=headers_in.get("x-cos-request-id"),
        )
