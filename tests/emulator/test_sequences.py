"""Light sequences: FRSQ v1 by security level, from a CSPRNG, never repeated without a profile defect."""

from __future__ import annotations

import hashlib

import pytest
import requests

from faceid_tools.emulator.server import Emulator
from faceid_tools.seqformat import BLINK_LEVELS, LIGHT_LEVELS, decode

from ._api import generate, response_of, upload


@pytest.mark.parametrize("level", ["1", "2", "3", "4"])
def test_sequence_content_follows_the_level(emulator: Emulator, level: str) -> None:
    device = upload(emulator)
    resp = response_of(generate(emulator, device, level))
    blob = requests.get(resp["ReflectSequenceUrl"], timeout=10).content
    assert hashlib.md5(blob).hexdigest() == resp["ReflectSequenceMd5"]
    seq = decode(blob)
    assert seq.security_level == int(level)
    assert bool(seq.frames) == (int(level) in LIGHT_LEVELS)
    assert bool(seq.blinks) == (int(level) in BLINK_LEVELS)


def test_sequences_never_repeat_even_across_same_seed_emulators(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    nonces: set[bytes] = set()
    md5s: set[str] = set()
    for _ in range(2):
        emu = emulator_factory("reliable", 42, quota=False)
        device = upload(emu)
        for _ in range(25):
            resp = response_of(generate(emu, device, "4"))
            md5s.add(resp["ReflectSequenceMd5"])
            nonces.add(decode(requests.get(resp["ReflectSequenceUrl"], timeout=10).content).nonce)
    assert len(md5s) == 50 and len(nonces) == 50
