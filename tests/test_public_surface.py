"""No public name or CLI flag is lost: the surface equals the committed snapshot
(``tests/public_surface.txt``; regenerate with ``python -m tests.public_surface --write`` when a
change of the surface is meant, and the diff of that file is the change)."""

from __future__ import annotations

from tests.public_surface import SNAPSHOT, surface


def test_public_surface_matches_the_snapshot() -> None:
    before = set(SNAPSHOT.read_text("utf-8").splitlines())
    now = set(surface())
    lost, added = sorted(before - now), sorted(now - before)
    assert not lost, f"public names or CLI flags lost: {lost}"
    assert not added, f"new public names or flags not in the snapshot: {added}"


def test_the_snapshot_covers_the_api_and_every_subcommand() -> None:
    lines = SNAPSHOT.read_text("utf-8").splitlines()
    assert "faceid_tools FaceIDError" in lines
    assert "faceid_tools.analysis error_rates" in lines
    for command in ("init", "emulator", "probe", "simulate", "calls", "export", "report"):
        assert f"faceid-tools {command}" in lines
    assert "faceid-tools probe --per-cell" in lines
