"""The object store's HTTP face under ``/cos/<bucket host>/<key>``, answering like COS.

PUT and GET (and HEAD) need a valid presigned query; errors are COS's XML ``<Error>`` documents
with real HTTP statuses (403 AccessDenied / SignatureDoesNotMatch / InvalidAccessKeyId, 404
NoSuchKey / NoSuchBucket, 405 MethodNotAllowed, 400 InvalidArgument / EntityTooLarge / BadDigest).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import uuid
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

from . import exceptions as exc
from .httpio import BodyTooLarge, StartResponse, headers_of, path_of, read_body, respond
from .models import Backend
from .objectstore import BUCKET_HOSTS, ObjectStore

logger = logging.getLogger(__name__)

PREFIX = "/cos/"


def _request_id() -> str:
    return base64.b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def error_xml(err: exc.CosError, resource: str, request_id: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='utf-8' ?>\n<Error>\n"
        f"\t<Code>{escape(err.code)}</Code>\n"
        f"\t<Message>{escape(err.message)}</Message>\n"
        f"\t<Resource>{escape(resource)}</Resource>\n"
        f"\t<RequestId>{request_id}</RequestId>\n"
        f"\t<TraceId>{uuid.uuid4().hex}</TraceId>\n"
        "</Error>"
    ).encode("utf-8", "replace")


def _query(environ: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in (environ.get("QUERY_STRING") or "").split("&"):
        if pair:
            name, _, value = pair.partition("=")
            out[unquote(name)] = unquote(value)
    return out


class CosApp:
    """WSGI application for the object-store paths."""

    def __init__(self, backend: Backend):
        self.backend = backend

    @property
    def store(self) -> ObjectStore:
        return self.backend.store

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        request_id = _request_id()
        rest = path_of(environ)[len(PREFIX) :]
        vhost, _, key = rest.partition("/")
        extra = [("x-cos-request-id", request_id)]
        try:
            status, body, headers = self.handle(environ, method, vhost, key)
        except exc.CosError as err:
            self.backend.stats.cos_request(method, err.status)
            logger.debug("COS %s -> %s %s", method, err.status, err.code)
            return respond(
                start_response,
                err.status,
                error_xml(err, rest, request_id),
                "application/xml",
                method=method,
                extra=extra,
            )
        self.backend.stats.cos_request(method, status)
        return respond(
            start_response,
            status,
            body,
            "application/octet-stream",
            method=method,
            extra=[*extra, *headers],
        )

    def handle(
        self, environ: dict[str, Any], method: str, vhost: str, key: str
    ) -> tuple[int, bytes, list[tuple[str, str]]]:
        region = BUCKET_HOSTS.get(vhost)
        if region is None:
            raise exc.cos_no_such_bucket()
        if method not in ("GET", "HEAD", "PUT"):
            raise exc.cos_method_not_allowed(method)
        if not key:
            raise exc.cos_access_denied()
        self.store.check_presigned(method, region, key, _query(environ))
        if method == "PUT":
            try:
                data = read_body(environ, self.store.max_object_bytes)
            except BodyTooLarge:
                raise exc.cos_entity_too_large(self.store.max_object_bytes) from None
            except exc.ServiceError:
                raise exc.cos_invalid_argument("The request body could not be read.") from None
            _check_content_md5(headers_of(environ).get("content-md5"), data)
            stored = self.store.put(region, key, data)
            return 200, b"", [("ETag", f'"{stored.md5}"')]
        found = self.store.get(region, key)
        if found is None:
            raise exc.cos_no_such_key()
        return (
            200,
            found.data,
            [
                ("ETag", f'"{found.md5}"'),
                ("Last-Modified", formatdate(found.created, usegmt=True)),
            ],
        )


def _check_content_md5(value: str | None, data: bytes) -> None:
    if value is None:
        return
    try:
        given = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise exc.CosError(
            400, "InvalidDigest", "The Content-MD5 you specified is not valid."
        ) from None
    if given != hashlib.md5(data).digest():
        raise exc.cos_bad_digest()
