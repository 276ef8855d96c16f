"""Documentation cannot fall behind the code: every column and every subcommand is documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from faceid_tools.calllog.schema import COLUMNS
from faceid_tools.cli import available_subcommands, build_parser

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
