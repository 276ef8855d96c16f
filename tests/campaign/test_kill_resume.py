"""A prober killed with SIGKILL at a random moment leaves an intact log, and --resume finishes it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from .killing import kill_and_resume


def _check(r) -> None:  # type: ignore[no-untyped-def]
    assert r.integrity_at_kill == "ok" and r.integrity == "ok"
    assert r.rows_lost == 0
    assert r.incomplete_rows == 0
    assert r.duplicated_calls == 0
    assert r.missing_calls == 0
    assert r.resumed_exactly_pending
    assert r.unlogged_at_kill >= 0  # only exchanges in flight at the kill lack a row


def test_sigkill_then_resume(tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    r = kill_and_resume(
        tmp_path / "calls.sqlite",
        per_cell=4,
        rng=random.Random(seed),
        rate=50.0,
        quota=100.0,
        time_scale=0.2,
    )
    _check(r)


@pytest.mark.slow
@pytest.mark.parametrize("run", range(10))
def test_sigkill_then_resume_at_the_quota(tmp_path: Path, run: int) -> None:
    """The reported figure: ten kills at random moments of a real-pace campaign."""
    r = kill_and_resume(tmp_path / "calls.sqlite", per_cell=4, rng=random.Random(1000 + run))
    _check(r)
