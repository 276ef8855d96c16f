"""Control endpoints under ``/_emulator/`` (moto's ``/moto-api/`` pattern), apart from the API.

============================  ==================================================================
``GET  /_emulator/``          this list
``POST /_emulator/reset``     clear objects, quota windows, counters, clock shift and runtime
                              config; reseed (body ``{"seed": N}`` optional, default the
                              emulator's seed) -> ``{"reset": true, "seed": N}``
``GET  /_emulator/profile``   the active profile (``Profile.as_dict()``)
``GET  /_emulator/stats``     counters: requests, in-flight (and peak), outcomes per action and
                              code, download failures by reason, sequences issued/duplicated/
                              corrupted, COS requests by status, objects stored, config
``POST /_emulator/config``    ``{"quota": bool, "time_scale": float}`` until the next reset
``POST /_emulator/clock``     ``{"advance_s": float}``: shift the store/quota clock forward
============================  ==================================================================

Answers are JSON with ordinary HTTP statuses (400 bad body, 404 unknown path, 405 wrong method).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .httpio import StartResponse, path_of, read_body, respond_json
from .models import Backend

PREFIX = "/_emulator"
MAX_BODY = 64 * 1024

ROUTES: dict[str, tuple[str, str]] = {
    "/": ("GET", "this list"),
    "/reset": ("POST", "clear state and reseed; body {'seed': N} optional"),
    "/profile": ("GET", "the active behaviour profile"),
    "/stats": ("GET", "counters and configuration"),
    "/config": ("POST", "body {'quota': bool, 'time_scale': float} until the next reset"),
    "/clock": ("POST", "body {'advance_s': float}: move the store/quota clock forward"),
}


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ControlApp:
    """WSGI application for the control endpoints."""

    def __init__(self, backend: Backend, *, describe: Callable[[], dict[str, Any]] | None = None):
        self.backend = backend
        self.describe = describe or (lambda: {})

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        route = path_of(environ)[len(PREFIX) :] or "/"
        try:
            if route not in ROUTES:
                raise ControlError(404, f"no control endpoint {route!r}; GET {PREFIX}/ lists them")
            want = ROUTES[route][0]
            if method != want and not (want == "GET" and method == "HEAD"):
                raise ControlError(405, f"{PREFIX}{route} takes {want}")
            body = self._json_body(environ) if want == "POST" else {}
            payload = self.dispatch(route, body)
        except ControlError as err:
            return respond_json(start_response, err.status, {"error": err.message}, method=method)
        return respond_json(start_response, 200, payload, method=method)

    @staticmethod
    def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
        try:
            raw = read_body(environ, MAX_BODY)
            data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except Exception:
            raise ControlError(400, "the body must be a JSON object") from None
        if not isinstance(data, dict):
            raise ControlError(400, "the body must be a JSON object")
        return data

    def dispatch(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        b = self.backend
        if route == "/":
            return {"endpoints": {f"{PREFIX}{r}": f"{m}: {d}" for r, (m, d) in ROUTES.items()}}
        if route == "/reset":
            seed = body.get("seed")
            if seed is not None and (
                isinstance(seed, bool) or not isinstance(seed, int) or seed < 0
            ):
                raise ControlError(400, "seed must be a non-negative integer")
            return {"reset": True, "seed": b.reset(seed)}
        if route == "/profile":
            return b.profile.as_dict()
        if route == "/stats":
            return {**b.stats.as_dict(), "store": b.store.stats(), "config": self.config()}
        if route == "/config":
            quota, scale = body.get("quota"), body.get("time_scale")
            if quota is not None and not isinstance(quota, bool):
                raise ControlError(400, "quota must be true or false")
            if scale is not None and (
                isinstance(scale, bool) or not isinstance(scale, int | float) or not scale >= 0
            ):
                raise ControlError(400, "time_scale must be a number >= 0")
            b.configure(quota=quota, time_scale=scale)
            return self.config()
        # /clock
        step = body.get("advance_s")
        if isinstance(step, bool) or not isinstance(step, int | float) or not 0 <= step < 1e9:
            raise ControlError(400, "advance_s must be a number >= 0")
        return {"offset_s": b.clock.advance(float(step))}

    def config(self) -> dict[str, Any]:
        b = self.backend
        return {
            "seed": b.seed,
            "quota": b.quota_enabled,
            "time_scale": b.time_scale,
            "clock_offset_s": b.clock.offset,
            **self.describe(),
        }
