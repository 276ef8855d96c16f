from pathlib import Path

import pytest

from faceid_tools.analysis import duplicate_rate, duplicate_sequences, window
from faceid_tools.campaign.summary import achieved_rate, max_starts_in_window, summarize

from .logdb import add_call, add_row, at, make_log


def test_max_starts_in_any_window() -> None:
    assert max_starts_in_window([]) == 0
    assert max_starts_in_window([5.0]) == 1
    ts = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0001, 1.21]
    assert max_starts_in_window(ts) == 5
    assert max_starts_in_window([*ts, 0.9]) == 6  # 0.0..0.9 is six in one second
    assert max_starts_in_window([0.0, 1.0]) == 2  # the window is closed
    assert max_starts_in_window(list(reversed(ts))) == 5  # order does not matter


def test_achieved_rate() -> None:
    assert achieved_rate([]) == 0.0
    assert achieved_rate([1.0]) == 0.0
    assert achieved_rate([0.0, 0.25, 0.5, 0.75, 1.0]) == pytest.approx(4.0)


def _campaign(path: Path):
    conn = make_log(path)
    add_call(conn, "c1", 0, 0.0, sha="a" * 64, latency_ms=100)
    add_call(conn, "c1", 1, 0.2, sha="a" * 64, latency_ms=300)  # a duplicate sequence
    add_call(conn, "c1", 2, 0.4, download="integrity_error", sha="b" * 64, latency_ms=200)
    add_call(conn, "c1", 3, 0.6, outcome="api_error", code="InternalError")
    add_call(conn, "c1", 4, 0.8, outcome="api_error", code="RequestLimitExceeded")
    add_call(conn, "c1", 4, 1.0, attempt=2, sha="c" * 64)  # retried and ok
    add_call(conn, "c1", 5, 1.2, download="network_error", sha=None)
    add_call(conn, "c2", 0, 0.1, sha="a" * 64)  # another campaign, same bytes
    return conn


def test_summary_counts_every_kind_of_result(tmp_path: Path) -> None:
    conn = _campaign(tmp_path / "calls.sqlite")
    s = summarize(conn, "c1", planned=12, completed=6, elapsed_s=1.5, run=1)
    assert (s.calls, s.attempts, s.ok, s.failed) == (6, 7, 5, 1)
    assert s.errors_by_code == {"InternalError": 1, "RequestLimitExceeded": 1}
    assert s.rate_limit_exceeded == 1
    assert s.error_rate == pytest.approx(1 / 6)
    assert (s.downloads, s.integrity_failures, s.download_failures) == (5, 1, 1)
    assert s.duplicates == 1
    assert s.achieved_rate == pytest.approx(6 / 1.2)
    assert s.max_starts_1s == 6
    assert s.remaining == 6
    assert s.latency_p50_ms == pytest.approx(100)  # 100, 100, 100, 200, 300
    assert s.latency_p99_ms == 300  # the order statistic of rank ceil(0.99 n), as the analysis
    text = s.format()
    assert (
        "6 to resume" in text
        and "RequestLimitExceeded 1 (14.3%)" in text
        and "1 failed MD5" in text
    )
    assert s.as_dict()["error_rate"] == pytest.approx(1 / 6)


def test_summary_since_covers_only_the_run_but_duplicates_look_back(tmp_path: Path) -> None:
    conn = _campaign(tmp_path / "calls.sqlite")
    add_call(conn, "c1", 6, 100.0, sha="c" * 64)  # resumed run, repeats an earlier sequence
    s = summarize(conn, "c1", planned=12, completed=7, since=at(50.0), run=2)
    assert (s.calls, s.ok, s.downloads, s.duplicates) == (1, 1, 1, 1)
    assert s.achieved_rate == 0.0 and s.max_starts_1s == 1


def test_duplicates_are_findable_from_the_log(tmp_path: Path) -> None:
    """The analysis finds the sequences the summary counts as repeats (one rule, calllog.rules)."""
    path = tmp_path / "calls.sqlite"
    conn = _campaign(path)
    groups = duplicate_sequences(path)
    assert list(zip(groups["seq_sha256"], groups["copies"], strict=True)) == [("a" * 64, 3)]
    assert groups["call_ids"][0] == ("c1-000000", "c1-000001", "c2-000000")
    only = duplicate_sequences(window(path, campaign="c1"))
    assert only["call_ids"][0] == ("c1-000000", "c1-000001")
    assert duplicate_sequences(window(path, campaign="c2")).empty
    s = summarize(conn, "c1", planned=12, completed=6)
    assert s.duplicates == int(duplicate_rate(window(path, campaign="c1"))["repeats"].sum())


def test_a_calls_own_second_download_is_not_a_repeat(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite"
    conn = _campaign(path)
    add_row(  # call 0 downloads its own bytes again
        conn,
        call_id="c1-000000",
        campaign_id="c1",
        action="DownloadSequence",
        started_at=at(5.0),
        outcome="ok",
        seq_sha256="a" * 64,
    )
    s = summarize(conn, "c1", planned=12, completed=6)
    assert s.duplicates == 1 == int(duplicate_rate(window(path, campaign="c1"))["repeats"].sum())


def test_progress_bar_counts_what_the_summary_counts() -> None:
    """``failed`` = the summary's failed calls; ``bad_seq`` = its MD5 and download failures."""
    from faceid_tools.campaign.progress import Progress

    bar = Progress(6, enabled=False, desc="c1")
    for status in ("ok", "api_error", "failed", "integrity_error", "download_failed", "ok"):
        bar.call_finished(status)
    assert (bar.done, bar.failed, bar.bad_sequences) == (6, 2, 2)
