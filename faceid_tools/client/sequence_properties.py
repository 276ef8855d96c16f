"""Light-sequence inspection: properties that hold for any bytes, and decoded ones for FRSQ v1.

:func:`properties` gives the ``seq_*`` call-log columns of one downloaded sequence (the client
calls it for every download).  Sequences returned more than once across a log are
:func:`faceid_tools.analysis.duplicate_sequences` (the rule: :mod:`faceid_tools.calllog.rules`).
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections import Counter
from typing import Any

from .. import seqformat


def byte_entropy(data: bytes) -> float:
    """Shannon entropy of the byte histogram, bits per byte (0..8)."""
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


def compress_ratio(data: bytes) -> float:
    """zlib-compressed size over size (about 1 or more for random bytes)."""
    return len(zlib.compress(data, 9)) / len(data) if data else 0.0


def properties(data: bytes, expected_md5: str | None) -> dict[str, Any]:
    """The ``seq_*`` call-log columns for downloaded sequence bytes."""
    md5 = hashlib.md5(data).hexdigest()
    props: dict[str, Any] = {
        "seq_size": len(data),
        "seq_md5_ok": None if expected_md5 is None else int(md5 == expected_md5.lower()),
        "seq_sha256": hashlib.sha256(data).hexdigest(),
        "seq_entropy": byte_entropy(data),
        "seq_compress_ratio": compress_ratio(data),
        "seq_format": None,
        "seq_level": None,
        "seq_frames": None,
        "seq_colours": None,
        "seq_duration_ms": None,
        "seq_blinks": None,
    }
    try:
        seq = seqformat.decode(data)
    except seqformat.SequenceFormatError:
        return props
    props.update(
        seq_format="FRSQ1",
        seq_level=seq.security_level,
        seq_frames=len(seq.frames),
        seq_colours=seq.distinct_colours,
        seq_duration_ms=seq.duration_ms,
        seq_blinks=len(seq.blinks),
    )
    return props
