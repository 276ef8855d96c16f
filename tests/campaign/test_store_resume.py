import sqlite3
from pathlib import Path

import pytest

from faceid_tools.campaign.plan import Plan
from faceid_tools.campaign.records import (
    CampaignExistsError,
    CampaignStore,
    UnknownCampaignError,
)
from faceid_tools.campaign.resume import (
    CallState,
    call_states,
    completed_indices,
    default_is_retried,
    is_complete,
    pending,
)

from .logdb import add_call, make_log


def test_campaign_round_trips_with_its_plan(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite"
    plan = Plan(per_cell=3, seed=123456789012345)
    with CampaignStore(path) as store:
        store.create("c1", plan, retries=2, device_data="upload", endpoint="127.0.0.1:9")
        with pytest.raises(CampaignExistsError):
            store.create("c1", plan, retries=2, device_data="upload", endpoint=None)
    with CampaignStore(path) as store:  # a fresh process reads it back
        rec = store.load("c1")
        assert rec.plan.entries == plan.entries
        assert (rec.retries, rec.device_data, rec.endpoint) == (2, "upload", "127.0.0.1:9")
        assert store.campaign_ids() == ["c1"]
        with pytest.raises(UnknownCampaignError):
            store.load("nope")


def test_a_tampered_plan_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite"
    with CampaignStore(path) as store:
        store.create("c1", Plan(per_cell=2, seed=1), retries=0, device_data="upload", endpoint=None)
        store.connection.execute("UPDATE campaigns SET seed = 2")
        with pytest.raises(ValueError, match="differs"):
            store.load("c1")


def test_runs_are_numbered_and_closed(tmp_path: Path) -> None:
    with CampaignStore(tmp_path / "calls.sqlite") as store:
        store.create("c1", Plan(per_cell=1, seed=1), retries=0, device_data="upload", endpoint=None)
        assert store.start_run("c1", rate=5.0, interval_s=0.203, to_do=12) == 1
        store.end_run("c1", 1, status="interrupted", dispatched=5, finished=4, abandoned=1)
        assert store.start_run("c1", rate=5.0, interval_s=0.203, to_do=8) == 2
        runs = store.runs("c1")
        assert [r["status"] for r in runs] == ["interrupted", "running"]
        assert runs[0]["abandoned"] == 1 and runs[0]["ended_at"]


def test_finished_calls_are_marked_once(tmp_path: Path) -> None:
    with CampaignStore(tmp_path / "calls.sqlite") as store:
        for status in ("ok", "api_error"):
            store.finish_call(
                "c1",
                3,
                "c1-000003",
                run=1,
                region="ap-bangkok",
                level="2",
                status=status,
                error_code=None,
            )
        assert store.finished_calls("c1") == {3: "ok"}
        with pytest.raises(ValueError):
            store.finish_call(
                "c1",
                4,
                "c1-000004",
                run=1,
                region="ap-bangkok",
                level="2",
                status="meh",
                error_code=None,
            )


def test_the_store_shares_the_file_with_the_calls_table(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite"
    conn = make_log(path)
    add_call(conn, "c1", 0, 0.0)
    with CampaignStore(path) as store:
        store.create("c1", Plan(per_cell=1, seed=1), retries=0, device_data="upload", endpoint=None)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"calls", "campaigns", "campaign_runs", "campaign_calls"} <= tables
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize(
    ("state", "retries", "complete"),
    [
        (CallState(), 0, False),
        (CallState(grs_ok=True, last_grs_outcome="ok", last_grs_attempt=1), 0, False),
        (
            CallState(grs_ok=True, last_grs_outcome="ok", last_grs_attempt=1, downloaded=True),
            0,
            True,
        ),
        # failed for good: no retries allowed
        (
            CallState(
                last_grs_outcome="api_error", last_grs_code="InternalError", last_grs_attempt=1
            ),
            0,
            True,
        ),
        # a retryable failure before the last attempt: the retry may never have run
        (
            CallState(
                last_grs_outcome="api_error", last_grs_code="InternalError", last_grs_attempt=1
            ),
            2,
            False,
        ),
        (CallState(last_grs_outcome="timeout", last_grs_attempt=2), 2, False),
        (
            CallState(
                last_grs_outcome="api_error", last_grs_code="InternalError", last_grs_attempt=3
            ),
            2,
            True,
        ),
        # not retried by the client: final at once
        (
            CallState(
                last_grs_outcome="api_error",
                last_grs_code="FailedOperation.DownLoadError",
                last_grs_attempt=1,
            ),
            2,
            True,
        ),
        (
            CallState(last_grs_outcome="bad_response", last_grs_code="NotJSON", last_grs_attempt=1),
            2,
            True,
        ),
    ],
)
def test_completeness_rule(state: CallState, retries: int, complete: bool) -> None:
    assert is_complete(state, retries) is complete


def test_gateway_statuses_are_retried_others_are_final() -> None:
    def http(status: int) -> CallState:
        return CallState(
            last_grs_outcome="http_error",
            last_grs_code="HTTPStatus",
            last_grs_status=status,
            last_grs_attempt=1,
        )

    assert not is_complete(http(503), retries=1)
    assert is_complete(http(503), retries=0)
    assert is_complete(http(404), retries=1)


def test_retry_predicate_matches_the_error_codes() -> None:
    assert default_is_retried("api_error", "RequestLimitExceeded")
    assert default_is_retried("api_error", "ServiceUnavailable")
    assert not default_is_retried("api_error", "AuthFailure.SignatureFailure")
    assert not default_is_retried("integrity_error", None)


def test_completed_and_pending_from_the_log(tmp_path: Path) -> None:
    conn = make_log(tmp_path / "calls.sqlite")
    plan = Plan(per_cell=1, seed=4)  # 12 calls
    add_call(conn, "c1", 0, 0.0)  # complete
    add_call(conn, "c1", 1, 0.2, download=None)  # killed before its download
    add_call(conn, "c1", 2, 0.4, outcome="api_error", code="InternalError")  # final, retries=0
    add_call(conn, "c1", 3, 0.6, download="integrity_error")  # complete: a result
    add_call(conn, "c2", 4, 0.8)  # another campaign
    states = call_states(conn, "c1")
    assert set(states) == {0, 1, 2, 3}
    done = completed_indices(conn, "c1", retries=0, marked={7})
    assert done == {0, 2, 3, 7}
    assert [e.index for e in pending(plan, done)] == [1, 4, 5, 6, 8, 9, 10, 11]
    assert completed_indices(conn, "c1", retries=1) == {0, 3}


def test_no_calls_table_means_nothing_done(tmp_path: Path) -> None:
    conn = sqlite3.connect(str(tmp_path / "empty.sqlite"))
    assert completed_indices(conn, "c1", retries=0) == set()
