"""``faceid-tools calls``: the summary of a log, as text and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceid_tools.calllog.store import CallLog
from faceid_tools.cli import main


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "calls.sqlite"
    rows = []
    for i in range(6):
        rows.append(
            {
                "call_id": f"c{i // 2}",
                "attempt": i % 2 + 1,
                "campaign_id": "camp-1" if i < 4 else "camp-2",
                "action": "GenerateReflectSequence",
                "region": "ap-singapore" if i % 3 else "ap-bangkok",
                "security_level": str(i % 4 + 1),
                "started_at": f"2026-02-01T12:{i:02d}:00.000000+00:00",
                "latency_ms": 100.0 + i,
                "outcome": "ok" if i % 2 else "api_error",
                "error_code": None if i % 2 else "InternalError",
            }
        )
    with CallLog(path) as log:
        log.record_many(rows)
    return path


def test_text_summary(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calls", "--log", str(log_path)]) == 0
    out = capsys.readouterr().out
    assert "rows: 6" in out
    assert "calls: 3" in out
    assert "campaigns: 2" in out
    assert "2026-02-01T12:00:00.000000+00:00 → 2026-02-01T12:05:00.000000+00:00 (5 min 0 s)" in out
    assert "InternalError" in out
    assert "ap-bangkok" in out and "ap-singapore" in out
    assert "api_error" in out


def test_json_summary_for_one_campaign(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calls", "--log", str(log_path), "--campaign", "camp-2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"] == 2
    assert data["calls"] == 1
    assert data["by_outcome"] == {"api_error": 1, "ok": 1}
    assert data["error_codes"] == {"InternalError": 1}
    assert data["by_action"] == {"GenerateReflectSequence": 2}
    assert data["mean_latency_ms_ok"]["GenerateReflectSequence"] == pytest.approx(105.0)


def test_missing_log_is_an_error_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.sqlite"
    assert main(["calls", "--log", str(missing)]) == 2
    assert "no call log" in capsys.readouterr().err
    assert not missing.exists()


def test_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    assert main(["calls", "--log", str(junk)]) == 2
    assert "junk.sqlite" in capsys.readouterr().err


def test_counts_and_quantiles_mean_what_the_campaign_and_analysis_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``calls`` counts GenerateReflectSequence calls by their last attempt (as a campaign's
    summary does) apart from every distinct call_id, and its p50/p99 are the analysis's order
    statistics (no interpolation)."""
    from faceid_tools.analysis.intervals import quantile_rank
    from faceid_tools.calllog.overview import summarize
    from faceid_tools.simulate import simulate

    path = tmp_path / "sim.sqlite"
    simulate(97, path, seed=5, retries=2, profile="high-latency")
    with CallLog(path) as log:  # an upload, as a campaign makes one per region
        log.record({"call_id": "upload-1", "action": "UploadDeviceData", "outcome": "ok"})
    s = summarize(path)
    assert s.calls == 98 and s.generate_calls == 97
    from faceid_tools.calllog.load import load_calls

    df = load_calls(path)
    grs = df[df["action"] == "GenerateReflectSequence"]
    last = grs.sort_values("attempt").groupby("call_id").tail(1)
    assert s.generate_failed == int((last["outcome"] != "ok").sum())
    ok = sorted(grs.loc[grs["outcome"] == "ok", "latency_ms"])
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        expected = ok[quantile_rank(len(ok), q) - 1]
        assert s.latency_quantiles_ms_ok["GenerateReflectSequence"][name] == expected
    assert main(["calls", "--log", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"GenerateReflectSequence calls: 97, {97 - s.generate_failed} ok" in out
