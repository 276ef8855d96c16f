"""``FaceIDClient``: the signed, validated, rate-limited, retried, logged client of FaceID API 3.0.

One method per operation of the ``GenerateReflectSequence`` flow::

    client = FaceIDClient(region="ap-singapore", endpoint=emu.endpoint, credential=emu.credential)
    data = client.upload_device_data(b"...")                       # CreateUploadUrl + HTTP PUT
    seq = client.generate_reflect_sequence(data.url, data.md5, security_level=4)
    blob = client.download_sequence(seq)                           # HTTP GET + MD5 check

Every argument is checked before anything is sent (:mod:`.validate`:
:class:`~faceid_tools.errors.ValidationError`, also a ``ValueError``).  Every HTTP exchange -- each
attempt of an API call, each upload, each download -- is one row in the call log, committed before
the method returns or raises (:mod:`.attempts`).  The answer is parsed strictly
(:mod:`.envelope`): a non-200 status, a ``Content-Type`` other than ``application/json``
(media-type parameters such as ``; charset=utf-8`` are accepted), a body that is not a JSON
object, a missing ``Response`` or a missing field each raise their own
:class:`~faceid_tools.errors.BadResponseError` subclass; an ``Error`` envelope raises the
narrowest :class:`~faceid_tools.errors.APIError`.  Retries follow
:class:`~faceid_tools.client.retry.RetryPolicy`.  The client is safe to share between threads.  Secrets
(the key, the token, signatures, presigned queries) never reach the log, a log line, an
exception or a ``repr``.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__all__ = ["COS_REGION_RULE", "FaceIDClient"]

logging.getLogger(__name__).addHandler(logging.NullHandler())

# Imported on first use, so that the light modules of this package (``vocabulary``) cost nothing
# and any layer may import them.
_EXPORTS = {"FaceIDClient": ".facade", "COS_REGION_RULE": ".validate"}

if TYPE_CHECKING:
    from .facade import FaceIDClient
    from .validate import COS_REGION_RULE


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
