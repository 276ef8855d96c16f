"""The COS stand-in: one bucket per region, presigned URLs, expiry and 2-hour retention.

URLs are path-style on the emulator's own port but keep COS's shape::

    http://127.0.0.1:<port>/cos/<bucket>.cos.<region>.myqcloud.com/<key>?q-sign-algorithm=sha1
        &q-ak=<SecretId>&q-sign-time=<start>;<end>&q-key-time=<start>;<end>&q-header-list=host
        &q-url-param-list=&q-signature=<hex>

The signature is COS's own (HMAC-SHA1 over ``<method>\\n/<key>\\n\\nhost=<bucket host>\\n``) made
with the store's key pair — the service's account, not the caller's, as for the real FaceID
buckets.  Objects carry their region (the bucket's) and vanish ``retention_s`` after upload.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from ..client.regions import REGIONS, is_loopback_host
from . import exceptions as exc
from .clock import Clock

APPID = "1250000000"
RETENTION_S = 7200
MAX_OBJECT_BYTES = 16 * 1024 * 1024
REGION_SHORT: dict[str, str] = {"ap-singapore": "sg", "ap-hongkong": "hk", "ap-bangkok": "bk"}
PRESIGN_PARAMS = (
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
)


def bucket_name(region: str) -> str:
    return f"faceid-emulator-{REGION_SHORT[region]}-{APPID}"


def bucket_host(region: str) -> str:
    """The virtual host of ``region``'s bucket, as real COS names it."""
    return f"{bucket_name(region)}.cos.{region}.myqcloud.com"


BUCKET_HOSTS: dict[str, str] = {bucket_host(r): r for r in REGIONS}


def cos_signature(
    secret_key: str, *, method: str, key: str, host: str, sign_time: str, key_time: str
) -> str:
    """COS's request signature for a URL that signs only the ``host`` header."""
    sign_key = hmac.new(secret_key.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    http_string = f"{method.lower()}\n/{key}\n\nhost={quote(host, safe='')}\n"
    to_sign = f"sha1\n{sign_time}\n{hashlib.sha1(http_string.encode()).hexdigest()}\n"
    return hmac.new(sign_key.encode(), to_sign.encode(), hashlib.sha1).hexdigest()


@dataclass(slots=True)
class StoredObject:
    data: bytes
    digest: bytes  # MD5 of data
    region: str
    created: float
    expires: float

    @property
    def md5(self) -> str:
        return self.digest.hex()


@dataclass(frozen=True)
class Location:
    """Where a URL points in the store (``query`` is the raw presign query, maybe empty)."""

    region: str
    key: str
    query: Mapping[str, str]


class ObjectStore:
    """Thread-safe in-memory buckets with COS-style presigned access."""

    def __init__(
        self,
        clock: Clock,
        *,
        retention_s: float = RETENTION_S,
        max_object_bytes: int = MAX_OBJECT_BYTES,
    ):
        self.clock = clock
        self.retention_s = retention_s
        self.max_object_bytes = max_object_bytes
        self.secret_id = "AKIDcosEmulator" + secrets.token_hex(10)
        self._secret_key = secrets.token_hex(16)
        self.endpoint = "http://127.0.0.1:0"
        self._objects: dict[tuple[str, str], StoredObject] = {}
        self._expiry: deque[tuple[float, str, str]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ObjectStore(endpoint={self.endpoint!r}, objects={len(self._objects)})"

    # -- URLs -----------------------------------------------------------------------------------
    def resource_url(self, region: str, key: str, *, public: bool = False) -> str:
        """The object's URL without a query: path-style on our port, or (``public``) the bucket's
        own ``https://<bucket>.cos.<region>.myqcloud.com/<key>``, reached through the proxy."""
        if public:
            return f"https://{bucket_host(region)}/{quote(key, safe='')}"
        return f"{self.endpoint}/cos/{bucket_host(region)}/{quote(key, safe='')}"

    def presign(
        self, method: str, region: str, key: str, *, start: int, end: int, public: bool = False
    ) -> str:
        """A URL that lets anyone ``method`` (PUT or GET) the object between ``start`` and ``end``."""
        span = f"{start};{end}"
        sig = cos_signature(
            self._secret_key,
            method=method,
            key=key,
            host=bucket_host(region),
            sign_time=span,
            key_time=span,
        )
        return (
            f"{self.resource_url(region, key, public=public)}?q-sign-algorithm=sha1&q-ak={self.secret_id}"
            f"&q-sign-time={span}&q-key-time={span}&q-header-list=host&q-url-param-list="
            f"&q-signature={sig}"
        )

    def locate(self, url: str) -> Location | None:
        """Find what ``url`` names in this store: path-style on our port, or a bucket's virtual host."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        if parts.scheme not in ("http", "https"):
            return None
        host = parts.hostname or ""
        own = urlsplit(self.endpoint)
        if is_loopback_host(host) and port == own.port and parts.path.startswith("/cos/"):
            vhost, _, raw_key = parts.path[len("/cos/") :].partition("/")
        elif host in BUCKET_HOSTS:
            vhost, raw_key = host, parts.path[1:]
        else:
            return None
        region = BUCKET_HOSTS.get(vhost)
        if region is None or not raw_key:
            return None
        query: dict[str, str] = {}
        for pair in parts.query.split("&") if parts.query else ():
            name, _, value = pair.partition("=")
            query[unquote(name)] = unquote(value)
        return Location(region, unquote(raw_key), query)

    def check_presigned(self, method: str, region: str, key: str, query: Mapping[str, str]) -> None:
        """Raise the :class:`~.exceptions.CosError` COS would give for this presigned access."""
        if not any(p in query for p in PRESIGN_PARAMS):
            raise exc.cos_access_denied()
        if any(p not in query for p in PRESIGN_PARAMS):
            raise exc.cos_access_denied("Access Denied: the presigned URL is incomplete.")
        if query["q-sign-algorithm"] != "sha1":
            raise exc.cos_invalid_argument("q-sign-algorithm must be sha1")
        if not hmac.compare_digest(query["q-ak"].encode(), self.secret_id.encode()):
            raise exc.cos_invalid_access_key()
        try:
            start, end = (int(x) for x in query["q-sign-time"].split(";"))
        except ValueError:
            raise exc.cos_invalid_argument("q-sign-time must be <start>;<end>") from None
        now = self.clock.time()
        if not start <= now <= end:
            raise exc.cos_expired()
        expected = cos_signature(
            self._secret_key,
            method=method,
            key=key,
            host=bucket_host(region),
            sign_time=query["q-sign-time"],
            key_time=query["q-key-time"],
        )
        if (
            query["q-header-list"] != "host"
            or query["q-url-param-list"] != ""
            or not hmac.compare_digest(expected.encode(), query["q-signature"].encode())
        ):
            raise exc.cos_signature_mismatch()

    # -- objects --------------------------------------------------------------------------------
    def put(self, region: str, key: str, data: bytes) -> StoredObject:
        if len(data) > self.max_object_bytes:
            raise exc.cos_entity_too_large(self.max_object_bytes)
        now = self.clock.time()
        obj = StoredObject(data, hashlib.md5(data).digest(), region, now, now + self.retention_s)
        with self._lock:
            self._purge(now)
            old = self._objects.get((region, key))
            if old is not None:
                self._bytes -= len(old.data)
            self._objects[(region, key)] = obj
            self._expiry.append((obj.expires, region, key))
            self._bytes += len(data)
        return obj

    def get(self, region: str, key: str) -> StoredObject | None:
        """The live object, or None when missing or past its retention."""
        now = self.clock.time()
        with self._lock:
            obj = self._objects.get((region, key))
            if obj is not None and obj.expires <= now:
                self._purge(now)
                return None
            return obj

    def _purge(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            expires, region, key = self._expiry.popleft()
            obj = self._objects.get((region, key))
            if obj is not None and obj.expires == expires:
                del self._objects[(region, key)]
                self._bytes -= len(obj.data)

    def purge(self) -> None:
        """Drop every object past its retention now (puts and gets also do it as they go)."""
        with self._lock:
            self._purge(self.clock.time())

    def clear(self) -> None:
        with self._lock:
            self._objects.clear()
            self._expiry.clear()
            self._bytes = 0

    def stats(self) -> dict[str, int]:
        with self._lock:
            by_region = {r: 0 for r in REGIONS}
            for region, _ in self._objects:
                by_region[region] += 1
            return {"objects": len(self._objects), "bytes": self._bytes, **by_region}
