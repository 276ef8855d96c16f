"""Options several subcommands share, and argument types whose errors name the rule, defined once
so their names, help and messages stay in step."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
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


def _float(text: str, ok: Callable[[float], bool], rule: str) -> float:
    """``text`` as a float satisfying ``ok``, else argparse's one-line error naming ``rule``."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not ok(value):
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
    return value


def positive_float(text: str) -> float:
    return _float(text, lambda v: v > 0 and math.isfinite(v), "a positive number")


def _ms(text: str) -> float:
    return _float(text, lambda v: v > 0 and math.isfinite(v), "a positive number of ms")


def _rate(text: str) -> float:
    return _float(text, lambda v: 0 <= v <= 1, "a rate between 0 and 1")


#: The objectives (``faceid-tools report`` and ``probe --until-decided`` judge on the same ones):
#: flag, notebook parameter / dest, metavar, parser, help.  None means the default of
#: :class:`faceid_tools.analysis.SLO` (800 ms, 0.01, 0.995), which the review notebook also uses.
SLO_OPTIONS: tuple[tuple[str, str, str, Callable[[str], float], str], ...] = (
    ("--slo-p95-ms", "SLO_P95_MS", "MS", _ms, "p95 latency objective in ms (default 800)"),
    (
        "--slo-error-rate",
        "SLO_ERROR_RATE",
        "RATE",
        _rate,
        "highest acceptable error rate per call (default 0.01)",
    ),
    (
        "--slo-integrity-rate",
        "SLO_INTEGRITY_RATE",
        "RATE",
        _rate,
        "lowest acceptable share of sequences passing their MD5 check (default 0.995)",
    ),
)


def add_slo_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """``--slo-p95-ms``, ``--slo-error-rate``, ``--slo-integrity-rate`` (dest: the notebook name)."""
    for flag, name, metavar, parse, text in SLO_OPTIONS:
        parser.add_argument(
            flag, dest=name, type=parse, default=None, metavar=metavar, help=f"{prefix}{text}"
        )


def slo_values(args: argparse.Namespace) -> dict[str, float]:
    """The objective flags given, by notebook parameter name (absent: the default)."""
    values = {name: getattr(args, name) for _, name, *_ in SLO_OPTIONS}
    return {k: v for k, v in values.items() if v is not None}


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)$")


def budget(text: str) -> tuple[str, float]:
    """``--budget``: a number of calls (``5000``) or a duration (``90s``, ``30m``, ``1h``)."""
    text = text.strip()
    if text.isdigit() and int(text) >= 1:
        return "calls", float(int(text))
    match = _DURATION.match(text)
    if match and float(match.group(1)) > 0:
        seconds = float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]
        return "seconds", seconds
    raise argparse.ArgumentTypeError(
        f"must be a number of calls (e.g. 5000) or a duration (e.g. 90s, 30m, 1h), got {text!r}"
    )
