"""What the client returns.  URLs may be presigned, so every ``repr`` shows them without their query."""

from __future__ import annotations

from dataclasses import dataclass

from .redact import strip_query

__all__ = ["DeviceData", "ReflectSequence", "UploadUrl"]


@dataclass(frozen=True)
class ReflectSequence:
    """A ``GenerateReflectSequence`` answer: where the light sequence is and its MD5."""

    url: str
    md5: str
    request_id: str
    security_level: str
    call_id: str

    def __repr__(self) -> str:
        return (
            f"ReflectSequence(url={strip_query(self.url)!r}, md5={self.md5!r}, "
            f"request_id={self.request_id!r}, security_level={self.security_level!r}, "
            f"call_id={self.call_id!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class UploadUrl:
    """A ``CreateUploadUrl`` answer: a presigned PUT link and the URL to pass on afterwards."""

    upload_url: str
    resource_url: str
    expired_timestamp: int
    request_id: str

    def __repr__(self) -> str:
        return (
            f"UploadUrl(upload_url={strip_query(self.upload_url)!r}, "
            f"resource_url={strip_query(self.resource_url)!r}, "
            f"expired_timestamp={self.expired_timestamp!r}, request_id={self.request_id!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class DeviceData:
    """Uploaded device data: the ``DeviceDataUrl`` and ``DeviceDataMd5`` to call the API with."""

    url: str
    md5: str
    request_id: str

    def __repr__(self) -> str:
        return (
            f"DeviceData(url={strip_query(self.url)!r}, md5={self.md5!r}, "
            f"request_id={self.request_id!r})"
        )

    __str__ = __repr__
