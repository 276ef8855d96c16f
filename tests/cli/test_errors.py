"""Every command answers bad input with one line naming the argument or file and the rule, exit 2;
a failure during the work exits 1; Ctrl-C exits 130; a traceback only with ``-vv``.

Each case the issue lists runs the real command in a fresh interpreter (``python -m faceid_tools``),
as a new user would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faceid_tools.calllog.export import export
from faceid_tools.calllog.parquet import dataset_files
from faceid_tools.cli import main
from faceid_tools.simulate import simulate

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "faceid_tools", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line(proc: subprocess.CompletedProcess[str], command: str) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"faceid-tools {command}: "), lines[0]
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture
def junk(tmp_path: Path) -> Path:
    path = tmp_path / "notadb.txt"
    path.write_text("this is a text file, not an SQLite call log\n" * 20)
    return path


def test_simulate_into_a_file_that_is_not_sqlite(tmp_path: Path, junk: Path) -> None:
    proc = run("simulate", "-n", "5", "--log", str(junk), cwd=tmp_path)
    assert proc.returncode == 2
    line = one_line(proc, "simulate")
    assert str(junk) in line and "cannot open as a call log" in line


def test_traceback_only_with_vv(tmp_path: Path, junk: Path) -> None:
    proc = run("-vv", "simulate", "-n", "5", "--log", str(junk), cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("faceid-tools simulate: ")


@pytest.mark.parametrize("port", ["-1", "99999", "http"])
def test_emulator_port_out_of_range(tmp_path: Path, port: str) -> None:
    proc = run("emulator", "--port", port, cwd=tmp_path)
    assert proc.returncode == 2
    line = one_line(proc, "emulator")
    assert "--port" in line and "0..65535" in line


def test_unknown_profile_names_the_shipped_ones(tmp_path: Path) -> None:
    log = tmp_path / "calls.sqlite"
    proc = run("simulate", "-n", "5", "--log", str(log), "--profile", "nosuchprofile", cwd=tmp_path)
    assert proc.returncode == 2
    line = one_line(proc, "simulate")
    assert "--profile" in line and "nosuchprofile" in line
    assert "default" in line and "high-latency" in line
    assert "faceid_tools" not in line and "Errno" not in line  # no package path, no errno
    assert not log.exists()


def test_export_of_a_missing_log_is_bad_input(tmp_path: Path) -> None:
    proc = run("export", "--log", "missing.sqlite", "--out", "ds", cwd=tmp_path)
    assert proc.returncode == 2
    assert "missing.sqlite" in one_line(proc, "export")


def test_export_of_a_file_that_is_not_sqlite(tmp_path: Path, junk: Path) -> None:
    proc = run("export", "--log", str(junk), "--out", "ds", cwd=tmp_path)
    assert proc.returncode == 2
    assert str(junk) in one_line(proc, "export")


def test_report_of_a_missing_log_is_bad_input(tmp_path: Path) -> None:
    proc = run("report", "--data", "missing.sqlite", "--out", "r", cwd=tmp_path)
    assert proc.returncode == 2
    assert "missing.sqlite" in one_line(proc, "report")


def test_calls_on_a_file_that_is_not_sqlite(tmp_path: Path, junk: Path) -> None:
    proc = run("calls", "--log", str(junk), cwd=tmp_path)
    assert proc.returncode == 2
    assert str(junk) in one_line(proc, "calls")


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        (["probe", "--per-cell", "0"], "--per-cell"),
        (["probe", "--profile", "default"], "--profile"),
        (["probe", "--rate", "0"], "--rate"),
        (["simulate", "-n", "-3", "--log", "x.sqlite"], "--calls"),
        (["simulate", "-n", "3", "--log", "x.sqlite", "--start", "yesterday"], "start"),
        (["export", "--workers", "0"], "--workers"),
        (["report", "--jobs", "0"], "--jobs"),
        (["calls", "--no-such-option"], "--no-such-option"),
    ],
)
def test_bad_arguments_answer_in_one_line(
    tmp_path: Path, args: list[str], argument: str, capsys: pytest.CaptureFixture[str]
) -> None:
    os.chdir(tmp_path)
    assert exit_code(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and argument in lines[0], lines


def exit_code(args: list[str]) -> int:
    """``main``'s exit code: returned, or raised by argparse for a usage error."""
    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_a_failure_during_the_work_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``export --verify`` finding a damaged part: the input was fine, the data is not."""
    log, out = tmp_path / "calls.sqlite", tmp_path / "ds"
    simulate(60, log, seed=1)
    export(log, out)
    part = dataset_files(out)[0]
    data = bytearray(part.read_bytes())
    data[-20] ^= 0xFF  # inside the footer
    part.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["export", "--log", str(log), "--out", str(out), "--verify"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(part) in lines[0], lines


def test_ctrl_c_exits_130(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "calls.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "faceid_tools", "simulate", "-n", "50000000", "--log", str(log)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not log.exists() and time.monotonic() < deadline:  # the work has begun
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["faceid-tools simulate: interrupted"]


# --- the error map lists the package's own errors only -----------------------------------------


def test_the_map_of_bad_input_holds_only_the_packages_errors() -> None:
    from faceid_tools.cli import exit_codes as cli_errors
    from faceid_tools.errors import FaceIDError

    cli_errors.exit_code(FaceIDError("fill the map"))
    assert cli_errors.BAD_INPUT
    assert all(issubclass(cls, FaceIDError) for cls in cli_errors.BAD_INPUT)


def test_bad_input_the_package_finds_is_its_own_error(tmp_path: Path) -> None:
    """A missing call log, a bad window: InputError (still a ValueError / FileNotFoundError)."""
    from faceid_tools import analysis
    from faceid_tools.calllog.overview import summarize
    from faceid_tools.errors import InputError, MissingInputError

    with pytest.raises(MissingInputError) as missing:
        summarize(tmp_path / "none.sqlite")
    assert isinstance(missing.value, FileNotFoundError)
    with pytest.raises(InputError) as bad:
        analysis.window(tmp_path, "2026-01-02", "2026-01-01")
    assert isinstance(bad.value, ValueError)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ValueError("a bug: bad value deep inside"), 1),
        (FileNotFoundError(2, "No such file or directory", "x.json"), 1),
        (KeyError("column"), 1),
    ],
)
def test_an_unexpected_exception_is_an_internal_error(
    exc: BaseException, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not one of the package's errors: exit 1, one line that says it is an internal error, names
    the exception and says how to see the traceback -- never "bad input" (exit 2)."""
    from faceid_tools.cli.exit_codes import explain

    assert explain("calls", exc, verbose=0) == code
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("faceid-tools calls: internal error: ")
    assert type(exc).__name__ in line and "-vv" in line


def test_a_bug_in_a_command_exits_1_with_a_pointer_to_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ValueError from a bug inside the package (not bad input) through the real entry point."""
    from faceid_tools.calllog import overview as summary

    log = tmp_path / "calls.sqlite"
    simulate(3, log, seed=1)

    def broken(*args: object, **kwargs: object) -> str:
        raise ValueError("invalid literal for int() with base 10: 'x'")

    monkeypatch.setattr(summary, "_span", broken)  # a bug in the formatting, not bad input
    assert main(["calls", "--log", str(log)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "faceid-tools calls: internal error: ValueError: invalid literal for int() with base 10: "
        "'x' (run with -vv for the traceback)"
    ]
    assert main(["-vv", "calls", "--log", str(log)]) == 1
    assert "Traceback" in capsys.readouterr().err
