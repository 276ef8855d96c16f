"""The offline twin of the FaceID API (see ``docs/emulator.md``).

``Emulator`` (the server), ``Profile`` / ``BehaviourModel`` (the ground truth) and the demo
credentials are importable from here; the server modules load only when first used, so importing
``faceid_tools.emulator.profile`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "DEMO_CREDENTIAL",
    "DEMO_SESSION_CREDENTIAL",
    "BehaviourModel",
    "Emulator",
    "Profile",
]

_EXPORTS = {
    "Emulator": "faceid_tools.emulator.server",
    "DEMO_CREDENTIAL": "faceid_tools.emulator.server",
    "DEMO_SESSION_CREDENTIAL": "faceid_tools.emulator.server",
    "Profile": "faceid_tools.emulator.profile",
    "BehaviourModel": "faceid_tools.emulator.profile",
}

if TYPE_CHECKING:
    from .profile import BehaviourModel, Profile
    from .server import DEMO_CREDENTIAL, DEMO_SESSION_CREDENTIAL, Emulator


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'faceid_tools.emulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
