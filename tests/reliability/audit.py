"""The secrets audit's tools: a tap that learns every secret sent, and a scanner that finds them.

:class:`Tap` wraps the emulator's WSGI router (the real one, answering as always) and records
what crossed the wire that must never be written anywhere: each TC3 signature of an
``Authorization`` header, each ``X-TC-Token``, each ``q-signature`` / ``q-ak`` of a presigned COS
URL, and the object store's own signing key.  :func:`scan` then searches texts for those exact
values, and :data:`PATTERNS` for the shapes of a leak whose value we could not know (a signature,
a presigned query value or an ``Authorization`` header written out).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pyarrow.parquet as pq

from faceid_tools.emulator import server as emulator_server

_SIGNATURE = re.compile(r"Signature=([0-9a-fA-F]{16,})")
#: Shapes of a leak (a redacted value reads ``***``, which none of these match).
PATTERNS: dict[str, re.Pattern[str]] = {
    "TC3 signature": re.compile(r"Signature=[0-9a-fA-F]{16,}"),
    "q-signature value": re.compile(r"q-signature=[0-9a-fA-F]{8,}", re.IGNORECASE),
    "q-ak value": re.compile(r"q-ak=[A-Za-z0-9]{6,}", re.IGNORECASE),
    "Authorization header": re.compile(r"Authorization['\"]?\s*[:=]\s*['\"]?TC3-HMAC"),
    "X-TC-Token header": re.compile(r"X-TC-Token['\"]?\s*[:=]\s*['\"]?[^\s'\"*]{6,}", re.I),
    "COS security token": re.compile(r"x-cos-security-token=[^&\s*]{6,}", re.IGNORECASE),
}


@dataclass
class Tap:
    """What the emulator received that is secret (see the module docstring)."""

    signatures: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    presigned: set[str] = field(default_factory=set)  #: q-signature and q-ak values
    store_keys: set[str] = field(default_factory=set)
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wrap(self, call: Callable[..., Any]) -> Callable[..., Any]:
        """``Router.__call__`` recording each request before answering it as usual."""
        tap = self

        def tapped(router: Any, environ: dict[str, Any], start_response: Any) -> Any:
            tap.observe(router, environ)
            return call(router, environ, start_response)

        return tapped

    def observe(self, router: Any, environ: Mapping[str, Any]) -> None:
        with self._lock:
            self.requests += 1
            found = _SIGNATURE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
            if found:
                self.signatures.add(found.group(1))
            token = environ.get("HTTP_X_TC_TOKEN")
            if token:
                self.tokens.add(str(token))
            for name, value in parse_qsl(str(environ.get("QUERY_STRING", ""))):
                if name.lower() in ("q-signature", "q-ak") and value:
                    self.presigned.add(value)
            store = getattr(getattr(router, "backend", None), "store", None)
            key = getattr(store, "_secret_key", None)
            if isinstance(key, str) and key:
                self.store_keys.add(key)

    def install(self) -> Callable[[], None]:
        """Wrap the emulator's router (in this process); return the undo."""
        original = emulator_server.Router.__call__
        emulator_server.Router.__call__ = self.wrap(original)  # type: ignore[method-assign]

        def undo() -> None:
            emulator_server.Router.__call__ = original  # type: ignore[method-assign]

        return undo

    def secrets(self) -> dict[str, set[str]]:
        return {
            "TC3 signature": set(self.signatures),
            "X-TC-Token": set(self.tokens),
            "q-signature / q-ak": set(self.presigned),
            "object store key": set(self.store_keys),
        }

    def dump(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {k: sorted(v) for k, v in self.secrets().items()} | {"requests": self.requests}
            )
        )

    @staticmethod
    def load(path: Path) -> tuple[dict[str, set[str]], int]:
        data = json.loads(path.read_text())
        requests = int(data.pop("requests"))
        return {k: set(v) for k, v in data.items()}, requests


def file_texts(root: Path, *, skip: Iterable[Path] = ()) -> Iterator[tuple[str, str]]:
    """Every file under ``root`` as text: raw bytes (latin-1, so nothing is lost), plus the
    decoded rows of Parquet files (compressed, so their raw bytes hide strings)."""
    skipped = {p.resolve() for p in skip}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.resolve() in skipped:
            continue
        name = str(path.relative_to(root))
        yield name, path.read_bytes().decode("latin-1")
        if path.suffix == ".parquet":
            try:
                table = pq.read_table(path)
            except Exception as exc:  # not readable as Parquet: the raw bytes were scanned
                yield f"{name} (unreadable: {type(exc).__name__})", ""
                continue
            yield f"{name} (rows)", json.dumps(table.to_pylist(), default=str)


@dataclass(frozen=True)
class Hit:
    where: str
    what: str  #: the kind of secret or pattern
    excerpt: str  #: around the hit, the secret itself masked


def scan(texts: Mapping[str, str], secrets: Mapping[str, Iterable[str]]) -> list[Hit]:
    """Every occurrence of a secret value or a leak pattern in ``texts``."""
    hits: list[Hit] = []
    values = [(kind, v) for kind, vs in secrets.items() for v in vs if v and len(v) >= 6]
    for where, text in texts.items():
        for kind, value in values:
            at = text.find(value)
            if at >= 0:
                hits.append(Hit(where, kind, _excerpt(text, at, len(value))))
        for kind, pattern in PATTERNS.items():
            for m in pattern.finditer(text):
                hits.append(Hit(where, f"pattern: {kind}", _excerpt(text, m.start(), len(m[0]))))
    return hits


def _excerpt(text: str, at: int, size: int) -> str:
    return (text[max(0, at - 40) : at] + "<SECRET>" + text[at + size : at + size + 40]).replace(
        "\n", " "
    )
