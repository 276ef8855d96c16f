"""Credentials and the chain that finds them.

Order: explicit > environment (``TENCENTCLOUD_SECRET_ID`` / ``TENCENTCLOUD_SECRET_KEY`` /
``TENCENTCLOUD_TOKEN``) > ``~/.tencentcloud/credentials`` (``[default]`` ``secret_id``,
``secret_key``, optional ``token``) > tccli's ``~/.tccli/default.credential`` (JSON ``secretId``,
``secretKey``, optional ``token``).  ``repr`` and ``str`` never show the key or the token.
"""

from __future__ import annotations

import configparser
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CredentialError

ENV_SECRET_ID = "TENCENTCLOUD_SECRET_ID"
ENV_SECRET_KEY = "TENCENTCLOUD_SECRET_KEY"
ENV_TOKEN = "TENCENTCLOUD_TOKEN"


@dataclass(frozen=True)
class Credential:
    """A SecretId / SecretKey pair, with an optional session token.  Never printed in clear."""

    secret_id: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    source: str = "explicit"

    def __post_init__(self) -> None:
        for name in ("secret_id", "secret_key"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise CredentialError(f"Credential.{name}: must be a non-empty string")
        if self.token is not None and not isinstance(self.token, str):
            raise CredentialError("Credential.token: must be a string or None")

    def __repr__(self) -> str:
        token = ", token=***" if self.token else ""
        return f"Credential(secret_id={self.secret_id!r}, secret_key=***{token}, source={self.source!r})"

    __str__ = __repr__

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values that must never be written anywhere (for redaction)."""
        return tuple(s for s in (self.secret_key, self.token) if s)


def _from_env(env: Mapping[str, str]) -> Credential | None:
    sid, key = env.get(ENV_SECRET_ID), env.get(ENV_SECRET_KEY)
    if sid and key:
        return Credential(sid, key, env.get(ENV_TOKEN) or None, source="environment")
    return None


def _from_profile_file(path: Path) -> Credential | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    if not parser.has_section("default"):
        return None
    sec = parser["default"]
    sid, key = sec.get("secret_id"), sec.get("secret_key")
    if sid and key:
        return Credential(sid, key, sec.get("token") or None, source=str(path))
    return None


def _from_tccli_file(path: Path) -> Credential | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    sid, key = data.get("secretId"), data.get("secretKey")
    if isinstance(sid, str) and isinstance(key, str) and sid and key:
        token = data.get("token")
        return Credential(
            sid, key, token if isinstance(token, str) and token else None, source=str(path)
        )
    return None


def resolve_credential(
    explicit: Credential | None = None,
    *,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Credential:
    """Walk the chain and return the first credential found; else raise naming every source."""
    if explicit is not None:
        return explicit
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    profile = home / ".tencentcloud" / "credentials"
    tccli = home / ".tccli" / "default.credential"
    found = _from_env(env) or _from_profile_file(profile) or _from_tccli_file(tccli)
    if found is not None:
        return found
    raise CredentialError(
        "no credential found; tried: the credential argument, "
        f"environment variables {ENV_SECRET_ID}/{ENV_SECRET_KEY} (+{ENV_TOKEN}), "
        f"{profile} ([default] secret_id/secret_key), {tccli} (secretId/secretKey)"
    )
