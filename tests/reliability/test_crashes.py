"""2. Crashes: SIGKILL ``faceid-tools probe`` at random moments, ``--resume``, lose nothing.

The full run makes 20 kills (four series of five); CI makes two.  See
:mod:`tests.reliability.crash` for what is audited after each kill and at the end of each campaign.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.reliability.conftest import Recorder
from tests.reliability.crash import Series, executions, is_final_failure
from tests.reliability.settings import SEED, count

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


def test_the_audit_counts_complete_executions() -> None:
    """The duplicate and completion audit is not blind (rows built by hand)."""
    names = [
        "id",
        "call_id",
        "campaign_id",
        "action",
        "outcome",
        "error_code",
        "http_status",
        "attempt",
    ]
    grs, dl = "GenerateReflectSequence", "DownloadSequence"
    spec = [
        ("c-000000", grs, "ok", None, 200, 1),
        ("c-000000", dl, "ok", None, 200, 1),  # index 0: one execution
        ("c-000001", grs, "ok", None, 200, 1),  # killed before its download...
        ("c-000001", grs, "ok", None, 200, 1),
        ("c-000001", dl, "integrity_error", "IntegrityError", 200, 1),  # ...redone: one
        ("c-000002", grs, "ok", None, 200, 1),
        ("c-000002", dl, "ok", None, 200, 1),
        ("c-000002", grs, "ok", None, 200, 1),
        ("c-000002", dl, "ok", None, 200, 1),  # index 2: made twice
        ("c-000003", grs, "api_error", "InternalError", 200, 1),  # retried...
        ("c-000003", grs, "api_error", "InternalError", 200, 2),  # ...final: one
        ("c-000004", grs, "api_error", "AuthFailure.SignatureFailure", 200, 1),  # final: one
        ("c-000005", grs, "timeout", "Timeout", None, 1),  # retryable, killed: none
        ("c-upload-1-ap-singapore-1", "CreateUploadUrl", "ok", None, 200, 1),  # not a plan call
    ]
    rows = {i + 1: (i + 1, c, "c", a, o, e, s, n) for i, (c, a, o, e, s, n) in enumerate(spec)}
    done = executions(rows, names, "c", retries=1)
    assert {i: len(ids) for i, ids in done.items()} == {0: 1, 1: 1, 2: 2, 3: 1, 4: 1}
    assert is_final_failure("timeout", "Timeout", None, 2, retries=1)
    assert not is_final_failure("http_error", "HTTPStatus", 503, 1, retries=1)
    assert is_final_failure("http_error", "HTTPStatus", 500, 1, retries=1)
