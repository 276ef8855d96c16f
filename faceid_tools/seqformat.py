"""The emulator's light-sequence format ("FRSQ" v1), its encoder, decoder and generator.

The real format is undocumented and passed through to the mobile SDK; this one is ours, documented
in ``docs/sequence-format.md``.  All integers are big-endian.

====== ===== ================================================================
offset bytes  field
====== ===== ================================================================
0      4      magic ``b"FRSQ"``
4      1      format version (1)
5      1      security level (1 silent, 2 blinking, 3 light, 4 blinking + light)
6      16     nonce (CSPRNG)
22     2      frame count F
24     2      blink-cue count B
26     5*F    colour frames: R, G, B (u8 each), duration in ms (u16)
26+5F  4*B    blink cues: start offset in ms (u16), duration in ms (u16)
====== ===== ================================================================

Levels 3 and 4 carry colour frames; levels 2 and 4 carry blink cues; level 1 carries neither.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

from .errors import FaceIDError, InputError

MAGIC = b"FRSQ"
VERSION = 1
HEADER = struct.Struct(">4sBB16sHH")
FRAME = struct.Struct(">BBBH")
BLINK = struct.Struct(">HH")

#: The colours a frame may show (R, G, B).
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (0, 255, 255),
    (255, 0, 255),
    (255, 255, 0),
    (255, 255, 255),
    (255, 128, 0),
)
LIGHT_LEVELS = frozenset({3, 4})
BLINK_LEVELS = frozenset({2, 4})
FRAMES_RANGE = (8, 12)  # inclusive, levels 3 and 4
FRAME_MS_RANGE = (100, 300)
BLINKS_RANGE = (2, 4)  # inclusive, levels 2 and 4
BLINK_MS_RANGE = (200, 400)


class SequenceFormatError(FaceIDError, ValueError):
    """The bytes are not a well-formed FRSQ v1 sequence."""


@dataclass(frozen=True)
class Frame:
    rgb: tuple[int, int, int]
    duration_ms: int


@dataclass(frozen=True)
class Blink:
    start_ms: int
    duration_ms: int


@dataclass(frozen=True)
class LightSequence:
    security_level: int
    nonce: bytes
    frames: tuple[Frame, ...] = ()
    blinks: tuple[Blink, ...] = ()

    @property
    def duration_ms(self) -> int:
        """Total length: the light frames, or the end of the last blink cue, whichever is later."""
        light = sum(f.duration_ms for f in self.frames)
        blink = max((b.start_ms + b.duration_ms for b in self.blinks), default=0)
        return max(light, blink)

    @property
    def distinct_colours(self) -> int:
        return len({f.rgb for f in self.frames})


def encode(seq: LightSequence) -> bytes:
    if len(seq.nonce) != 16:
        raise SequenceFormatError("nonce must be 16 bytes")
    out = [
        HEADER.pack(MAGIC, VERSION, seq.security_level, seq.nonce, len(seq.frames), len(seq.blinks))
    ]
    out += [FRAME.pack(*f.rgb, f.duration_ms) for f in seq.frames]
    out += [BLINK.pack(b.start_ms, b.duration_ms) for b in seq.blinks]
    return b"".join(out)


def decode(data: bytes) -> LightSequence:
    """Parse FRSQ v1 bytes; raise :class:`SequenceFormatError` on anything else."""
    if len(data) < HEADER.size:
        raise SequenceFormatError(f"too short for a header: {len(data)} bytes")
    magic, version, level, nonce, n_frames, n_blinks = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise SequenceFormatError("bad magic")
    if version != VERSION:
        raise SequenceFormatError(f"unknown version {version}")
    if level not in (1, 2, 3, 4):
        raise SequenceFormatError(f"bad security level {level}")
    expected = HEADER.size + FRAME.size * n_frames + BLINK.size * n_blinks
    if len(data) != expected:
        raise SequenceFormatError(
            f"length {len(data)} != {expected} for {n_frames} frames, {n_blinks} blinks"
        )
    offset = HEADER.size
    frames = []
    for _ in range(n_frames):
        r, g, b, ms = FRAME.unpack_from(data, offset)
        frames.append(Frame((r, g, b), ms))
        offset += FRAME.size
    blinks = []
    for _ in range(n_blinks):
        start, ms = BLINK.unpack_from(data, offset)
        blinks.append(Blink(start, ms))
        offset += BLINK.size
    return LightSequence(level, nonce, tuple(frames), tuple(blinks))


def _randint(lo: int, hi: int) -> int:
    return lo + secrets.randbelow(hi - lo + 1)


def generate(security_level: int) -> LightSequence:
    """A fresh sequence for ``security_level`` drawn from the OS CSPRNG."""
    if security_level not in (1, 2, 3, 4):
        raise InputError(f"security_level must be 1..4, got {security_level!r}")
    frames: list[Frame] = []
    if security_level in LIGHT_LEVELS:
        previous = None
        for _ in range(_randint(*FRAMES_RANGE)):
            choices = [c for c in PALETTE if c != previous]
            colour = choices[secrets.randbelow(len(choices))]
            frames.append(Frame(colour, _randint(*FRAME_MS_RANGE)))
            previous = colour
    blinks: list[Blink] = []
    if security_level in BLINK_LEVELS:
        at = _randint(200, 600)
        for _ in range(_randint(*BLINKS_RANGE)):
            ms = _randint(*BLINK_MS_RANGE)
            blinks.append(Blink(at, ms))
            at += ms + _randint(300, 900)
    return LightSequence(security_level, secrets.token_bytes(16), tuple(frames), tuple(blinks))
