"""Documentation cannot fall behind the code: every column and every subcommand is documented, and
every shell command of the README is run by a test."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from faceid_tools.calllog.schema import COLUMNS
from faceid_tools.cli import available_subcommands, build_parser
from faceid_tools.emulator.server import Emulator

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("column", [c.name for c in COLUMNS])
def test_every_column_is_in_the_readme(column: str) -> None:
    assert f"| `{column}` |" in README


@pytest.mark.parametrize("command", available_subcommands())
def test_every_subcommand_is_in_the_readme_and_has_help(command: str) -> None:
    assert f"`faceid-tools {command}`" in README
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.dest == "command")  # type: ignore[union-attr]
    cmd_parser = sub.choices[command]
    assert cmd_parser.description, f"{command} has no description"
    for action in cmd_parser._actions:
        if action.dest != "help":
            assert action.help, (
                f"{command}: option {action.option_strings or action.dest} has no help"
            )


def test_readme_quick_start_is_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("```", 2)[1]
    assert [line for line in quick.splitlines() if line.strip()] == ["make demo", "make test"]


def test_cli_help_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "faceid_tools", "--help"], capture_output=True, text=True, check=True
    )
    assert "faceid-tools" in out.stdout


# -- every shell command of the README is run -------------------------------------------------------
# Like sqlite-utils' tests/test_docs.py: the fenced shell blocks are read from the README and each
# command is either run here (in a temporary folder, the real service swapped for the loopback
# emulator) or named with the test that runs it; a command in neither fails, so the README cannot
# gain a command no test runs, and a test named here must exist.

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^[ ]*```([a-z]*)\n(.*?)^[ ]*```", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"\s+#\s.*$")
#: Commands run by this file's test_the_readme_commands_run_in_a_fresh_folder.
RUN_HERE = (".venv/bin/faceid-tools ", "export TENCENTCLOUD_")
SAMPLE_PROBE = (
    "faceid-tools probe --emulator --per-cell 400 --retries 2 --seed 20261124 "
    "--campaign-id sample-20261124 --log data/sample/calls.sqlite --quiet"
)
SAMPLE_VACUUM = (
    "python -c \"import sqlite3; c = sqlite3.connect('data/sample/calls.sqlite'); "
    "c.execute('PRAGMA journal_mode=DELETE'); c.execute('VACUUM')\""
)
#: The commands another test runs, and that test.
COVERED = {
    "make demo": "tests/test_docs.py::test_ci_runs_the_readme_quick_start_in_its_order",
    "make test": "tests/test_docs.py::test_ci_runs_the_readme_quick_start_in_its_order",
    "make lab": "tests/test_make_lab.py::test_make_lab_prints_the_url_and_serves_the_notebooks",
    "pip install faceid_tools-0.2.0-py3-none-any.whl": (
        "tests/test_installed.py::test_imports_from_the_venv_with_runtime_deps_only"
    ),
    "pip install 'faceid_tools-0.2.0-py3-none-any.whl[lab]'": (
        "tests/test_installed.py::test_wheel_metadata_is_what_a_registry_shows"
    ),
    "faceid-tools init measurements": "tests/test_installed.py::test_init_makes_an_analysis_folder",
    "cd measurements": (
        "tests/test_packaged.py::test_cli_report_says_it_used_this_folders_notebooks_and_the_sample"
    ),
    "faceid-tools report": (
        "tests/test_installed.py::test_report_renders_the_packaged_notebooks_on_the_packaged_sample"
    ),
    SAMPLE_PROBE: "tests/test_docs.py::test_the_sample_is_what_the_readme_says_made_it",
    SAMPLE_VACUUM: "tests/test_docs.py::test_the_sample_is_what_the_readme_says_made_it",
}


def readme_blocks() -> list[list[str]]:
    """The README's fenced shell blocks (no language, or sh/bash/shell), as lists of commands."""
    blocks = []
    for lang, body in FENCE.findall(README):
        if lang in ("", "sh", "bash", "shell"):
            lines = [COMMENT.sub("", line).strip() for line in textwrap.dedent(body).splitlines()]
            blocks.append([line for line in lines if line])
    return blocks


def test_every_readme_command_is_run_by_a_test() -> None:
    commands = [c for block in readme_blocks() for c in block]
    assert "make demo" in commands and len(commands) >= 10  # the parser still finds the blocks
    orphans = [c for c in commands if not c.startswith(RUN_HERE) and c not in COVERED]
    assert orphans == [], "README commands no test runs: add them to COVERED or RUN_HERE"
    assert sorted(set(COVERED) - set(commands)) == []  # no stale entry
    for node in set(COVERED.values()):
        path, name = node.split("::")
        assert f"def {name}(" in (ROOT / path).read_text("utf-8"), f"{node} does not exist"


def test_ci_runs_the_readme_quick_start_in_its_order() -> None:
    """`.ci/run` on a fresh clone proves the README's order: the demo, then the suite."""
    text = (ROOT / ".ci" / "run").read_text("utf-8").replace("\\\n", " ")
    stages = [line.split()[1:] for line in text.splitlines() if line.startswith("stage ")]
    commands = [[w for w in words[1:] if w != "--pytest"][:2] for words in stages]
    assert commands[:2] == [["make", "demo"], ["make", "test"]]
    assert ["make", "reliability"] in commands[2:]
    assert stages[1][1] == stages[2][1] == "--pytest"  # a run of no test fails


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("FACEID_TOOLS_CACHE", str(tmp_path / "cache"))
    return work


def _as_run_here(command: str, emulator: Emulator) -> str:
    """The README's command with the real service swapped for the loopback emulator."""
    command = command.replace(
        ".venv/bin/faceid-tools", f"{shlex.quote(sys.executable)} -m faceid_tools"
    )
    command = command.replace("your-secret-id", emulator.credential.secret_id)
    command = command.replace("your-secret-key", emulator.credential.secret_key)
    if " faceid_tools probe " in command:
        command += f" --endpoint {emulator.endpoint} --quiet"
    return command


def test_the_readme_commands_run_in_a_fresh_folder(emulator: Emulator, folder: Path) -> None:
    """The "use it on your data" block first (it makes the log), then the other blocks' commands."""
    blocks = sorted(
        readme_blocks(), key=lambda block: not any(c.startswith("export ") for c in block)
    )
    commands = [
        _as_run_here(c, emulator) for block in blocks for c in block if c.startswith(RUN_HERE)
    ]
    assert any("probe" in c for c in commands) and any("report" in c for c in commands)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENCENTCLOUD_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    script = "set -e\n" + "\n".join(f"echo '$ {c[:60]}'\n{c}" for c in commands)
    proc = subprocess.run(
        ["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "20/20 calls complete" in proc.stdout  # the probe's summary
    assert "GenerateReflectSequence calls: 20" in proc.stdout  # `faceid-tools calls`
    pages = sorted(p.name for p in (folder / "reports").glob("*.html"))
    assert pages == [
        "01-latency.html",
        "02-errors.html",
        "03-sequences.html",
        "04-product-review.html",
    ]
    for page in pages:
        assert "Traceback" not in (folder / "reports" / page).read_text("utf-8")


def test_the_sample_is_what_the_readme_says_made_it(tmp_path: Path) -> None:
    """The README's recipe for data/sample/: the probe command is one the CLI accepts and its
    campaign is the one in the sample; the second line, run on a copy, leaves a file out of WAL."""
    sample = ROOT / "data" / "sample" / "calls.sqlite"
    args = build_parser().parse_args(shlex.split(SAMPLE_PROBE)[1:])
    with sqlite3.connect(f"file:{sample}?mode=ro", uri=True) as conn:
        ids = [row[0] for row in conn.execute("SELECT campaign_id FROM campaigns")]
        calls = conn.execute(
            "SELECT COUNT(DISTINCT call_id) FROM calls WHERE action = 'GenerateReflectSequence'"
        ).fetchone()[0]
    assert ids == [args.campaign_id]
    assert calls == args.per_cell * 12
    copy = tmp_path / "data" / "sample" / "calls.sqlite"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(sample, copy)
    command = SAMPLE_VACUUM.replace("python ", f"{shlex.quote(sys.executable)} ", 1)
    subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True, timeout=120)
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert sorted(p.name for p in copy.parent.iterdir()) == ["calls.sqlite"]
