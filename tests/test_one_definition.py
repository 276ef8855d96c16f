"""One definition per quantity: on one log, every path that shows a quantity finds the same number.

The paths: the analysis on the pandas engine (the SQLite file) and on the DuckDB engine (the same
rows exported to Parquet), the notebook table (``present.table`` of the notebooks' call), the CLI
``faceid-tools calls --json``, and a campaign's end summary.  The quantities: a call's final outcome
(calls, failed), the error rate and its Wilson interval, repeated sequences, the loopback test.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from faceid_tools import analysis
from faceid_tools.analysis.intervals import (
    newcombe_at,
    newcombe_interval,
    wilson_interval,
    z_value,
)
from faceid_tools.calllog.export import export
from faceid_tools.calllog.rules import RepeatedSequences
from faceid_tools.campaign.summary import Summary
from faceid_tools.campaign.summary import summarize as campaign_summary
from faceid_tools.cli import main
from faceid_tools.client.regions import is_loopback_endpoint, is_loopback_host
from faceid_tools.client.vocabulary import DOWNLOAD, GENERATE
from faceid_tools.report import present
from faceid_tools.simulate import simulate

CAMPAIGN = "one-definition"


@dataclass(frozen=True)
class Log:
    sqlite: Path
    parquet: Path


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    """A simulated campaign with retries, failures, corrupt and repeated sequences, plus the rows
    the definitions are about: attempts without a ``call_id`` (a call each), a call whose ok
    attempt was followed by a failed one (its final outcome is the failure) and a call that
    downloaded its own bytes twice (not a repeat)."""
    folder = tmp_path_factory.mktemp("one")
    db = folder / "calls.sqlite"
    simulate(3_000, db, seed=22, retries=2, campaign_id=CAMPAIGN)
    conn = sqlite3.connect(db)
    with conn:
        last = conn.execute("SELECT max(started_at) FROM calls").fetchone()[0]
        ok = _row(conn, "action = ? AND outcome = 'ok' AND attempt = 1", GENERATE)
        failed = dict(ok, outcome="api_error", error_code="InternalError", latency_ms=None)
        _insert(conn, dict(failed, call_id=None, started_at=last))
        _insert(conn, dict(failed, call_id=None, started_at=last))
        _insert(conn, dict(failed, attempt=2, started_at=last))
        download = _row(conn, "action = ? AND seq_sha256 IS NOT NULL", DOWNLOAD)
        _insert(conn, dict(download, started_at=last))
    conn.close()
    export(db, folder / "parquet", workers=1)
    return Log(db, folder / "parquet")


def _row(conn: sqlite3.Connection, where: str, action: str) -> dict[str, object]:
    conn.row_factory = sqlite3.Row
    row = conn.execute(f"SELECT * FROM calls WHERE {where} ORDER BY id LIMIT 1", (action,))
    found = dict(row.fetchone())
    conn.row_factory = None
    del found["id"]
    return found


def _insert(conn: sqlite3.Connection, row: dict[str, object]) -> None:
    marks = ", ".join("?" for _ in row)
    conn.execute(f"INSERT INTO calls ({', '.join(row)}) VALUES ({marks})", tuple(row.values()))


def _engines(log: Log) -> dict[str, object]:
    return {"pandas": log.sqlite, "duckdb": analysis.source(log.parquet)}


def _cli_calls(log: Log, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["calls", "--log", str(log.sqlite), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _campaign(log: Log) -> Summary:
    conn = sqlite3.connect(log.sqlite)
    try:
        return campaign_summary(conn, CAMPAIGN, planned=0, completed=0)
    finally:
        conn.close()


def test_a_calls_final_outcome_is_the_same_on_every_path(
    log: Log, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(log.sqlite)
    retried = conn.execute("SELECT count(*) FROM calls WHERE attempt > 1").fetchone()[0]
    conn.close()
    assert retried > 0  # the log has calls whose final attempt is not their first
    seen = {}
    for name, data in _engines(log).items():
        rates = analysis.error_rates(data, by=None, per="call")
        table = analysis.summary_table(data, by=(), per="call")
        seen[f"{name} error_rates"] = (int(rates["n"][0]), int(rates["errors"][0]))
        seen[f"{name} summary_table"] = (int(table["n"][0]), int(table["errors"][0]))
    cli = _cli_calls(log, capsys)
    seen["cli calls"] = (cli["generate_calls"], cli["generate_failed"])
    s = _campaign(log)
    seen["campaign summary"] = (s.calls, s.failed)
    assert len(set(seen.values())) == 1, seen
    assert next(iter(seen.values()))[1] > 0


def test_the_error_rate_and_its_interval_are_the_same_on_every_path(
    log: Log, capsys: pytest.CaptureFixture[str]
) -> None:
    for data in _engines(log).values():
        rates = analysis.error_rates(data, by=None, per="call")
        table = analysis.summary_table(data, by=(), per="call")
        n, k = int(rates["n"][0]), int(rates["errors"][0])
        lo, hi = wilson_interval(k, n)
        assert rates["rate"][0] == table["error_rate"][0] == k / n
        assert (rates["rate_lo"][0], rates["rate_hi"][0]) == (float(lo), float(hi))
        assert (table["error_rate_lo"][0], table["error_rate_hi"][0]) == (float(lo), float(hi))
        # the notebook's table (02-errors: present.table of summary_table) shows that interval
        html = present.table(table).to_html()
        assert present.interval(k / n, lo, hi, present.pct) in html
    cli = _cli_calls(log, capsys)
    s = _campaign(log)
    assert s.error_rate == cli["generate_failed"] / cli["generate_calls"] == k / n


def test_the_baseline_test_uses_the_one_wilson_interval() -> None:
    """``newcombe_pvalue`` (the baseline comparison) inverts Newcombe's interval built on
    ``wilson_interval``: at every level, p < 1 − level exactly when the interval leaves out 0."""
    from faceid_tools.analysis.baseline import newcombe_pvalue

    k1, n1, k2, n2 = np.array([3, 40, 0, 7]), 200, np.array([12, 41, 5, 7]), 210
    p = newcombe_pvalue(k1, n1, k2, n2)
    for level in (0.8, 0.9, 0.95, 0.99):
        _, lo, hi = newcombe_interval(k1, n1, k2, n2, level)
        _, lo_z, hi_z = newcombe_at(k1, n1, k2, n2, z_value(level))
        assert np.array_equal(lo, lo_z) and np.array_equal(hi, hi_z)
        excludes = (lo > 0) | (hi < 0)
        assert np.array_equal(p < 1 - level, excludes)


def test_repeated_sequences_are_the_same_on_every_path(log: Log) -> None:
    seen = {
        name: int(analysis.duplicate_rate(data)["repeats"].sum())
        for name, data in _engines(log).items()
    }
    seen["campaign summary"] = _campaign(log).duplicates
    assert len(set(seen.values())) == 1, seen
    assert seen["pandas"] > 0
    groups = analysis.duplicate_sequences(log.sqlite)
    assert (groups["calls"] > 1).all()


def test_a_calls_own_second_download_is_not_a_repeat() -> None:
    rule = RepeatedSequences()
    assert rule.see("a", "c1") is False
    assert rule.see("a", "c1") is None  # the same call again: counted once
    assert rule.see("a", "c2") is True
    assert rule.see(None, "c3") is None


@pytest.mark.parametrize(
    ("endpoint", "loopback"),
    [
        ("127.0.0.1:8443", True),
        ("[::1]:8443", True),
        ("[::1]", True),
        ("::1", True),
        ("localhost:80", True),
        ("https://127.0.0.1:9000/path", True),
        ("127.0.0.1.nip.io:443", False),
        ("faceid.ap-singapore.tencentcloudapi.com", False),
        ("[2001:db8::1]:443", False),
        ("", False),
    ],
)
def test_one_loopback_test(endpoint: str, loopback: bool) -> None:
    assert is_loopback_endpoint(endpoint) is loopback


def test_provenance_recognises_an_ipv6_loopback_endpoint(tmp_path: Path) -> None:
    """The page's provenance and the client's transport agree on ``[::1]:port``."""
    import pandas as pd

    from faceid_tools.analysis.provenance import provenance
    from faceid_tools.calllog.load import load_calls
    from faceid_tools.report.present import provenance_facts

    db = tmp_path / "calls.sqlite"
    simulate(24, db, seed=3)
    frame = load_calls(db)
    frame["endpoint"] = pd.Series(["[::1]:8443"] * len(frame), dtype=frame["endpoint"].dtype)
    frame["simulated"] = 0  # as if a campaign had called the emulator on [::1]
    assert is_loopback_host("::1")
    facts = dict(provenance_facts(provenance(frame)))
    assert facts["Service"].startswith("emulator on loopback")
