"""``simulate``: rows drawn from the profile, reproducible per seed, faithful to the ground truth."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from faceid_tools import seqformat
from faceid_tools.calllog.load import load_calls
from faceid_tools.calllog.schema import INSERT_COLUMNS
from faceid_tools.cli import main
from faceid_tools.client.regions import REGIONS, SECURITY_LEVELS
from faceid_tools.emulator.profile import Profile
from faceid_tools.simulate import random_sequence, simulate, to_epoch_us

from .conftest import START, rows

GRS = "GenerateReflectSequence"


def _profile(**overrides: object) -> Profile:
    data = dict(Profile.default().raw)
    data.update(overrides)
    return Profile.from_dict(data, name="test")


def test_one_row_per_call_and_one_download_per_success(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite"
    written = simulate(1200, path, seed=5, start=START)
    table = rows(path)
    assert written == len(table)
    grs = [r for r in table if r["action"] == GRS]
    downloads = [r for r in table if r["action"] == "DownloadSequence"]
    assert len(grs) == 1200
    assert {r["attempt"] for r in table} == {1}
    ok_calls = {r["call_id"] for r in grs if r["outcome"] == "ok"}
    assert sorted(r["call_id"] for r in downloads) == sorted(ok_calls)
    assert all(r["simulated"] == 1 for r in table)
    # every column of the schema is written by some row
    for column in INSERT_COLUMNS:
        assert any(r[column] is not None for r in table), column


def test_rows_look_like_the_clients(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite"
    simulate(600, path, seed=6, start=START)
    for r in rows(path):
        assert r["http_status"] == 200
        assert r["queued_ms"] == 0.0 and r["latency_ms"] > 0
        assert "?" not in (r["sequence_url"] or "") and "?" not in (r["device_data_url"] or "")
        if r["action"] == GRS:
            assert r["security_level"] in SECURITY_LEVELS
            assert r["endpoint"] == "faceid.intl.tencentcloudapi.com"
            assert len(r["request_id"]) == 36 and r["request_id"][14] == "4"
            assert (
                r["device_data_url"].startswith("https://") and r["region"] in r["device_data_url"]
            )
            assert (r["outcome"] == "ok") == (r["error_code"] is None)
            assert (r["outcome"] == "ok") == (r["sequence_md5"] is not None)
            assert r["seq_sha256"] is None
        else:
            assert r["security_level"] is None and r["request_id"] is None
            assert r["endpoint"] == r["sequence_url"].split("/")[2]
            assert r["response_bytes"] == r["seq_size"]
            assert len(r["seq_sha256"]) == 64
            integrity = r["outcome"] == "integrity_error"
            assert integrity == (r["seq_md5_ok"] == 0) == (r["error_code"] == "IntegrityError")
            if integrity:
                assert r["sequence_md5"] in r["error_message"]


def test_load_calls_reads_it_with_the_log_types(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite"
    simulate(240, path, seed=7, start=START, rate=2.0)
    df = load_calls(path)
    assert str(df["started_at"].dtype) == "datetime64[us, UTC]"
    assert df["simulated"].all()
    grs = df[df["action"] == GRS].sort_values("call_id")
    assert grs["started_at"].iloc[0] == datetime(2026, 3, 1, 22, tzinfo=UTC)
    # open-loop arrivals: call i starts i / rate seconds after the start
    gaps = grs["started_at"].diff().dropna().unique()
    assert list(gaps) == [timedelta(seconds=0.5)]


def test_the_same_seed_writes_the_same_rows(tmp_path: Path) -> None:
    a, b, c = (tmp_path / f"{name}.sqlite" for name in "abc")
    simulate(500, a, seed=42, start=START, retries=1)
    simulate(500, b, seed=42, start=START, retries=1)
    simulate(500, c, seed=43, start=START, retries=1)
    assert [tuple(r) for r in rows(a)] == [tuple(r) for r in rows(b)]
    assert [r["latency_ms"] for r in rows(a)] != [r["latency_ms"] for r in rows(c)]


def test_cells_come_in_randomised_blocks(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite"
    simulate(120, path, seed=8, start=START)
    grs = rows(
        path, "SELECT region, security_level FROM calls WHERE action = ? ORDER BY call_id", GRS
    )
    cells = [(r["region"], r["security_level"]) for r in grs]
    orders = set()
    for block in range(10):
        chunk = cells[block * 12 : (block + 1) * 12]
        assert sorted(chunk) == sorted((r, lv) for r in REGIONS for lv in SECURITY_LEVELS)
        orders.add(tuple(chunk))
    assert len(orders) > 1  # the order is drawn afresh per block


def test_error_rates_and_latency_follow_the_profile(tmp_path: Path) -> None:
    """Large enough to be sharp, with bounds wide enough (1e-6) never to fail by chance."""
    profile = Profile.default()
    path = tmp_path / "calls.sqlite"
    simulate(36_000, path, profile=profile, seed=9, start=START, rate=50.0)
    df = load_calls(path)
    grs = df[df["action"] == GRS]
    for region in REGIONS:
        attempts = grs[grs["region"] == region]
        n, errors = len(attempts), int((attempts["outcome"] == "api_error").sum())
        p = profile.error_rate(region)
        lo, hi = binom.ppf(1e-6, n, p), binom.isf(1e-6, n, p)
        assert lo <= errors <= hi, (region, errors, n * p)
        for level in SECURITY_LEVELS:
            ok = attempts[(attempts["security_level"] == level) & (attempts["outcome"] == "ok")]
            true_median = profile.latency_quantile(region, level, 0.5)
            below = int((ok["latency_ms"] < true_median).sum())
            assert binom.ppf(1e-6, len(ok), 0.5) <= below <= binom.isf(1e-6, len(ok), 0.5)
    codes = Counter(grs["error_code"].dropna())
    assert set(codes) <= {
        "InternalError",
        "ServiceUnavailable",
        "FailedOperation.DownLoadError",
        "FailedOperation.DownLoadTimeoutError",
    }


def test_duplicates_and_corrupt_sequences(tmp_path: Path) -> None:
    profile = _profile(sequences={"duplicate_rate": 0.2, "corrupt_rate": 0.1})
    path = tmp_path / "calls.sqlite"
    simulate(3000, path, profile=profile, seed=10, start=START)
    df = load_calls(path)
    grs = df[df["action"] == GRS].set_index("call_id")
    dl = df[df["action"] == "DownloadSequence"]
    m = len(dl)
    corrupt = int((~dl["seq_md5_ok"]).sum())
    assert binom.ppf(1e-6, m, 0.1) <= corrupt <= binom.isf(1e-6, m, 0.1)
    # duplicates: same MD5 (what the service handed out) for different calls of one level
    intact = dl[dl["seq_md5_ok"]]
    repeated = intact[intact.duplicated("seq_sha256", keep=False)]
    assert len(repeated) > 0.1 * len(intact)
    for _, group in repeated.groupby("seq_sha256"):
        assert group["sequence_md5"].nunique() == 1 and group["call_id"].nunique() == len(group)
        assert group["seq_level"].nunique() == 1 and group["seq_frames"].nunique() == 1
        assert grs.loc[group["call_id"], "security_level"].nunique() == 1
    # a corrupted download hashes to something else than every intact sequence
    assert not set(dl.loc[~dl["seq_md5_ok"], "seq_sha256"]) & set(intact["seq_sha256"])
    # the default profile's rates are small but present
    assert profile.duplicate_rate == 0.2


def test_sequence_properties_follow_the_levels(small_log: Path) -> None:
    df = load_calls(small_log)
    grs = df[df["action"] == GRS].set_index("call_id")
    dl = df[(df["action"] == "DownloadSequence") & df["seq_md5_ok"]]
    level = grs.loc[dl["call_id"], "security_level"].astype(int).to_numpy()
    assert (dl["seq_level"].to_numpy() == level).all()
    assert (dl["seq_format"] == "FRSQ1").all()
    frames = dl["seq_frames"].to_numpy()
    blinks = dl["seq_blinks"].to_numpy()
    assert (frames[np.isin(level, [1, 2])] == 0).all() and (
        frames[np.isin(level, [3, 4])] >= 8
    ).all()
    assert (blinks[np.isin(level, [1, 3])] == 0).all() and (
        blinks[np.isin(level, [2, 4])] >= 2
    ).all()
    # the default profile's duplicates: rare, as many as its rate says
    repeats = int(dl["seq_sha256"].duplicated().sum())
    m, p = len(dl), Profile.default().duplicate_rate
    assert binom.ppf(1e-6, m, p) <= repeats <= binom.isf(1e-6, m, p)


def test_random_sequence_obeys_the_format_rules() -> None:
    rng = np.random.default_rng(0)
    for level in (1, 2, 3, 4):
        for _ in range(50):
            seq = seqformat.decode(seqformat.encode(random_sequence(level, rng)))
            assert seq.security_level == level
            if level in seqformat.LIGHT_LEVELS:
                lo, hi = seqformat.FRAMES_RANGE
                assert lo <= len(seq.frames) <= hi
                assert all(a.rgb != b.rgb for a, b in zip(seq.frames, seq.frames[1:], strict=False))
            else:
                assert not seq.frames
            assert bool(seq.blinks) == (level in seqformat.BLINK_LEVELS)


def test_retries_repeat_only_retryable_failures_after_the_attempt(tmp_path: Path) -> None:
    profile = _profile(faults={"InternalError": 0.3, "FailedOperation.DownLoadError": 0.1})
    path = tmp_path / "calls.sqlite"
    simulate(2000, path, profile=profile, seed=12, start=START, retries=2)
    df = load_calls(path)
    grs = df[df["action"] == GRS].sort_values(["call_id", "attempt"])
    assert set(grs["attempt"]) == {1, 2, 3}
    for _, attempts in grs.groupby("call_id"):
        assert list(attempts["attempt"]) == list(range(1, len(attempts) + 1))
        earlier = attempts.iloc[:-1]
        assert (earlier["error_code"] == "InternalError").all()
        ends = earlier["started_at"] + pd.to_timedelta(earlier["latency_ms"].round(3), unit="ms")
        assert (attempts["started_at"].iloc[1:].to_numpy() >= ends.to_numpy()).all()
    assert (grs.groupby("call_id")["attempt"].max() == 3).any()


def test_appending_a_second_run_keeps_both(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite"
    first = simulate(100, path, seed=1, start=START)
    second = simulate(100, path, seed=2, start=START)
    df = load_calls(path)
    assert len(df) == first + second
    assert df["campaign_id"].nunique() == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": -1}, "n: must be"),
        ({"rate": 0.0}, "rate"),
        ({"retries": -1}, "retries"),
        ({"start": "yesterday"}, "ISO-8601"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"n": 10, **kwargs}
    n = args.pop("n")
    with pytest.raises(ValueError, match=message):
        simulate(n, tmp_path / "calls.sqlite", **args)  # type: ignore[arg-type]
    assert not (tmp_path / "calls.sqlite").exists()


def test_start_parsing() -> None:
    assert to_epoch_us("1970-01-01T00:00:01Z") == 1_000_000
    assert to_epoch_us("1970-01-01T01:00:00+01:00") == 0
    assert to_epoch_us("1970-01-01T00:00:00.5") == 500_000  # naive = UTC


def test_cli_simulate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "calls.sqlite"
    argv = ["simulate", "-n", "50", "--log", str(path), "--seed", "4", "--start", START]
    assert main([*argv, "--rate", "10", "--profile", "high-latency"]) == 0
    out = capsys.readouterr().out
    assert "50 calls" in out and str(path) in out
    assert len([r for r in rows(path) if r["action"] == GRS]) == 50
    missing = tmp_path / "missing.toml"
    with pytest.raises(SystemExit) as usage:  # argparse's usage error: one line, exit 2
        main(["simulate", "-n", "5", "--log", str(path), "--profile", str(missing)])
    assert usage.value.code == 2
    assert "missing.toml" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["simulate", "-n", "5", "--log", str(path), "--rate", "-1"])
    assert usage.value.code == 2
    assert "rate" in capsys.readouterr().err


def test_blocks_join_seamlessly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawn in blocks (to bound memory), the calls still form one sequence in time."""
    monkeypatch.setattr("faceid_tools.simulate.DRAW_BLOCK", 24)
    monkeypatch.setattr("faceid_tools.simulate.WRITE_BATCH", 10)
    path = tmp_path / "calls.sqlite"
    written = simulate(100, path, seed=3, start=START, rate=4.0)
    df = load_calls(path)
    assert written == len(df)
    grs = df[df["action"] == GRS].sort_values("call_id")
    assert grs["call_id"].is_unique and len(grs) == 100
    assert list(grs["call_id"].str[-6:].astype(int)) == list(range(100))
    assert list(grs["started_at"].diff().dropna().unique()) == [timedelta(seconds=0.25)]
    assert grs["request_id"].is_unique
    cells = list(zip(grs["region"], grs["security_level"], strict=True))
    for block in range(8):
        assert len(set(cells[block * 12 : (block + 1) * 12])) == 12
