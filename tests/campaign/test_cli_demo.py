"""``faceid-tools probe`` and ``faceid-tools demo`` as a user runs them."""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from faceid_tools.campaign import Plan
from faceid_tools.campaign.records import CampaignStore
from faceid_tools.cli import probe
from faceid_tools.emulator.server import Emulator

from .killing import ROOT, probe_command, probe_env


def test_probe_options_parse_to_the_run_campaign_arguments() -> None:
    parser = argparse.ArgumentParser()
    probe.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "probe",
            "--emulator",
            "--regions",
            "ap-bangkok",
            "--levels",
            "1",
            "4",
            "--per-cell",
            "3",
            "--rate",
            "4",
            "--device-data",
            "ap-bangkok",
            "https://x/y",
            "0" * 32,
            "--seed",
            "9",
            "--quiet",
        ]
    )
    assert args.emulator and args.regions == ["ap-bangkok"] and args.levels == ["1", "4"]
    assert (args.per_cell, args.rate, args.seed, args.quiet) == (3, 4.0, 9, True)
    assert args.device_data == [["ap-bangkok", "https://x/y", "0" * 32]]


def test_probe_against_an_endpoint_then_resume_a_finished_campaign(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.configure(quota=False)
    log = tmp_path / "calls.sqlite"
    base = ["--rate", "100", "--quota", "100"]
    out = subprocess.run(
        probe_command(log, emulator.endpoint, "--per-cell", "1", "--campaign-id", "cli-1", *base),
        cwd=ROOT,
        env=probe_env(emulator),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "campaign cli-1 (run 1)" in out.stdout and "12/12 calls complete" in out.stdout
    assert f"log: {log}" in out.stdout
    again = subprocess.run(
        probe_command(log, emulator.endpoint, "--resume", "cli-1", *base),
        cwd=ROOT,
        env=probe_env(emulator),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert "(run 2)" in again.stdout and "0 calls" in again.stdout


def test_probe_with_its_own_emulator(tmp_path: Path) -> None:
    log = tmp_path / "calls.sqlite"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "faceid_tools",
            "probe",
            "--emulator",
            "--profile",
            "reliable",
            "--regions",
            "ap-singapore",
            "--levels",
            "2",
            "--per-cell",
            "3",
            "--log",
            str(log),
            "--quiet",
        ],
        cwd=ROOT,
        env=probe_env_plain(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "3/3 calls complete" in out.stdout and "0 RequestLimitExceeded" in out.stdout
    assert "emulator at http://127.0.0.1:" in out.stderr


def test_demo_runs_a_fresh_campaign_each_time(tmp_path: Path) -> None:
    log = tmp_path / "data" / "calls.sqlite"
    with CampaignStore(log) as store:  # what a previous demo left behind
        store.create(
            "old", Plan(per_cell=1, seed=1), retries=0, device_data="upload", endpoint=None
        )
    cmd = [
        sys.executable,
        "-m",
        "faceid_tools",
        "demo",
        "--per-cell",
        "1",
        "--log",
        str(log),
        "--no-report",
    ]
    out = subprocess.run(
        cmd, cwd=ROOT, env=probe_env_plain(), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "12/12 calls complete" in out.stdout and f"call log: {log}" in out.stdout
    conn = sqlite3.connect(log)
    (cid,) = conn.execute("SELECT campaign_id FROM campaigns").fetchone()
    assert cid != "old" and conn.execute("SELECT COUNT(*) FROM campaigns").fetchone() == (1,)
    conn.close()
    kept = [p for p in log.parent.glob("calls.*.sqlite")]  # the previous log, moved aside
    assert len(kept) == 1 and "previous log kept as" in out.stderr
    old = sqlite3.connect(kept[0])
    assert old.execute("SELECT campaign_id FROM campaigns").fetchall() == [("old",)]
    old.close()


def probe_env_plain() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("TENCENTCLOUD_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_resuming_an_unknown_campaign_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from faceid_tools.cli import main as cli_main

    log = tmp_path / "calls.sqlite"
    code = cli_main(["probe", "--emulator", "--resume", "nope", "--log", str(log), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no campaign 'nope'" in err and "Traceback" not in err


@pytest.mark.parametrize("per_cell", ["0", "-3", "x"])
def test_demo_refuses_a_per_cell_below_one(tmp_path: Path, per_cell: str) -> None:
    """``--per-cell`` is validated like every other count (it used to accept 0 and negatives)."""
    log = tmp_path / "calls.sqlite"
    cmd = [sys.executable, "-m", "faceid_tools", "demo", "--per-cell", per_cell, "--log", str(log)]
    out = subprocess.run(
        cmd, cwd=ROOT, env=probe_env_plain(), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--per-cell" in lines[0] and ">= 1" in lines[0], out.stderr
    assert not log.exists()
