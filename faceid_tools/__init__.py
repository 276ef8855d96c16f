"""faceid-tools: measure Tencent Cloud FaceID's GenerateReflectSequence.

Public names (imported lazily so that ``import faceid_tools`` stays cheap)::

    from faceid_tools import FaceIDClient, Credential, CallLog, Emulator, load_calls, run_campaign
    from faceid_tools import FaceIDError   # the root of every error the package raises
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import FaceIDError

logging.getLogger(__name__).addHandler(logging.NullHandler())

_EXPORTS = {
    "FaceIDClient": "faceid_tools.client",
    "Credential": "faceid_tools.client.credentials",
    "CallLog": "faceid_tools.calllog.store",
    "load_calls": "faceid_tools.calllog.load",
    "Emulator": "faceid_tools.emulator.server",
    "run_campaign": "faceid_tools.campaign",
}

__all__ = [
    "CallLog",
    "Credential",
    "Emulator",
    "FaceIDClient",
    "FaceIDError",
    "__version__",
    "load_calls",
    "run_campaign",
]

if TYPE_CHECKING:
    from .calllog.load import load_calls
    from .calllog.store import CallLog
    from .campaign import run_campaign
    from .client import FaceIDClient
    from .client.credentials import Credential
    from .emulator.server import Emulator


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'faceid_tools' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
