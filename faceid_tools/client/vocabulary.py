"""The words every part shares, written once: the service, its actions, the security levels and
their names, the metrics' display names and the default call log.

The client writes these words into the log, the emulator answers to them, the analysis selects
by them and the pages print them; each is defined here and only imported elsewhere.  This module
imports nothing, so any module of the package may use it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ACTIONS",
    "API_VERSION",
    "CREATE_UPLOAD_URL",
    "DEFAULT_LOG_PATH",
    "DEFAULT_SECURITY_LEVEL",
    "DOWNLOAD",
    "GENERATE",
    "LEVELS",
    "LEVEL_MEANINGS",
    "LEVEL_NAMES",
    "METRIC_NAMES",
    "SERVICE",
    "UPLOAD",
    "level_name",
    "metric_name",
]

#: The service and API version every signed request names.
SERVICE = "faceid"
API_VERSION = "2018-03-01"

# --- actions: the ``action`` column of a call-log row ------------------------------------------

GENERATE = "GenerateReflectSequence"  #: the API action this toolkit measures
CREATE_UPLOAD_URL = "CreateUploadUrl"
UPLOAD = "UploadDeviceData"  #: the HTTP PUT of the device data to its presigned link
DOWNLOAD = "DownloadSequence"  #: the HTTP GET of a light sequence
ACTIONS: tuple[str, ...] = (GENERATE, CREATE_UPLOAD_URL, UPLOAD, DOWNLOAD)

# --- security levels ----------------------------------------------------------------------------

#: What each security level means, keyed as the API takes it and the log stores it (strings).
LEVEL_MEANINGS: dict[str, str] = {
    "1": "silent",
    "2": "blinking",
    "3": "light",
    "4": "blinking + light",
}
LEVELS: tuple[str, ...] = tuple(LEVEL_MEANINGS)
DEFAULT_SECURITY_LEVEL = "4"
#: How a page names a level: its number and its meaning (``"4 blinking + light"``).
LEVEL_NAMES: dict[str, str] = {k: f"{k} {v}" for k, v in LEVEL_MEANINGS.items()}


def level_name(level: object) -> str:
    """The display name of a security level (any other value as its text)."""
    return LEVEL_NAMES.get(str(level), str(level))


# --- metrics ------------------------------------------------------------------------------------

#: How pages, findings and sentences name each metric (lower case; capitalise at a sentence start).
METRIC_NAMES: dict[str, str] = {
    "p50_latency_ms": "p50 latency",
    "p95_latency_ms": "p95 latency",
    "error_rate": "error rate",
    "integrity_rate": "sequence integrity",
    "duplicate_rate": "duplicate rate",
}


def metric_name(metric: str, *, capital: bool = False) -> str:
    """The display name of a metric column (unknown ones as given); ``capital`` for a heading."""
    name = METRIC_NAMES.get(metric, metric)
    return name[:1].upper() + name[1:] if capital else name


# --- the call log -------------------------------------------------------------------------------

#: The call log every command reads and writes unless told otherwise (under the working directory).
DEFAULT_LOG_PATH = Path("data") / "calls.sqlite"
