"""Options several subcommands share, and argument types whose errors name the rule, defined once
so their names, help and messages stay in step."""

from __future__ import annotations

import argparse
import math
from importlib import resources
from pathlib import Path

PROFILE_HELP = (
    "a TOML file or a shipped name (default, high-latency, reliable); default: the shipped "
    "default profile"
)


def shipped_profiles() -> list[str]:
    """The names of the behaviour profiles shipped with the package."""
    folder = resources.files("faceid_tools.emulator").joinpath("profiles")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def profile(text: str) -> str:
    """``--profile``: an existing file or a shipped profile name."""
    if Path(text).is_file() or text in shipped_profiles():
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r} is neither a profile file nor a shipped profile "
        f"(shipped: {', '.join(shipped_profiles())})"
    )


def add_profile_option(parser: argparse.ArgumentParser, what: str = "behaviour profile") -> None:
    """``--profile FILE``: an emulator behaviour profile, a path or a shipped name."""
    parser.add_argument(
        "--profile", default=None, type=profile, metavar="FILE", help=f"{what}: {PROFILE_HELP}"
    )


def _int(text: str, rule: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}") from None


def port(text: str) -> int:
    """A TCP port, 0..65535 (0: a free one)."""
    value = _int(text, "a port number 0..65535")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"must be a port number 0..65535 (0 picks a free one), got {text}"
        )
    return value


def positive_int(text: str) -> int:
    value = _int(text, "an integer >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value
