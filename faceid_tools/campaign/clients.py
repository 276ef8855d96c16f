"""What a campaign talks to: one client per region, all sharing the log and the pacing gate.

``run_campaign`` accepts an endpoint URL (or ``None`` / ``"regional"``), an emulator (anything with
``.endpoint`` and ``.credential``), a :class:`~faceid_tools.FaceIDClient` or a mapping region ->
client.  Whatever it is, the campaign makes its own per-region clients from the same endpoint,
credential and log, so that every request passes the campaign's
:class:`~faceid_tools.campaign.schedule.PacingGate` (the quota is per SecretId and action across
regions) and retries as the campaign says.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from ..calllog.conventions import DEFAULT_LOG_PATH
from ..calllog.store import CallLog
from ..client import FaceIDClient
from ..client.regions import DEFAULT_ENDPOINT
from ..errors import InputError

logger = logging.getLogger(__name__)

#: Connections kept per host: enough for the calls in flight at the quota with a slow tail.
POOL_MAXSIZE = 64


@dataclass
class Clients:
    """The per-region clients of one run, their shared session and log."""

    by_region: dict[str, FaceIDClient]
    log_path: Path
    _session: requests.Session
    _owned_log: CallLog | None = None

    def for_region(self, region: str) -> FaceIDClient:
        try:
            return self.by_region[region]
        except KeyError:
            raise InputError(f"no client for region {region!r}") from None

    def close(self) -> None:
        self._session.close()
        if self._owned_log is not None:
            self._owned_log.close()


@dataclass
class Target:
    """Endpoint, credential and log a campaign's clients are made from."""

    endpoint: str | None
    credential: Any
    log: CallLog
    owns_log: bool = False

    @property
    def log_path(self) -> Path:
        return Path(self.log.path)

    @property
    def endpoint_host(self) -> str:
        """The endpoint as stored with the campaign: host only (never a query)."""
        url = self.endpoint or DEFAULT_ENDPOINT
        return urlsplit(url).netloc or url

    def clients(
        self, regions: tuple[str, ...], *, gate: Any, retries: int, timeout: float
    ) -> Clients:
        """One client per region, sharing one connection pool, the log and ``gate``."""
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=POOL_MAXSIZE)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        by_region = {
            region: FaceIDClient(
                region,
                credential=self.credential,
                endpoint=self.endpoint,
                log=self.log,
                rate_limiter=gate,
                retries=retries,
                timeout=timeout,
                session=session,
            )
            for region in regions
        }
        return Clients(by_region, self.log_path, session, self.log if self.owns_log else None)


def _open_log(log: Any) -> tuple[CallLog, bool]:
    if log is False:
        raise InputError("a campaign needs a call log (log=False is not allowed): resume reads it")
    if isinstance(log, CallLog):
        return log, False
    return CallLog(DEFAULT_LOG_PATH if log is None else Path(log)), True


def resolve_target(client_or_endpoint: Any, *, credential: Any = None, log: Any = None) -> Target:
    """Read endpoint, credential and log from whatever ``run_campaign`` was given."""
    source = client_or_endpoint
    if isinstance(source, Mapping):
        if not source:
            raise InputError("an empty mapping of clients")
        source = next(iter(source.values()))
    if isinstance(source, FaceIDClient):
        if log is None:
            own = source.log
            if own is None:
                raise InputError("this client logs nothing; pass log= for the campaign")
            log = own
        cl, owned = _open_log(log)
        return Target(source.endpoint, credential or source.credential, cl, owned)
    if source is None or isinstance(source, str):
        cl, owned = _open_log(log)
        return Target(source, credential, cl, owned)
    if hasattr(source, "endpoint") and hasattr(source, "credential"):  # an Emulator
        cl, owned = _open_log(log)
        return Target(source.endpoint, credential or source.credential, cl, owned)
    raise TypeError(
        "run_campaign needs an endpoint URL, an Emulator, a FaceIDClient or a mapping of them,"
        f" not {type(source).__name__}"
    )
