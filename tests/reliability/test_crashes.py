"""2. Crashes: SIGKILL ``faceid-tools probe`` at random moments, ``--resume``, lose nothing.

The full run makes 20 kills (four series of five); CI makes two.  See
:mod:`tests.reliability.crash` for what is audited after each kill and at the end of each campaign.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.reliability.conftest import Recorder
from tests.reliability.crash import Series
from tests.reliability.settings import FULL, SEED, count

GROUPS = count(1, 4)
KILLS_PER_GROUP = count(2, 5)
PER_CELL = count(2, 6)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("group", range(GROUPS))
def test_sigkill_at_random_moments_then_resume(
    group: int, tmp_path: Path, figures: Recorder
) -> None:
    series = Series(tmp_path, KILLS_PER_GROUP, PER_CELL, random.Random(SEED * 31 + group))
    audits = series.run()
    for audit in audits:
        for kill in audit.kills:
            figures.add(
                f"{kill.campaign}: kill during {kill.run}",
                1,
                lost=kill.lost_at_kill + kill.lost_later,
                duplicated=kill.duplicated,
                detail={
                    "killed after (s)": round(kill.after_s, 2),
                    "rows the killed run committed": kill.rows_by_run,
                    "plan calls complete at the kill": f"{len(kill.complete_at_kill)}/{audit.planned}",
                    "integrity_check": kill.integrity,
                },
            )
        figures.add(
            f"{audit.campaign}: completed",
            0,
            lost=audit.planned - audit.completed,
            duplicated=audit.double_executions,
            detail={
                "plan calls complete at the kill": f"{audit.completed}/{audit.planned} at the end "
                f"({audit.runs} runs)",
                "integrity_check": audit.integrity,
            },
        )
    kills = [k for a in audits for k in a.kills]
    assert len(kills) == KILLS_PER_GROUP
    for kill in kills:
        where = f"{kill.campaign} {kill.run}"
        assert kill.integrity.startswith("ok"), where
        assert kill.lost_at_kill == 0, f"{where}: committed rows gone after the kill"
        assert kill.lost_later == 0, f"{where}: rows gone after the resume"
        assert kill.duplicated == 0, f"{where}: calls complete at the kill made again"
    for audit in audits:
        assert audit.exit_code == 0
        assert audit.integrity == "ok"
        assert audit.double_executions == 0, audit.campaign
        assert audit.completed == audit.planned, audit.campaign
        assert audit.marked == audit.planned, audit.campaign
    if FULL:
        assert sum(k.rows_by_run > 0 for k in kills) >= len(kills) // 2, "kills mostly mid-run"
