"""The behaviour profile is the ground truth: latencies, faults, timeouts, sequence defects, seeds."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests

from faceid_tools.emulator.profile import Profile
from faceid_tools.emulator.server import Emulator
from faceid_tools.seqformat import decode

from ._api import error_code, generate, response_of, upload
from .groundtruth import check_profile, draw_through_backend


def _profile(**changes: Any) -> Profile:
    raw: dict[str, Any] = {
        k: (dict(v) if isinstance(v, dict) else v) for k, v in Profile.load("reliable").raw.items()
    }
    for dotted, value in changes.items():
        section, _, key = dotted.partition("__")
        raw.setdefault(section, {})[key] = value
    return Profile.from_dict(raw, name="test")


def test_profile_is_the_ground_truth() -> None:
    """12,000 calls through the backend: medians, p95s and rates inside 99.9% intervals."""
    profile = Profile.default()
    checks = check_profile(profile, draw_through_backend(profile, profile.seed, per_cell=1000))
    outside = [c.row() for c in checks if not c.ok]
    assert len(checks) == 38
    assert outside == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_profile_is_the_ground_truth_for_other_seeds_and_profiles(seed: int) -> None:
    for name in ("default", "high-latency"):
        profile = Profile.load(name)
        checks = check_profile(
            profile, draw_through_backend(profile, seed, per_cell=3000), alpha=0.001 / 38
        )
        assert [c.row() for c in checks if not c.ok] == []


def test_the_check_can_fail() -> None:
    """Draws from one profile judged against a profile 20 % slower with 5x the faults fail."""
    profile = Profile.default()
    draws = draw_through_backend(profile, profile.seed, per_cell=500)
    raw = dict(profile.raw)
    raw["regions"] = {
        r: {**sec, "median_ms": sec["median_ms"] * 1.2, "p99_ms": sec["p99_ms"] * 1.2}
        for r, sec in profile.raw["regions"].items()
    }
    raw["faults"] = {k: v * 5 for k, v in profile.raw["faults"].items()}
    wrong = Profile.from_dict(raw)
    failed = {c.what for c in check_profile(wrong, draws) if not c.ok}
    assert "latency p50 (ms)" in failed
    assert "rate InternalError" in failed


def test_seeded_behaviour_is_reproducible_over_http(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    faulty = _profile(faults__InternalError=0.3, faults__ServiceUnavailable=0.2)

    def run(seed: int) -> list[str | None]:
        emu = emulator_factory(faulty, seed, quota=False)
        device = upload(emu)
        return [error_code(generate(emu, device)) for _ in range(30)]

    first = run(9)
    assert run(9) == first
    assert {"InternalError", "ServiceUnavailable", None} <= set(first)
    assert run(10) != first


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"faults__InternalError": 0.999}, "InternalError", "An internal error has occurred."),
        ({"faults__ServiceUnavailable": 0.999}, "ServiceUnavailable", "Service is unavailable"),
        (
            {"faults__FailedOperation.DownLoadError": 0.999},
            "FailedOperation.DownLoadError",
            "File download failed.",
        ),
        (
            {"download__median_ms": 5000, "download__p99_ms": 9000, "download__timeout_ms": 100},
            "FailedOperation.DownLoadTimeoutError",
            "File download timed out.",
        ),
    ],
)
def test_drawn_faults_answer_with_the_services_code_and_message(
    emulator_factory,
    changes: dict[str, Any],
    code: str,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    emu = emulator_factory(_profile(**changes), 1, quota=False)
    device = upload(emu)
    resp = response_of(generate(emu, device))
    assert resp["Error"]["Code"] == code
    assert resp["Error"]["Message"].startswith(message)
    assert emu.stats()["outcomes"]["GenerateReflectSequence"] == {code: 1}


def test_timeout_latency_is_the_timeout_plus_the_level(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    profile = _profile(download__median_ms=5000, download__p99_ms=9000, download__timeout_ms=100)
    emu = emulator_factory(profile, 1)
    out = emu.backend.generate_reflect_sequence("ap-hongkong", "3", "http://x/y", "0" * 32)
    assert out.error is not None and out.error.code == "FailedOperation.DownLoadTimeoutError"
    assert out.draw.latency_ms == 100 + profile.level_extra_ms["3"]


def test_duplicate_sequences_share_bytes_not_urls(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory(_profile(sequences__duplicate_rate=1.0), 1, quota=False)
    device = upload(emu)
    first = response_of(generate(emu, device, "3"))
    second = response_of(generate(emu, device, "3"))
    other_level = response_of(generate(emu, device, "2"))
    assert first["ReflectSequenceMd5"] == second["ReflectSequenceMd5"]
    assert first["ReflectSequenceUrl"] != second["ReflectSequenceUrl"]
    a = requests.get(first["ReflectSequenceUrl"], timeout=10).content
    b = requests.get(second["ReflectSequenceUrl"], timeout=10).content
    assert a == b
    assert (
        decode(requests.get(other_level["ReflectSequenceUrl"], timeout=10).content).security_level
        == 2
    )
    assert emu.stats()["sequences"] == {"issued": 3, "duplicate": 1, "corrupt": 0}


def test_corrupt_sequences_fail_their_md5(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory(_profile(sequences__corrupt_rate=1.0), 1, quota=False)
    device = upload(emu)
    for level in "1234":
        resp = response_of(generate(emu, device, level))
        blob = requests.get(resp["ReflectSequenceUrl"], timeout=10).content
        assert hashlib.md5(blob).hexdigest() != resp["ReflectSequenceMd5"]
    assert emu.stats()["sequences"]["corrupt"] == 4


def test_a_drawn_fault_wins_over_bad_device_data(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    emu = emulator_factory(_profile(faults__ServiceUnavailable=0.999), 1)
    out = emu.backend.generate_reflect_sequence(
        "ap-bangkok", "4", "https://example.com/x", "0" * 32
    )
    assert out.error is not None and out.error.code == "ServiceUnavailable"


def test_session_emulator_never_fails_well_formed_calls(emulator: Emulator) -> None:
    emulator.configure(quota=False)
    device = upload(emulator)
    assert [error_code(generate(emulator, device)) for _ in range(40)] == [None] * 40
