"""Options several subcommands share, defined once so their names and help stay in step."""

from __future__ import annotations

import argparse

PROFILE_HELP = (
    "a TOML file or a shipped name (default, high-latency); default: the shipped default profile"
)


def add_profile_option(parser: argparse.ArgumentParser, what: str = "behaviour profile") -> None:
    """``--profile FILE``: an emulator behaviour profile, a path or a shipped name."""
    parser.add_argument("--profile", default=None, metavar="FILE", help=f"{what}: {PROFILE_HELP}")
